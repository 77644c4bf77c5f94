"""Adapter — tool sheets a register lacks (made by an earlier version, or deleted by hand), added by
the streaming store's save as openpyxl's `create_sheet` adds them: a worksheet part after the last
one, its <sheet> in workbook.xml (hidden for the tool's bookkeeping sheets), its relationship and its
content type. Sheets are appended at the end, so no sheet index (print areas, local names) moves.
"""
from __future__ import annotations

import re
import zipfile
from typing import NamedTuple

from ...domain.schema import sheet_name
from ..xlsxstream import sheet_xml as sx

WORKSHEET_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORKBOOK, WORKBOOK_RELS, CONTENT_TYPES = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"


class NewSheets(NamedTuple):
    parts: dict[str, str]       # sheet name -> its new part
    replaced: dict[str, bytes]  # workbook.xml, its relationships and the content types, rewritten


def added(zf: zipfile.ZipFile, roles: list[str], lang: str, hidden: tuple[str, ...],
          changed: dict[str, bytes] | None = None) -> NewSheets:
    """The parts and package changes that add a sheet for each of `roles` — to the package parts as
    `changed` holds them when it does (a save that also shifts defined names rewrote workbook.xml)."""
    def read(name: str) -> str:
        return ((changed or {}).get(name) or zf.read(name)).decode("utf-8")
    names = set(zf.namelist())
    workbook, rels, types = read(WORKBOOK), read(WORKBOOK_RELS), read(CONTENT_TYPES)
    sheet_id = max(map(int, re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', workbook)), default=0)
    workbook, r_prefix = _prefix(workbook)
    parts = {}
    n = 1
    for role in roles:
        while f"xl/worksheets/sheet{n}.xml" in names:
            n += 1
        part = f"xl/worksheets/sheet{n}.xml"
        names.add(part)
        sheet_id += 1
        rid = _free_id(rels)
        name = sheet_name(role, lang)
        state = ' state="hidden"' if role in hidden else ""
        workbook = workbook.replace("</sheets>", f'<sheet name="{sx.escape(name)}" sheetId="{sheet_id}"{state} '
                                                 f'{r_prefix}:id="{rid}"/></sheets>', 1)
        rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="{WORKSHEET_REL}" '
                                                f'Target="worksheets/sheet{n}.xml"/></Relationships>', 1)
        types = types.replace("</Types>", f'<Override PartName="/{part}" ContentType="{WORKSHEET_TYPE}"/></Types>', 1)
        parts[name] = part
    return NewSheets(parts, {WORKBOOK: workbook.encode("utf-8"), WORKBOOK_RELS: rels.encode("utf-8"),
                             CONTENT_TYPES: types.encode("utf-8")})


def sheet_part(header: list, rows_xml: bytes) -> bytes:
    """A whole worksheet: the header row (bold titles are the template's; a plain row here) and rows."""
    cells = "".join(sx.cell_xml(f"{sx.col_letter(c)}1", title, None) for c, title in enumerate(header, 1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN_NS}">'
            f'<sheetData><row r="1">{cells}</row>').encode("utf-8") + rows_xml + b"</sheetData></worksheet>"


def _prefix(workbook: str) -> tuple[str, str]:
    """workbook.xml, and the prefix it binds to the relationships namespace (Excel: r; bound here
    when the file has no such binding)."""
    root = re.search(r"<workbook\b[^>]*>", workbook)
    m = re.search(r'xmlns:(\w+)="http://schemas.openxmlformats.org/officeDocument/2006/relationships"',
                  root.group(0) if root else "")
    if m:
        return workbook, m.group(1)
    ns = 'xmlns:cdr="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    return re.sub(r"<workbook\b", "<workbook " + ns, workbook, count=1), "cdr"


def _free_id(rels: str) -> str:
    taken = set(re.findall(r'\bId="([^"]*)"', rels))
    n = len(taken) + 1
    while f"rId{n}" in taken:
        n += 1
    return f"rId{n}"
