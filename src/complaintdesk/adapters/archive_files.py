"""Adapter — yearly archive workbooks (archive/投诉归档_<year>.xlsx): read and write.

An archive has the register's columns (same headers) on 投诉归档 and the
moved communication-log entries on 沟通记录, rows in complaint-number order.
"""
from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook

from ..domain.model import RegisterRow
from ..domain.parsing import text_of
from ..domain.schema import COLUMNS, COMMS_COLUMNS, header_lookup, normalise_header
from .files import atomic_write
from .xlsx_store import as_cell_value
from .workbook_builder import tool_sheet_header

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


def write_archive(path: Path, rows: list[dict], comms: list[dict]) -> None:
    """Write the whole archive (existing + new rows), sorted by complaint number."""
    wb = Workbook()
    ws = wb.active
    ws.title = ARCHIVE_SHEET
    ws.append([c.zh for c in COLUMNS])
    for r, record in enumerate(sorted(rows, key=lambda v: text_of(v.get("complaint_no"))), 2):
        for col, column in enumerate(COLUMNS, 1):
            value = record.get(column.key)
            if value not in (None, ""):
                as_cell_value(ws.cell(r, col), value)
    ws.freeze_panes = "B2"
    cws = wb.create_sheet(COMMS_SHEET)
    tool_sheet_header(cws, COMMS_COLUMNS, "zh")
    for r, entry in enumerate(sorted(comms, key=lambda e: (text_of(e.get("complaint_no")), text_of(e.get("time")))), 2):
        for col, (key, _, _) in enumerate(COMMS_COLUMNS, 1):
            if entry.get(key) not in (None, ""):
                as_cell_value(cws.cell(r, col), entry.get(key))
    atomic_write(path, lambda tmp: wb.save(tmp))
