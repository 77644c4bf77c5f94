"""A stand-in for an xlwings Book backed by openpyxl: the ranges, sheets and app calls the xlwings store uses."""
from __future__ import annotations

import re
from pathlib import Path

from openpyxl import load_workbook


class _Cell:
    def __init__(self, row, column):
        self.row, self.column = row, column


class _UsedRange:
    def __init__(self, ws):
        self.last_cell = _Cell(ws.max_row, ws.max_column)


class FakeRange:
    def __init__(self, sheet, first, last):
        self.sheet, self.first, self.last = sheet, first, last
        self.number_format = None

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
            return FakeRange(self, (int(m.group(1)), 1), (int(m.group(2)), self.ws.max_column))
        return FakeRange(self, first, last or first)

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

    def add(self, name, after=None):
        return FakeSheet(self.book, self.book.wb.create_sheet(name))


class FakeApp:
    def __init__(self, book):
        self.book = book
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

    def save(self):
        self.wb.save(self.fullname)
