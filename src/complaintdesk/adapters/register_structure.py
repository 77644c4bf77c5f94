"""Adapter — the register's structure as Excel needs it, whoever saved the file last.

The Excel Table covers the header and every data row (rows typed below it join it), its
autoFilter range equals its range, each table column is named as its header cell; the dropdowns,
the grey-column guards and the red/amber clock formatting reach the Table's rows plus the headroom
`init` gives; the header row is frozen; the sheet prints A4 landscape with print titles. This
module is pure: each store reads a `Shape` its own way
(openpyxl objects, streamed XML, Excel through xlwings), `plan` says what must change, and the store
applies the `Repair` in its save. Nothing here touches a staff value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..domain.schema import AUTOMATION, BY_KEY, EXCEL_MAX_ROWS
from .xlsxstream.sheet_xml import col_index, col_letter

VALIDATED_ROWS = 20000   # rows `init` gives the dropdowns, guards and formatting
HEADROOM = VALIDATED_ROWS - 2  # ... beyond its one data row: the same headroom for a full register
MIN_HEADROOM = 1000      # ranges reaching fewer rows beyond the data than this are extended
TABLE_STYLE = "TableStyleLight9"  # the banded style `init` gives the Table (restored when a program drops it)

_RANGE = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?$")


def parse_range(text: str) -> tuple[int, int, int, int] | None:
    """"B2:C40" (or "B2") -> (first col, first row, last col, last row); None when not a range."""
    m = _RANGE.match(text.strip().upper())
    if not m:
        return None
    c1, r1 = col_index(m.group(1)), int(m.group(2))
    c2, r2 = (col_index(m.group(3)), int(m.group(4))) if m.group(3) else (c1, r1)
    return c1, r1, c2, r2


def range_text(c1: int, r1: int, c2: int, r2: int) -> str:
    return f"{col_letter(c1)}{r1}" if (c1, r1) == (c2, r2) else f"{col_letter(c1)}{r1}:{col_letter(c2)}{r2}"


def validated_keys() -> set[str]:
    """The register columns `init` gives a dropdown, a prompt or a guard."""
    return {k for k, c in BY_KEY.items() if c.group == AUTOMATION or c.choices or c.kind in ("score", "datetime")}


def formatted_keys() -> set[str]:
    """The clock-state columns painted red/amber."""
    return {k for k in BY_KEY if k.endswith("_status") and k != "status"}


@dataclass
class TableShape:
    ref: str
    filter_ref: str | None    # the Table's autoFilter range (None: no filter buttons)
    names: list[str]          # the table columns' names, in order
    styled: bool = True       # the Table has a style (LibreOffice drops it: the banding is gone)


@dataclass
class Shape:
    """The register sheet's structure as read."""
    header: dict[int, object]        # column -> header cell value
    columns: dict[str, int]          # field key -> column (from the header)
    data_rows: int                   # the last row holding a value as read (1: none)
    table: TableShape | None
    validations: list[str]           # each data validation's sqref, in document order
    formatting: list[str]            # each conditional format's sqref, in document order
    frozen: bool                     # the header row stays in view
    printed: bool | None = None      # prints A4 landscape with print titles (None: cannot tell)


@dataclass
class Repair:
    """What a save changes in the structure; `notes` say it in Chinese (empty: nothing repaired —
    growing the Table over rows the tool appended is not a repair)."""
    table_ref: str | None = None
    filter_ref: str | None = None
    names: dict[int, str] = field(default_factory=dict)   # table column position -> new name
    style: str | None = None  # the Table style to give a Table that lost its own
    validations: dict[int, str] = field(default_factory=dict)   # validation position -> new sqref
    formatting: dict[int, str] = field(default_factory=dict)    # formatting position -> new sqref
    freeze: bool = False
    print_setup: bool = False  # give it the print set-up `init` gives (A4 landscape, 打印标题)
    notes: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)   # headers of columns without their dropdown

    def changes(self) -> bool:
        return bool(self.table_part() or self.validations or self.formatting or self.freeze or self.print_setup)

    def table_part(self) -> bool:
        """Whether the Table itself changes (its range, filter, names or style)."""
        return bool(self.table_ref or self.filter_ref or self.names or self.style)

    def describe(self) -> str:
        return "结构修复：" + "，".join(self.notes) if self.notes else ""


def rows_needed(last_row: int) -> tuple[int, int]:
    """(rows a range must reach, rows it is extended to) for a register whose data ends at `last_row`."""
    if last_row + MIN_HEADROOM <= VALIDATED_ROWS:
        return VALIDATED_ROWS, VALIDATED_ROWS  # the ranges `init` wrote
    return min(last_row + MIN_HEADROOM, EXCEL_MAX_ROWS), min(last_row + HEADROOM, EXCEL_MAX_ROWS)


def plan(shape: Shape, last_row: int) -> Repair:
    """The repair that makes the structure right for data ending at `last_row` (the rows as the
    save writes them: as read plus those appended)."""
    repair = Repair()
    if shape.table is not None:
        _table(shape, max(last_row, shape.data_rows), repair)
    need, reach = rows_needed(max(last_row, shape.data_rows))
    wanted = {shape.columns[k] for k in validated_keys() if k in shape.columns}
    repair.validations, extended = extended_sqrefs(shape.validations, wanted, need, reach)
    if extended:
        repair.notes.append(f"下拉 {extended} 列")
    covered = {c for sqref in shape.validations for c in _columns_from_row_2(sqref)}
    repair.uncovered = [str(shape.header.get(c)) for c in sorted(wanted - covered)]
    painted = {shape.columns[k] for k in formatted_keys() if k in shape.columns}
    repair.formatting, extended = extended_sqrefs(shape.formatting, painted, need, reach)
    if extended:
        repair.notes.append(f"预警颜色 {extended} 列")
    if shape.printed is False:
        repair.print_setup = True
        repair.notes.append("打印设置（A4 横向、每页重复表头）")
    if not shape.frozen:
        repair.freeze = True
        repair.notes.append("冻结首行")
    return repair


def _table(shape: Shape, last_row: int, repair: Repair) -> None:
    table = shape.table
    bounds = parse_range(table.ref)
    if bounds is None:
        return
    c1, r1, c2, r2 = bounds
    end = max(r2, last_row, r1 + 1)
    ref = range_text(c1, r1, c2, end)
    if ref != table.ref:
        repair.table_ref = ref
        if r2 < shape.data_rows:
            repair.notes.append(f"表格范围 {ref}")
    if table.filter_ref is None or table.filter_ref != ref:
        repair.filter_ref = ref
        if table.filter_ref is not None and table.filter_ref != table.ref:
            repair.notes.append(f"筛选范围 {ref}")
        elif table.filter_ref is None:
            repair.notes.append("筛选按钮")
    for i, name in enumerate(table.names):
        header = shape.header.get(c1 + i)
        text = "" if header is None else str(header)
        if text.strip() and text != name and text not in table.names:
            repair.names[i] = text
    if repair.names:
        repair.notes.append(f"列名 {len(repair.names)} 个")
    if not table.styled:
        repair.style = TABLE_STYLE
        repair.notes.append("表格样式")


def extended_sqrefs(sqrefs: list[str], columns: set[int], need: int, reach: int) -> tuple[dict[int, str], int]:
    """The sqrefs whose ranges on `columns` starting at row 2 end before `need`, each such range
    extended to `reach`; and how many columns that extends."""
    changed: dict[int, str] = {}
    extended: set[int] = set()
    for i, sqref in enumerate(sqrefs):
        parts = []
        for text in sqref.split():
            bounds = parse_range(text)
            if bounds is not None and bounds[1] == 2 and bounds[3] < need \
                    and columns.intersection(range(bounds[0], bounds[2] + 1)):
                c1, _, c2, _ = bounds
                extended.update(columns.intersection(range(c1, c2 + 1)))
                text = range_text(c1, 2, c2, reach)
            parts.append(text)
        if parts != sqref.split():
            changed[i] = " ".join(parts)
    return changed, len(extended)


def _columns_from_row_2(sqref: str) -> set[int]:
    cols: set[int] = set()
    for text in sqref.split():
        bounds = parse_range(text)
        if bounds is not None and bounds[1] <= 2 <= bounds[3]:
            cols.update(range(bounds[0], bounds[2] + 1))
    return cols
