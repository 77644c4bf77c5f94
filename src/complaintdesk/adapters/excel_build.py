"""Adapter — packages a register as a macro-enabled workbook (.xlsm) or add-in (.xlam).

`build_package` adds the ribbon part (customUI, 2006 namespace, which
openpyxl's keep_vba round trip keeps), its relationship, the macro content
types and a vbaProject.bin. Also reads the installed xlwings' own VBA module.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from .files import atomic_write

UI_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
MAIN_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
MAIN_XLSM = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
MAIN_XLAM = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
VBA_TYPE = "application/vnd.ms-office.vbaProject"


def xlwings_module() -> tuple[str, str]:
    """(version, source) of the standalone xlwings VBA module shipped with the installed xlwings."""
    import xlwings

    source = (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="utf-8")
    return xlwings.__version__, source


def embedded_xlwings_version(vba_source: str) -> str | None:
    match = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', vba_source)
    return match.group(1) if match else None


def _add_relationship(xml: str, rel_id: str, rel_type: str, target: str) -> str:
    if rel_type in xml:
        return xml
    rel = f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{escape(target)}"/>'
    return xml.replace("</Relationships>", rel + "</Relationships>")


def _content_types(xml: str, main: str, with_vba: bool) -> str:
    xml = xml.replace(MAIN_XLSX, main).replace(MAIN_XLSM, main).replace(MAIN_XLAM, main)
    if with_vba and 'Extension="bin"' not in xml:
        xml = xml.replace("<Default ", f'<Default Extension="bin" ContentType="{VBA_TYPE}"/><Default ', 1)
    return xml


def build_package(source: Path, target: Path, ribbon: str, vba_project: bytes | None, addin: bool = False) -> None:
    """Copy an .xlsx into a macro-enabled .xlsm/.xlam with the ribbon and the VBA project."""
    main = MAIN_XLAM if addin else MAIN_XLSM
    with zipfile.ZipFile(source) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    parts["[Content_Types].xml"] = _content_types(parts["[Content_Types].xml"].decode("utf-8"), main,
                                                  vba_project is not None).encode("utf-8")
    parts["_rels/.rels"] = _add_relationship(parts["_rels/.rels"].decode("utf-8"), "rIdCD1", UI_REL,
                                             "customUI/customUI.xml").encode("utf-8")
    parts["customUI/customUI.xml"] = ribbon.encode("utf-8")
    if vba_project is not None:
        rels = "xl/_rels/workbook.xml.rels"
        parts[rels] = _add_relationship(parts[rels].decode("utf-8"), "rIdCDvba", VBA_REL,
                                        "vbaProject.bin").encode("utf-8")
        parts["xl/vbaProject.bin"] = vba_project

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("[Content_Types].xml", parts.pop("[Content_Types].xml"))
            for name, data in parts.items():
                out.writestr(name, data)
    atomic_write(Path(target), write)
