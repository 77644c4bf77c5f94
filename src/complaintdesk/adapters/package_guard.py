"""Adapter — inspects an .xlsx/.xlsm package before openpyxl parses it.

Refuses what could exhaust memory or is not a workbook (zip bombs, huge
parts, too many parts, encrypted/OLE files, a damaged package: no content-type
table, a relationship to a part that is not there, XML that is not UTF-8, a part
that inflates to more than it declares) and reports what deserves a word
(external links, macros in an .xlsx). Office never writes DOCTYPE or entity
declarations, so any part carrying one is refused before a parser sees it.
Every store and every archive reader calls it first, so a file gets one verdict.
"""
from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from ..errors import SchemaError

MAX_TOTAL_BYTES = 1_500_000_000   # uncompressed, all parts together
MAX_PART_BYTES = 800_000_000
MAX_RATIO = 200                   # uncompressed / compressed for any big part
MAX_PARTS = 10_000
READ_WHOLE = 8_000_000            # XML parts up to this size are checked whole (UTF-8, well-formed)
WORKBOOK_TYPES = ("sheet.main+xml", "sheet.macroEnabled.main+xml", "template.main+xml",
                  "template.macroEnabled.main+xml")


def inspect_package(path: Path) -> list[str]:
    """Raise SchemaError for a dangerous or broken package; return warnings for the rest."""
    path = Path(path)
    name = path.name
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        with open(path, "rb") as handle:
            head = handle.read(8)
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise SchemaError(f"“{name}”是加密的或旧版 .xls 文件，请在 Excel 中另存为 .xlsx（不加密码）")
        raise SchemaError(f"“{name}”不是有效的 Excel 工作簿（.xlsx）")
    with archive:
        infos = archive.infolist()
        _check_sizes(name, infos)
        try:
            _check_parts(name, archive, infos)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise SchemaError(f"“{name}”已损坏，无法安全读取（{exc}）。请用 restore 恢复备份")
        names = {i.filename for i in infos}
        _check_manifest(name, archive, names)
        return _package_warnings(name, path, names)


def _check_sizes(name: str, infos: list[zipfile.ZipInfo]) -> None:
    """Too many parts, a part too large or compressed too well (a zip bomb), too much in all."""
    if len(infos) > MAX_PARTS:
        raise SchemaError(f"“{name}”包含 {len(infos)} 个部件，超过上限 {MAX_PARTS}，拒绝打开")
    for info in infos:
        if info.file_size > MAX_PART_BYTES or (info.file_size > 10_000_000 and
                                                info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise SchemaError(f"“{name}”中的 {info.filename} 解压后过大（疑似压缩炸弹），拒绝打开")
    if sum(info.file_size for info in infos) > MAX_TOTAL_BYTES:
        raise SchemaError(f"“{name}”解压后超过 {MAX_TOTAL_BYTES // 1_000_000} MB，拒绝打开")


def _check_parts(name: str, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """No XML part may declare a DOCTYPE or entities (billion laughs, external entities); parts up
    to READ_WHOLE are read whole — which checks their size and CRC — and must be UTF-8 (larger ones,
    the register sheet, are checked as a store streams them: xlsxstream.sheet_checks)."""
    for info in infos:
        if info.filename.endswith((".xml", ".rels", ".vml")):
            with archive.open(info) as part:
                data = part.read() if info.file_size <= READ_WHOLE else part.read(65536)
            if b"<!DOCTYPE" in data[:65536] or b"<!ENTITY" in data[:65536]:
                raise SchemaError(f"“{name}”的 {info.filename} 含有 XML 实体/DOCTYPE 声明（不安全），拒绝打开")
            if info.file_size <= READ_WHOLE and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    raise SchemaError(f"“{name}”已损坏：{info.filename} 含有不是 UTF-8 的字节。"
                                      f"请用 restore 恢复备份，或在 Excel 中打开后另存")


def _check_manifest(name: str, archive: zipfile.ZipFile, names: set[str]) -> None:
    """The content-type table declares the workbook; every relationship inside the package
    points at a part that is there (a Table, a comment, a sheet)."""
    broken = f"“{name}”已损坏："
    if "[Content_Types].xml" not in names:
        raise SchemaError(broken + "缺少内容类型表 [Content_Types].xml。请用 restore 恢复备份")
    try:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    except ElementTree.ParseError:
        raise SchemaError(broken + "内容类型表 [Content_Types].xml 不是完整的 XML。请用 restore 恢复备份")
    declared = {o.get("PartName", "").lstrip("/"): o.get("ContentType", "") for o in types
                if o.tag.endswith("Override")}
    if "xl/workbook.xml" in names and not declared.get("xl/workbook.xml", "").endswith(WORKBOOK_TYPES):
        raise SchemaError(broken + "内容类型表没有声明工作簿 xl/workbook.xml。请用 restore 恢复备份")
    for rels in sorted(n for n in names if n.endswith(".rels")):
        source = posixpath.dirname(posixpath.dirname(rels))  # xl/worksheets/_rels/x.rels -> xl/worksheets
        for rel in re.findall(rb"<Relationship\b[^>]*>", archive.read(rels)):
            if b'TargetMode="External"' in rel:
                continue
            target = re.search(rb'\bTarget="([^"]*)"', rel)
            if target is None:
                continue
            path = unquote(target.group(1).decode("utf-8"))
            part = path.lstrip("/") if path.startswith("/") else posixpath.normpath(posixpath.join(source, path))
            if part not in names:
                raise SchemaError(broken + f"{rels} 指向的部件 {part} 不存在。请用 restore 恢复备份，"
                                  f"或在 Excel 中打开（Excel 会提示修复）后另存")


def _package_warnings(name: str, path: Path, names: set[str]) -> list[str]:
    """A workbook part is required; external links and macros are reported, never followed or run."""
    if "xl/workbook.xml" not in names:
        raise SchemaError(f"“{name}”缺少 xl/workbook.xml，不是有效的 Excel 工作簿")
    warnings = []
    if any(n.startswith("xl/externalLinks/") for n in names):
        warnings.append(f"“{name}”含有指向其他文件的外部链接；complaintdesk 不会读取或更新这些链接")
    if "xl/vbaProject.bin" in names and path.suffix.lower() == ".xlsx":
        warnings.append(f"“{name}”扩展名为 .xlsx 却含有宏代码；宏不会被执行")
    return warnings


def require_register(path: Path) -> None:
    """A register that is not there is an error of the command, before anything is written."""
    if not Path(path).exists():
        raise SchemaError(f"找不到登记表文件：{path}")


def checked_register(path: Path, read_only_check: bool = False) -> list[str]:
    """What every file store does first: the file exists, Excel does not hold it, the package is safe."""
    from .files import refuse_if_open_in_excel

    require_register(path)
    if not read_only_check:
        refuse_if_open_in_excel(Path(path))
    return inspect_package(Path(path))
