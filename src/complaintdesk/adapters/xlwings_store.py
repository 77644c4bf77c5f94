"""Adapter — the live store behind the ribbon buttons: the workbook open in Excel, via xlwings.

Reads each sheet once as a block (`.options(ndim=2).value`) and writes back
only the automation columns that changed, one block per column, plus the
tool sheets — never a staff cell, never cell by cell — so a click on a
5,000-row register stays fast. Text that looks like a formula is written
with Excel's text prefix (').
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from ..domain.model import RegisterRow
from ..domain.parsing import looks_like_formula
from ..domain.schema import BY_KEY, HIDDEN_ROLES, SHEETS, TOOL_COLUMNS
from ..domain.settings import Settings, build_settings
from ..errors import SchemaError
from . import live_structure
from .grid import overrides_from, raw_settings, roster_from, staff_from, tool_columns, tool_table
from .register_structure import Repair, plan
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
from .workbook_builder import DATETIME_FORMAT


def excel_value(value):
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    return value


def _block(sheet) -> list[list]:
    last = sheet.used_range.last_cell
    if last.row < 1 or last.column < 1:
        return []
    value = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
    return [list(r) for r in value or []]


class XlwingsStore(WholeRowsReads, PlainDerivedSheets):
    def __init__(self, book, source: str = "按钮"):
        self.book = book
        self.source = source
        self.row_notices: dict[str, str] = {}
        self.warnings: list[str] = []
        self.path = Path(book.fullname) if getattr(book, "fullname", None) else None
        names = [s.name for s in book.sheets]
        self._names = names
        self.lang = "en" if SHEETS["register"][1] in names and SHEETS["register"][0] not in names else "zh"
        self.ws = self._sheet("register", required=True)
        self.grid = _block(self.ws)
        if not self.grid:
            raise SchemaError("投诉登记表是空的（缺少表头行）")
        self.columns: dict[str, int] = map_headers(enumerate(self.grid[0], 1), self.lang)
        self._dirty: set[str] = set()
        self._tables: dict[str, list[list]] = {}
        self._dirty_tables: set[str] = set()
        self._settings: Settings | None = None
        self._typed_last = self._last_row()  # the last row holding a value, as read

    def _sheet(self, role, required=False):
        for name in SHEETS[role]:
            if name in self._names:
                return self.book.sheets[name]
        if required:
            raise missing_sheet(role)
        return None

    # ---- reading ---------------------------------------------------------------------
    def rows(self, full=None) -> list[RegisterRow]:
        out = []
        for r, line in enumerate(self.grid[1:], 2):
            row = {k: line[c - 1] if c - 1 < len(line) else None for k, c in self.columns.items()}
            if any(v not in (None, "") for v in row.values()):
                out.append(RegisterRow(r, row))
        return out

    def _last_row(self) -> int:
        for r in range(len(self.grid), 1, -1):
            if any(v not in (None, "") for v in self.grid[r - 1]):
                return r
        return 1

    def _table_grid(self, role) -> list[list]:
        if role not in self._tables:
            sheet = self._sheet(role)
            self._tables[role] = _block(sheet) if sheet is not None else []
        return self._tables[role]

    def table(self, role: str) -> list[dict]:
        return tool_table(self._table_grid(role), role)

    def settings(self) -> Settings:
        if self._settings is None:
            sheet = self._sheet("settings", required=True)
            self._settings = build_settings(raw_settings(_block(sheet)), staff_from(self.table("staff")),
                                            roster_from(self.table("roster")))
        return self._settings

    def calendar_overrides(self):
        return overrides_from(self.table("calendar"))

    # ---- writing (in memory until save) ------------------------------------------------
    def _ensure_row(self, r: int) -> list:
        while len(self.grid) < r:
            self.grid.append([None] * len(self.grid[0]))
        line = self.grid[r - 1]
        while len(line) < len(self.grid[0]):
            line.append(None)
        return line

    def set_cells(self, row_id: int, values: dict[str, object]) -> None:
        check_automation(values)
        line = self._ensure_row(row_id)
        for key, value in values.items():
            line[self.columns[key] - 1] = value
            self._dirty.add(key)

    def fill_empty(self, row_id: int, key: str, value: object) -> bool:
        if key not in FILLABLE_PROCESS_KEYS:
            raise StaffCellError(key)
        line = self._ensure_row(row_id)
        if line[self.columns[key] - 1] not in (None, ""):
            return False
        line[self.columns[key] - 1] = value
        self._dirty.add(key)
        return True

    def append_register(self, values: dict[str, object]) -> int:
        rows = self.rows()
        r = rows[-1].row_id + 1 if rows else 2
        line = self._ensure_row(r)
        for key, value in values.items():
            if key in self.columns:
                line[self.columns[key] - 1] = value
                self._dirty.add(key)
        return r

    def remove_register(self, row_ids: list[int]) -> None:
        self.save()
        for r in sorted(row_ids, reverse=True):
            self.ws.range(f"{r}:{r}").delete()
        self.grid = _block(self.ws)
        self._typed_last = self._last_row()

    def append_table(self, role: str, rows: list[dict]) -> None:
        grid = self._table_grid(role)
        if not grid:
            grid.append([zh if self.lang == "zh" else en for _, zh, en in TOOL_COLUMNS[role]])
        cols = tool_columns(grid[0], role)
        while len(grid) > 1 and all(v in (None, "") for v in grid[-1]):
            grid.pop()
        check_rows_fit(role, len(grid) + len(rows), self.row_notices)
        for row in rows:
            line = [None] * len(grid[0])
            for key, value in row.items():
                if key in cols:
                    line[cols[key]] = value
            grid.append(line)
        self._dirty_tables.add(role)

    def replace_table(self, role: str, rows: list[dict]) -> None:
        grid = self._table_grid(role)
        old_len = len(grid)
        del grid[1:]
        self.append_table(role, rows)
        self._clear_rows = getattr(self, "_clear_rows", {})
        self._clear_rows[role] = max(self._clear_rows.get(role, 0), old_len)

    def ensure_formatting(self) -> bool:
        return False  # the template carries the rules; Excel keeps them as staff edit

    def _window(self):
        """The Excel window showing the register, or None when another sheet is in view."""
        try:
            return self.book.app.api.ActiveWindow if self.book.sheets.active.name == self.ws.name else None
        except Exception:  # no window (Excel hidden, a book opened by a script): no pane to freeze
            return None

    def structure(self) -> Repair:
        """What the next save repairs in the register's structure (see register_structure)."""
        header = dict(enumerate(self.grid[0], 1))
        shape = live_structure.shape_of(self.ws, self._window(), header, self.columns, self._typed_last)
        return plan(shape, self._last_row())

    def save(self) -> None:
        """Write dirty automation columns and tool sheets back in blocks, then save the workbook."""
        last = len(self.grid)
        for key in sorted(self._dirty):
            col = self.columns[key]
            values = [[excel_value(line[col - 1] if col - 1 < len(line) else None)] for line in self.grid[1:]]
            if not values:
                continue
            rng = self.ws.range((2, col), (last, col))
            if BY_KEY[key].kind == "datetime":
                rng.number_format = DATETIME_FORMAT
            rng.options(ndim=2).value = values
        for role in sorted(self._dirty_tables):
            sheet = self._sheet(role)
            if sheet is None:
                sheet = self.book.sheets.add(SHEETS[role][0 if self.lang == "zh" else 1],
                                             after=self.book.sheets[len(self.book.sheets) - 1])
                self._names.append(sheet.name)
                if role in HIDDEN_ROLES:
                    sheet.visible = False
            grid = self._tables[role]
            width = max(len(line) for line in grid)
            height = max(len(grid), getattr(self, "_clear_rows", {}).get(role, 0))
            block = [[excel_value(v) for v in line] + [None] * (width - len(line)) for line in grid]
            block += [[None] * width for _ in range(height - len(grid))]
            sheet.range((1, 1), (height, width)).options(ndim=2).value = block
        self._dirty.clear()
        self._dirty_tables.clear()
        live_structure.apply(self.ws, self._window(), self.structure())
        self._typed_last = self._last_row()
        if self.path is not None and self.path.suffix:
            self.book.save()
