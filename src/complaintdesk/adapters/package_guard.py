"""Adapter — inspects an .xlsx/.xlsm package before openpyxl parses it.

Refuses what could exhaust memory or is not a workbook (zip bombs, huge
parts, too many parts, encrypted/OLE files) and reports what deserves a word
(external links, macros in an .xlsx). Office never writes DOCTYPE or entity
declarations, so any part carrying one is refused before a parser sees it.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import SchemaError

MAX_TOTAL_BYTES = 1_500_000_000   # uncompressed, all parts together
MAX_PART_BYTES = 800_000_000
MAX_RATIO = 200                   # uncompressed / compressed for any big part
MAX_PARTS = 10_000


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
        _check_entities(name, archive, infos)
        return _package_warnings(name, path, {i.filename for i in infos})


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


def _check_entities(name: str, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """No XML part may declare a DOCTYPE or entities (billion laughs, external entities)."""
    for info in infos:
        if info.filename.endswith((".xml", ".rels", ".vml")):
            with archive.open(info) as part:
                head = part.read(65536)
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise SchemaError(f"“{name}”的 {info.filename} 含有 XML 实体/DOCTYPE 声明（不安全），拒绝打开")


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
