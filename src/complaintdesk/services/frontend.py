"""Services — set up the Excel front end: build the .xlsm / .xlam, check a user's setup, install via COM."""
from __future__ import annotations

import importlib
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from openpyxl import Workbook, load_workbook

from ..adapters.excel_build import (
    build_package,
    embedded_xlwings_version,
    xlwings_module,
)
from ..adapters.files import atomic_write
from ..adapters.ovba import Module, document_module, read_module_sources, vba_project
from ..errors import ComplaintDeskError
from .common import Summary


@dataclass(frozen=True)
class RibbonSource:
    """What the entry points generate from their action registry: the ribbon XML and the VBA
    callback module (`module(addin)`), named `module_name`. Services are handed it."""
    xml: str
    module_name: str
    module: Callable[[bool], str]


def generated_files(ribbon: RibbonSource) -> dict[str, str]:
    """Repository-relative path -> content of every file generated from the action registry."""
    return {"workbook/customUI.xml": ribbon.xml,
            f"macros/{ribbon.module_name}.bas": ribbon.module(False),
            f"macros/{ribbon.module_name}Addin.bas": ribbon.module(True)}


def generate(root: Path, ribbon: RibbonSource) -> Summary:
    summary = Summary("generate")
    for rel, text in generated_files(ribbon).items():
        path = Path(root) / rel
        atomic_write(path, partial(Path.write_bytes, data=text.encode("utf-8")))
        summary.files.append(path)
    return summary


def _modules(ribbon: RibbonSource, sheet_count: int, addin: bool) -> list[Module]:
    _, xlwings_source = xlwings_module()
    return ([document_module("ThisWorkbook", True)]
            + [document_module(f"Sheet{i}", False) for i in range(1, sheet_count + 1)]
            + [Module(ribbon.module_name, ribbon.module(addin)), Module("xlwings", xlwings_source)])


def build(register: Path | None, out: Path, ribbon: RibbonSource, addin: bool = False) -> Summary:
    """A macro-enabled register (.xlsm) with the ribbon, or the ribbon add-in (.xlam) when addin=True."""
    out = Path(out)
    wanted = ".xlam" if addin else ".xlsm"
    if out.suffix.lower() != wanted:
        raise ComplaintDeskError(f"输出文件应以 {wanted} 结尾")
    if addin:
        wb = Workbook()
        wb.active.title = "complaintdesk"
        wb.active["A1"] = "投诉管理选项卡加载项：对当前活动的登记表工作簿执行操作。"
    else:
        if register is None or not Path(register).exists():
            raise ComplaintDeskError(f"找不到登记表：{register}")
        wb = load_workbook(register, keep_vba=False)
    wb.code_name = "ThisWorkbook"
    for i, ws in enumerate(wb.worksheets, 1):
        ws.sheet_properties.codeName = f"Sheet{i}"
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "staged.xlsx"
        wb.save(staged)
        build_package(staged, out, ribbon.xml, vba_project(_modules(ribbon, len(wb.worksheets), addin)), addin)
    summary = Summary("excel-build", files=[out])
    summary.messages.append("打开文件后如出现“宏已被禁用”，请在文件属性中勾选“解除锁定”，或把文件放在受信任位置")
    return summary


def check_setup(path: Path | None, ribbon: RibbonSource) -> Summary:
    """Diagnose: xlwings versions match, interpreter, package importable, register schema."""
    summary = Summary("excel-check")
    version, _ = xlwings_module()
    summary.data["ok"] = True

    def problem(text):
        summary.messages.append("✘ " + text)
        summary.data["ok"] = False

    summary.warnings.append(f"Python：{sys.executable}（{sys.version.split()[0]}）")
    summary.warnings.append(f"已安装的 xlwings：{version}")
    for name in ("complaintdesk", "xlwings", "openpyxl"):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            problem(f"无法导入 {name}：{exc}")
    if path is None:
        return summary
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            vba = z.read("xl/vbaProject.bin") if "xl/vbaProject.bin" in names else None
    except (OSError, zipfile.BadZipFile):
        problem(f"无法打开 {path}")
        return summary
    if "customUI/customUI.xml" not in names and "customUI/customUI14.xml" not in names:
        problem("文件中没有“投诉管理”选项卡（customUI），请用 complaintdesk excel build 重新生成")
    if vba is None:
        problem("文件中没有宏（vbaProject.bin），请用 complaintdesk excel build 或 excel install 生成 .xlsm")
    else:
        modules = read_module_sources(vba)
        embedded = embedded_xlwings_version(modules.get("xlwings", ""))
        if ribbon.module_name not in modules:
            problem(f"宏中缺少 {ribbon.module_name} 模块")
        if embedded is None:
            summary.warnings.append("宏中没有 xlwings 模块：需要安装 xlwings 加载项（xlwings addin install）")
        elif embedded != version:
            problem(f"宏中的 xlwings 版本 {embedded} 与已安装的 {version} 不一致，请重新运行 complaintdesk excel build")
        else:
            summary.warnings.append(f"宏中的 xlwings 版本：{embedded}（一致）")
    if path.suffix.lower() != ".xlam":
        from ..adapters.xlsx_store import XlsxStore
        try:
            XlsxStore(path, read_only_check=True).settings()
            summary.warnings.append("登记表结构与设置：正常")
        except ComplaintDeskError as exc:
            problem(str(exc))
    return summary


# needs Windows and Excel: not run by the tests
def install_windows(register: Path, out: Path, ribbon: RibbonSource) -> Summary:  # pragma: no cover
    """Import the VBA modules through Excel itself (COM) and save a macro-enabled register."""
    if sys.platform != "win32":
        raise ComplaintDeskError("excel install 需要在装有 Excel 的 Windows 电脑上运行；"
                                 "其他系统请用 complaintdesk excel build")
    import xlwings as xw

    out = Path(out).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "staged.xlsm"
        wb = load_workbook(register)
        wb.save(Path(tmp) / "plain.xlsx")
        build_package(Path(tmp) / "plain.xlsx", staged, ribbon.xml, None)
        bas = Path(tmp) / f"{ribbon.module_name}.bas"
        bas.write_bytes(ribbon.module(False).encode("ascii"))
        _, xlwings_source = xlwings_module()
        xlw = Path(tmp) / "xlwings.bas"
        xlw.write_bytes(xlwings_source.replace("\r\n", "\n").replace("\n", "\r\n").encode("cp1252"))
        app = xw.App(visible=False, add_book=False)
        try:
            book = app.books.open(str(staged))
            try:
                components = book.api.VBProject.VBComponents
            except Exception:
                raise ComplaintDeskError("Excel 拒绝访问 VBA 工程。请在 Excel：文件 → 选项 → 信任中心 → 信任中心设置 → "
                                         "宏设置 中勾选“信任对 VBA 工程对象模型的访问”，然后重试。")
            components.Import(str(bas))
            components.Import(str(xlw))
            book.api.SaveAs(str(out), 52)  # xlOpenXMLWorkbookMacroEnabled
            book.close()
        finally:
            app.quit()
    return Summary("excel-install", files=[out])
