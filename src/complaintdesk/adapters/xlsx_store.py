"""Adapter — the openpyxl register store (CLI, scheduler).

Columns and sheets are found by header / sheet name (zh or en), never by
position, so staff may reorder columns or add their own. Writes touch only
automation cells, tool sheets and appended rows; text that looks like a
formula is stored as text. `save` is atomic and keeps a backup.
"""
from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from ..domain.model import RegisterRow
from ..domain.parsing import looks_like_formula
from ..domain.schema import HIDDEN_ROLES, SHEETS, TOOL_COLUMNS, sheet_name
from ..domain.settings import Settings, build_settings
from ..errors import SchemaError
from .files import refuse_if_open_in_excel, save_register
from .grid import overrides_from, raw_settings, roster_from, staff_from, tool_columns, tool_table
from .package_guard import checked_register
from .register_structure import Repair, plan, rows_needed
from .settings_layout import BLOCKS
from .snapshot import Snapshot
from .store import (
    FILLABLE_PROCESS_KEYS,
    PlainDerivedSheets,
    StaffCellError,
    WholeRowsReads,
    check_automation,
    check_rows_fit,
    map_headers,
    missing_sheet,
)
from .workbook_builder import DATETIME_FORMAT, tool_sheet_header
from .xlsx_row_removal import remove_rows
from .xlsx_structure import apply as apply_structure
from .xlsx_structure import shape_of
from .xlsxstream.sheet_checks import check_sheets, shared_string_count


def as_cell_value(cell, value) -> None:
    """Write value so that it is data, never a formula."""
    cell.value = value
    if isinstance(value, str) and looks_like_formula(value):
        cell.data_type = "s"
    elif isinstance(value, (datetime, date)):
        cell.number_format = DATETIME_FORMAT


def plain(value):
    """A cell value as the streaming store reads it: an array formula as its text (openpyxl gives an
    object whose repr would be exported), a data-table formula (no text of its own) as empty."""
    if type(value) is ArrayFormula:
        return value.text
    return None if type(value) is DataTableFormula else value


SETTINGS_BLOCK_WIDTH = max(len(block.headers) for block in BLOCKS)  # beyond the last block title in row 1


def _values(ws, extra_columns: int = 0) -> list[list]:
    """A tool sheet's values as rows × columns: as wide as its header row (plus `extra_columns`),
    as long as its last row holding a value there. Built from the cells openpyxl holds — never by
    walking the sheet's extent, which one stray cell at XFD1048576 makes 17 billion cells."""
    width = max((c for (r, c), cell in ws._cells.items() if r == 1 and cell.value not in (None, "")),
                default=0) + extra_columns
    held: dict[int, dict[int, object]] = {}
    for (r, c), cell in ws._cells.items():
        if c <= width and cell.value not in (None, ""):
            held.setdefault(r, {})[c] = plain(cell.value)
    return [[held.get(r, {}).get(c) for c in range(1, width + 1)] for r in range(1, max(held, default=0) + 1)]


class XlsxStore(WholeRowsReads, PlainDerivedSheets):
    def __init__(self, path: Path, source: str = "命令行", read_only_check: bool = False,
                 snapshot: Snapshot | None = None):
        self.path = Path(path)
        self.source = source
        self.snapshot = snapshot  # read from this copy; save() then keeps the changes in memory
        self.deferred = False     # a save was asked of a snapshot: the changes wait for the file
        self.row_notices: dict[str, str] = {}
        data = snapshot.copy if snapshot else self.path
        self.warnings = checked_register(data, read_only_check or snapshot is not None)
        with zipfile.ZipFile(data) as zf:  # the streaming store's verdict on every sheet, first
            check_sheets(zf, self.path.name, shared_string_count(zf, self.path.name))
        try:
            self.wb = load_workbook(data, keep_vba=self.path.suffix.lower() == ".xlsm")
        except Exception as exc:  # zip/xml errors: a file-level problem, reported plainly
            raise SchemaError(f"无法打开“{self.path.name}”：不是有效的 Excel 工作簿（{type(exc).__name__}）")
        self.lang = "zh"
        self.ws = self._sheet("register", required=True)
        if self.ws.title == SHEETS["register"][1]:
            self.lang = "en"
        header = next(self.ws.iter_rows(min_row=1, max_row=1), ())
        self.columns = map_headers(((c.column, c.value) for c in header), self.lang)
        self._by_col = {col: key for key, col in self.columns.items()}
        self._settings: Settings | None = None
        self._last: int | None = None
        self._typed_last: int | None = None  # the last row holding a value before the tool appended rows
        self._drift_kinds: set[str] | None = None  # what had drifted before the tool removed rows

    # ---- sheets and headers ----------------------------------------------------------
    def _sheet(self, role: str, required: bool = False, create: bool = False):
        for name in SHEETS[role]:
            if name in self.wb.sheetnames:
                return self.wb[name]
        if required:
            raise missing_sheet(role)
        if create:
            ws = self.wb.create_sheet(sheet_name(role, self.lang))
            tool_sheet_header(ws, TOOL_COLUMNS[role], self.lang)
            if role in HIDDEN_ROLES:
                ws.sheet_state = "hidden"
            return ws
        return None

    # ---- reading ---------------------------------------------------------------------
    def _filled(self, in_columns: bool):
        """(row, column, value as read) of every data cell holding something (a data-table formula
        too: it reads as empty) — of the register's columns only with `in_columns` — from the cells
        openpyxl holds, never by walking the sheet's extent."""
        for (r, c), cell in self.ws._cells.items():
            if r >= 2 and (not in_columns or c in self._by_col) and cell.value not in (None, ""):
                yield r, c, plain(cell.value)

    def rows(self, full=None) -> list[RegisterRow]:  # always full rows; `full` is for the fast store
        held: dict[int, dict[str, object]] = {}
        for r, c, value in self._filled(in_columns=True):
            held.setdefault(r, {})[self._by_col[c]] = value
        keys = sorted(self.columns, key=self.columns.__getitem__)
        return [RegisterRow(r, {key: held[r].get(key) for key in keys}) for r in sorted(held)
                if any(v not in (None, "") for v in held[r].values())]

    def _last_row(self) -> int:
        """The last row with content in any column, found once per store and then kept up to date."""
        if self._last is None:
            self._last = max((r for r, _, _ in self._filled(in_columns=False)), default=1)
        return self._last

    def settings(self) -> Settings:
        if self._settings is None:
            grid = _values(self._sheet("settings", required=True), SETTINGS_BLOCK_WIDTH)
            self._settings = build_settings(raw_settings(grid), staff_from(self.table("staff")),
                                            roster_from(self.table("roster")))
        return self._settings

    def calendar_overrides(self) -> dict[date, str]:
        return overrides_from(self.table("calendar"))

    def _tool_map(self, ws, role) -> dict[str, int]:
        header = [c.value for c in next(ws.iter_rows(min_row=1, max_row=1), ())]
        return {k: i + 1 for k, i in tool_columns(header, role).items()}

    def table(self, role: str) -> list[dict]:
        ws = self._sheet(role)
        return [] if ws is None else tool_table(_values(ws), role)

    # ---- writing ---------------------------------------------------------------------
    def set_cells(self, row_id: int, values: dict[str, object]) -> None:
        check_automation(values)
        for key, value in values.items():
            as_cell_value(self.ws.cell(row_id, self.columns[key]), value)

    def fill_empty(self, row_id: int, key: str, value: object) -> bool:
        if key not in FILLABLE_PROCESS_KEYS:
            raise StaffCellError(key)
        cell = self.ws.cell(row_id, self.columns[key])
        if cell.value not in (None, ""):
            return False
        as_cell_value(cell, value)
        return True

    def append_register(self, values: dict[str, object]) -> int:
        if self._typed_last is None:
            self._typed_last = self._last_row()
        r = self._last = self._last_row() + 1
        check_rows_fit("register", r, self.row_notices)
        for key, value in values.items():
            if key in self.columns and value not in (None, ""):
                as_cell_value(self.ws.cell(r, self.columns[key]), value)
        return r

    def remove_register(self, row_ids: list[int]) -> None:
        """Rows leave the register; every later row moves up (as in Excel), in one pass."""
        if self._drift_kinds is None:  # ranges the removal shrinks are ours to extend, not drift
            self._drift_kinds = {note.split()[0] for note in self.structure().notes}
        remove_rows(self.wb, self.ws, row_ids, self._last_row())
        self._last = self._typed_last = None

    def append_table(self, role: str, rows: list[dict]) -> None:
        ws = self._sheet(role, create=True)
        cols = self._tool_map(ws, role)
        r = ws.max_row
        while r > 1 and all(c.value in (None, "") for c in ws[r]):
            r -= 1
        check_rows_fit(role, r + len(rows), self.row_notices)
        for row in rows:
            r += 1
            for key, value in row.items():
                if key in cols:
                    as_cell_value(ws.cell(r, cols[key]), value)

    def replace_table(self, role: str, rows: list[dict]) -> None:
        ws = self._sheet(role, create=True)
        if ws.max_row > 1:
            ws.delete_rows(2, ws.max_row - 1)
        self.append_table(role, rows)

    def ensure_formatting(self) -> bool:
        from .workbook_builder import ensure_sla_formatting
        return ensure_sla_formatting(self.ws, self.lang, rows_needed(self._last_row())[1])

    def structure(self) -> Repair:
        """What the next save repairs in the register's structure (see register_structure)."""
        # the last row of the Table: a value far right of the header columns is no row of it
        data = max((r for r, _, value in self._filled(in_columns=True) if value not in (None, "")), default=1)
        typed = data if self._typed_last is None else min(data, self._typed_last)
        repair = plan(shape_of(self.ws, self.columns, typed), data)
        if self._drift_kinds is not None:
            repair.notes = [note for note in repair.notes if note.split()[0] in self._drift_kinds]
        return repair

    def save(self) -> None:
        if self.snapshot is not None:
            self.deferred = True
            return
        refuse_if_open_in_excel(self.path)
        keep = 5
        try:
            keep = int(self.settings().param("backup_count"))
        except Exception:
            pass
        apply_structure(self.ws, self.structure())
        save_register(self.path, lambda tmp: self.wb.save(tmp), keep)
