"""A stand-in for an xlwings Book backed by openpyxl: the ranges, sheets and app calls the xlwings store uses,
and the few Excel object-model calls (`.api`) of the register's structure step, with Excel's behaviour:
a resized Table's filter follows it, pasted validation joins the source's rule, a window's frozen pane."""
from __future__ import annotations

import re
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.cell_range import MultiCellRange


class _Cell:
    def __init__(self, row, column):
        self.row, self.column = row, column


class _UsedRange:
    def __init__(self, ws):
        self.last_cell = _Cell(ws.max_row, ws.max_column)


def _address(ref: str) -> str:
    """Excel's absolute address of "A1:B2" ("$A$1:$B$2")."""
    return ",".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.replace(" ", ",").split(","))


class FakeRange:
    def __init__(self, sheet, first, last, ref: str | None = None):
        self.sheet, self.first, self.last = sheet, first, last
        self.number_format = None
        self.ref = ref  # "A2:A40" or "A2:A40,C2:C40" when made from an address

    @property
    def address(self):
        return _address(self.ref)

    @property
    def api(self):
        return _RangeApi(self)

    def options(self, **kwargs):
        assert kwargs.get("ndim") == 2, "the store must read and write 2-D blocks"
        return self

    @property
    def value(self):
        self.sheet.book.reads += 1
        (r1, c1), (r2, c2) = self.first, self.last
        return [[self.sheet.ws.cell(r, c).value for c in range(c1, c2 + 1)] for r in range(r1, r2 + 1)]

    @value.setter
    def value(self, block):
        self.sheet.book.writes += 1
        (r1, c1), _ = self.first, self.last
        for i, line in enumerate(block):
            for j, v in enumerate(line):
                if isinstance(v, str) and v.startswith("'"):
                    v = v[1:]  # Excel's text prefix: stored as text
                    cell = self.sheet.ws.cell(r1 + i, c1 + j)
                    cell.value = v
                    cell.data_type = "s"
                else:
                    self.sheet.ws.cell(r1 + i, c1 + j).value = v

    def delete(self):
        self.sheet.ws.delete_rows(self.first[0], self.last[0] - self.first[0] + 1)


class FakeSheet:
    def __init__(self, book, ws):
        self.book, self.ws = book, ws

    @property
    def name(self):
        return self.ws.title

    @property
    def used_range(self):
        return _UsedRange(self.ws)

    def range(self, first, last=None):
        if isinstance(first, str):
            m = re.fullmatch(r"(\d+):(\d+)", first)
            if m:
                return FakeRange(self, (int(m.group(1)), 1), (int(m.group(2)), self.ws.max_column))
            c1, r1, c2, r2 = range_boundaries(first.split(",")[0])
            return FakeRange(self, (r1, c1), (r2, c2), first)
        return FakeRange(self, first, last or first)

    @property
    def tables(self):
        return [_Table(self, t) for t in self.ws.tables.values()]

    @property
    def api(self):
        return _SheetApi(self)

    def activate(self):
        self.book.activated = self.name


class FakeSheets:
    def __init__(self, book):
        self.book = book

    def _all(self):
        return [FakeSheet(self.book, ws) for ws in self.book.wb.worksheets]

    def __iter__(self):
        return iter(self._all())

    def __len__(self):
        return len(self.book.wb.worksheets)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._all()[key]
        return FakeSheet(self.book, self.book.wb[key])

    @property
    def active(self):
        return self[self.book.activated or self.book.wb.active.title]

    def add(self, name, after=None):
        return FakeSheet(self.book, self.book.wb.create_sheet(name))


class _Table:
    """A ListObject: Excel keeps its autoFilter over the whole Table."""

    def __init__(self, sheet, table):
        self.sheet, self.table = sheet, table

    @property
    def range(self):
        return self.sheet.range(self.table.ref)

    @property
    def show_autofilter(self):
        return self.table.autoFilter is not None

    @show_autofilter.setter
    def show_autofilter(self, value):
        from openpyxl.worksheet.filters import AutoFilter
        self.table.autoFilter = AutoFilter(ref=self.table.ref) if value else None

    @property
    def table_style(self):
        info = self.table.tableStyleInfo
        return info.name if info is not None else ""

    @table_style.setter
    def table_style(self, name):
        from openpyxl.worksheet.table import TableStyleInfo
        self.table.tableStyleInfo = TableStyleInfo(name=name, showRowStripes=True)

    def resize(self, rng):
        self.table.ref = rng.ref
        if self.table.autoFilter is not None:
            self.table.autoFilter.ref = rng.ref


class _Collection:
    def __init__(self, items):
        self.items = items
        self.Count = len(items)

    def Item(self, i):
        return self.items[i - 1]


class _Condition:
    def __init__(self, sheet, index):
        self.sheet, self.index = sheet, index

    @property
    def AppliesTo(self):
        cf = list(self.sheet.ws.conditional_formatting)[self.index]
        return self.sheet.range(str(cf.sqref).replace(" ", ",")).api

    def ModifyAppliesToRange(self, api):
        from openpyxl.formatting.formatting import ConditionalFormattingList
        out = ConditionalFormattingList()
        for i, cf in enumerate(self.sheet.ws.conditional_formatting):
            for rule in cf.rules:
                out.add(api.rng.ref.replace(",", " ") if i == self.index else str(cf.sqref), rule)
        self.sheet.ws.conditional_formatting = out
        self.sheet.book.api_calls.append("ModifyAppliesToRange")


class _Cells:
    def __init__(self, sheet):
        self.sheet = sheet

    def SpecialCells(self, kind):
        assert kind == -4174
        areas = [str(r) for dv in self.sheet.ws.data_validations.dataValidation for r in dv.sqref.ranges]
        if not areas:
            raise RuntimeError("No cells were found.")
        return _Areas([self.sheet.range(a).api for a in areas])

    @property
    def FormatConditions(self):
        return _Collection([_Condition(self.sheet, i) for i in range(len(self.sheet.ws.conditional_formatting))])


class _Areas:
    def __init__(self, ranges):
        self.Areas = _Collection(ranges)


class _SheetApi:
    def __init__(self, sheet):
        self.Cells = _Cells(sheet)


class _RangeApi:
    def __init__(self, rng):
        self.rng = rng

    @property
    def Address(self):
        return self.rng.address

    def Copy(self):
        self.rng.sheet.book.clipboard = self.rng

    def PasteSpecial(self, Paste):
        assert Paste == 6, "only validation is pasted"
        source = self.rng.sheet.book.clipboard
        sr, sc = source.first
        (r1, c1), (r2, c2) = self.rng.first, self.rng.last
        for c in range(c1, c2 + 1):
            cell = f"{get_column_letter(sc + c - c1)}{sr}"
            for dv in self.rng.sheet.ws.data_validations.dataValidation:
                if cell in dv.sqref:  # the column's block grows over the pasted cells, as Excel's areas do
                    same = [r for r in dv.sqref.ranges if r.min_col == r.max_col == c and r.max_row >= r1 - 1]
                    top = min([r1] + [r.min_row for r in same])
                    others = [str(r) for r in dv.sqref.ranges if r not in same]
                    letter = get_column_letter(c)
                    dv.sqref = MultiCellRange(" ".join(others + [f"{letter}{top}:{letter}{r2}"]))
        self.rng.sheet.book.api_calls.append("PasteSpecial")


class _Window:
    """The window showing the active sheet: its pane as openpyxl keeps it."""

    def __init__(self, book):
        self.__dict__["book"] = book

    @property
    def _ws(self):
        return self.book.wb[self.book.sheets.active.name]

    def __getattr__(self, name):
        pane = self._ws.sheet_view.pane
        if name == "FreezePanes":
            return pane is not None and pane.state == "frozen"
        if name == "SplitRow":
            return int(pane.ySplit or 0) if pane is not None else 0
        if name == "SplitColumn":
            return int(pane.xSplit or 0) if pane is not None else 0
        raise AttributeError(name)

    def __setattr__(self, name, value):
        self.book.api_calls.append(f"{name}={value}")
        if name == "FreezePanes" and not value:
            self._ws.freeze_panes = None
        elif name == "SplitRow":
            self.__dict__["split_row"] = value
        elif name == "FreezePanes":
            self._ws.freeze_panes = f"A{self.__dict__.get('split_row', 0) + 1}"


class _AppApi:
    def __init__(self, book):
        self.ActiveWindow = _Window(book)
        self.CutCopyMode = True


class FakeApp:
    def __init__(self, book):
        self.book = book
        self.api = _AppApi(book)
        self.alerts: list[tuple[str, str]] = []
        self.opened: list[str] = []
        self.selection = _Cell(2, 1)

    def alert(self, text, title=""):
        self.alerts.append((title, text))

    @property
    def books(self):
        app = self

        class Books:
            def open(self, path):
                app.opened.append(path)
        return Books()


class FakeBook:
    def __init__(self, path: Path):
        self.fullname = str(path)
        self.wb = load_workbook(path)
        self.sheets = FakeSheets(self)
        self.app = FakeApp(self)
        self.reads = self.writes = 0
        self.activated = None
        self.clipboard = None
        self.api_calls: list[str] = []

    def save(self):
        self.wb.save(self.fullname)
