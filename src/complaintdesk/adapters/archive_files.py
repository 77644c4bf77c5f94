"""Adapter — yearly archive workbooks (archive/投诉归档_<year>.xlsx): read and write.

An archive has the register's columns (same headers) on 投诉归档 and the
moved communication-log entries on 沟通记录, rows in complaint-number order.
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from ..domain.model import RegisterRow
from ..domain.parsing import text_of
from ..domain.schema import COLUMNS, COMMS_COLUMNS, header_lookup, normalise_header
from .files import atomic_write
from .xlsx_store import as_cell_value
from .workbook_builder import HEADER_FILL, WHITE_BOLD

ARCHIVE_SHEET, COMMS_SHEET = "投诉归档", "沟通记录"


def archive_path(folder: Path, year: int) -> Path:
    return Path(folder) / f"投诉归档_{year}.xlsx"


def read_archive_rows(path: Path) -> list[RegisterRow]:
    rows, _ = read_archive(path)
    return rows


def read_archive(path: Path) -> tuple[list[RegisterRow], list[dict]]:
    wb = load_workbook(path, read_only=True)
    try:
        ws = wb[ARCHIVE_SHEET] if ARCHIVE_SHEET in wb.sheetnames else wb.worksheets[0]
        lookup = header_lookup()
        it = ws.iter_rows(values_only=True)
        keys = [lookup.get(normalise_header(h)) for h in next(it, ())]
        rows = []
        for i, values in enumerate(it, 2):
            record = {k: v for k, v in zip(keys, values) if k}
            if any(v not in (None, "") for v in record.values()):
                rows.append(RegisterRow(-i, record))
        comms = []
        if COMMS_SHEET in wb.sheetnames:
            cit = wb[COMMS_SHEET].iter_rows(values_only=True)
            next(cit, None)
            for values in cit:
                if any(v not in (None, "") for v in values):
                    comms.append({k: v for (k, _, _), v in zip(COMMS_COLUMNS, values)})
        return rows, comms
    finally:
        wb.close()


def _cells(ws, values: list) -> list:
    out = []
    for value in values:
        if value in (None, ""):
            out.append(None)
        else:
            cell = WriteOnlyCell(ws)
            as_cell_value(cell, value)
            out.append(cell)
    return out


def write_archive(path: Path, rows: list[dict], comms: list[dict]) -> None:
    """Write the whole archive (existing + new rows), sorted by complaint number. Streamed
    (openpyxl's write-only mode): a year of a busy desk is hundreds of thousands of rows."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(ARCHIVE_SHEET)
    ws.freeze_panes = "B2"
    ws.append([c.zh for c in COLUMNS])
    for record in sorted(rows, key=lambda v: text_of(v.get("complaint_no"))):
        ws.append(_cells(ws, [record.get(column.key) for column in COLUMNS]))
    cws = wb.create_sheet(COMMS_SHEET)
    cws.freeze_panes = "A2"
    for col in range(1, len(COMMS_COLUMNS) + 1):
        cws.column_dimensions[get_column_letter(col)].width = 16 if col > 1 else 20
    header = []
    for _key, zh, _en in COMMS_COLUMNS:
        cell = WriteOnlyCell(cws, zh)
        cell.font, cell.fill = WHITE_BOLD, HEADER_FILL
        header.append(cell)
    cws.append(header)
    for entry in sorted(comms, key=lambda e: (text_of(e.get("complaint_no")), text_of(e.get("time")))):
        cws.append(_cells(cws, [entry.get(key) for key, _, _ in COMMS_COLUMNS]))
    atomic_write(path, lambda tmp: wb.save(tmp))
