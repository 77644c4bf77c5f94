"""xlsxstream — what removing rows from a sheet does to its references (both file stores).

When `archive` takes rows out of the register, every later row moves up, and
whatever points at rows must follow, as when rows are deleted in Excel: a
cell reference moves with its row (and becomes #REF! when its row is gone), a
range shrinks by the rows it loses (and vanishes when it loses them all).
One rule differs from Excel on purpose: rows below the last row of data are
not rows of data, so a reference or range end there stays where it is — the
dropdowns and formatting laid over 投诉登记!A2:A20000 keep covering the
input area after every archive instead of shrinking with it.

Formulas are rewritten token by token (string literals, other sheets' and
external references are left alone); `RowShift.moved` also translates the
relative references of a shared formula to the cell that uses it.
"""
from __future__ import annotations

import bisect
import re
from typing import Iterable

from .sheet_xml import col_index, col_letter

MAX_ROW = 1_048_576  # a sheet's last row in Excel
MAX_COL = 16384  # XFD

_COL = r"\$?[A-Za-z]{1,3}"
_ROW = r"\$?\d{1,7}"
# an optional sheet prefix, then a cell or range of cells, rows or columns
REFERENCE = re.compile(
    r"(?<![\w.\]\\$!])"
    r"(?P<sheet>(?:'(?:[^']|'')+'|[^\s'\"!(),:;=+\-*/^&<>%{}\[\]]+)!)?"
    rf"(?P<ref>(?P<c1>{_COL})(?P<r1>{_ROW})(?::(?P<c2>{_COL})(?P<r2>{_ROW}))?"
    rf"|(?P<rr1>{_ROW}):(?P<rr2>{_ROW})"
    rf"|(?P<cc1>{_COL}):(?P<cc2>{_COL}))"
    r"(?![\w(\[!.])"
)
_STRING = re.compile(r'"(?:[^"]|"")*"')
_LETTERS = re.compile(r"[A-Za-z]+")


def _outside_strings(formula: str, change) -> str:
    """Apply `change` to the parts of a formula that are not string literals."""
    out, pos = [], 0
    for m in _STRING.finditer(formula):
        out.append(change(formula[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(change(formula[pos:]))
    return "".join(out)


def _sheet_name(prefix: str) -> str:
    name = prefix[:-1]
    return name[1:-1].replace("''", "'") if name.startswith("'") else name


class RowShift:
    """Rows `removed` (1-based) leave a sheet whose last row of data is `last_row`."""

    def __init__(self, removed: Iterable[int], last_row: int, sheet: str = ""):
        self.removed = sorted(set(removed))
        self._gone = set(self.removed)
        self.last_row = last_row
        self.sheet = sheet

    def __bool__(self) -> bool:
        return bool(self.removed)

    def row(self, r: int) -> int | None:
        """Where row `r` goes; None when it is removed."""
        if r in self._gone:
            return None
        if r > self.last_row:
            return r
        return r - bisect.bisect_left(self.removed, r)

    def span(self, r1: int, r2: int) -> tuple[int, int] | None:
        """Where rows r1..r2 go: the rows left of them; None when none is left."""
        r1, r2 = min(r1, r2), max(r1, r2)
        if r2 > self.last_row:
            if r1 > self.last_row:
                return r1, r2
            first = self._first_kept(r1)
            return (self.row(first) if first is not None else self.last_row - len(self.removed) + 1), r2
        first, last = self._first_kept(r1), self._last_kept(r2)
        if first is None or last is None or first > last:
            return None
        return self.row(first), self.row(last)

    def _first_kept(self, r: int) -> int | None:
        while r in self._gone:
            r += 1
        return r if r <= self.last_row else None

    def _last_kept(self, r: int) -> int | None:
        while r in self._gone:
            r -= 1
        return r if r >= 1 else None

    # ---- references as text ----------------------------------------------------------
    def ref(self, ref: str) -> str | None:
        """A cell or range like "B5", "$A$2:$C$9", "4:7": shifted, or None when it is gone."""
        m = REFERENCE.fullmatch(ref)
        if m is None or m.group("sheet"):
            return ref
        return self._shifted(m)

    def sqref(self, sqref: str) -> str | None:
        """A space-separated list of ranges (validations, formatting): shifted, the gone ones left out."""
        kept = [s for s in (self.ref(part) for part in sqref.split()) if s]
        return " ".join(kept) or None

    def _shifted(self, m: re.Match) -> str | None:
        g = m.groupdict()
        if g["cc1"]:
            return g["ref"]
        if g["rr1"]:
            span = self.span(int(g["rr1"].lstrip("$")), int(g["rr2"].lstrip("$")))
            if span is None:
                return None
            return f"{_dollar(g['rr1'])}{span[0]}:{_dollar(g['rr2'])}{span[1]}"
        r1 = int(g["r1"].lstrip("$"))
        if not g["c2"]:
            r = self.row(r1)
            return None if r is None else f"{g['c1']}{_dollar(g['r1'])}{r}"
        span = self.span(r1, int(g["r2"].lstrip("$")))
        if span is None:
            return None
        return f"{g['c1']}{_dollar(g['r1'])}{span[0]}:{g['c2']}{_dollar(g['r2'])}{span[1]}"

    def anchored(self, formula: str, sqref: str) -> str:
        """A validation's or conditional format's formula: written for the top row of its cells
        (`sqref`, before the shift), it is rewritten for the row that is their top row after it."""
        tops = [int(m.group("r1").lstrip("$")) for m in map(REFERENCE.fullmatch, sqref.split())
                if m is not None and m.group("r1")]
        if not tops:
            return self.formula(formula)
        top = min(tops)
        first = self._first_kept(top) or top
        return self.formula(moved(formula, first - top, 0))

    def table_ref(self, ref: str) -> str:
        """A table's range: shifted, and never less than its header and one row."""
        m = REFERENCE.fullmatch(ref)
        if m is None or not m.group("c2"):
            return ref
        top = int(m.group("r1").lstrip("$"))
        span = self.span(top + 1, int(m.group("r2").lstrip("$")))
        end = span[1] if span else top + 1
        return f"{m.group('c1')}{m.group('r1')}:{m.group('c2')}{max(end, top + 1)}"

    def formula(self, formula: str, bare: bool = True) -> str:
        """A formula of a cell of this sheet: its references to this sheet shifted. In a defined
        name (`bare=False`) only references naming this sheet are."""
        def change(part: str) -> str:
            def one(m: re.Match) -> str:
                prefix = m.group("sheet") or ""
                if (not prefix and not bare) or \
                        (prefix and (prefix.startswith("[") or _sheet_name(prefix) != self.sheet)):
                    return m.group(0)
                shifted = self._shifted(m)
                return prefix + (shifted if shifted is not None else "#REF!")
            return REFERENCE.sub(one, part)
        return _outside_strings(formula, change) if self.removed else formula


def _dollar(part: str) -> str:
    return "$" if part.startswith("$") else ""


def moved(formula: str, rows: int, cols: int) -> str:
    """A formula written for one cell, as it reads in the cell `rows` below and `cols` right of it
    (a shared formula's cells): relative references move, absolute ones stay."""
    def change(part: str) -> str:
        def one(m: re.Match) -> str:
            g = m.groupdict()
            prefix = g["sheet"] or ""
            if prefix.startswith("["):
                return m.group(0)
            if g["cc1"]:
                out = f"{_col(g['cc1'], cols)}:{_col(g['cc2'], cols)}"
            elif g["rr1"]:
                out = f"{_row(g['rr1'], rows)}:{_row(g['rr2'], rows)}"
            else:
                out = f"{_col(g['c1'], cols)}{_row(g['r1'], rows)}"
                if g["c2"]:
                    out += f":{_col(g['c2'], cols)}{_row(g['r2'], rows)}"
            return prefix + ("#REF!" if "#REF!" in out else out)  # moved off the sheet, as Excel shows it
        return REFERENCE.sub(one, part)
    return _outside_strings(formula, change) if rows or cols else formula


def _col(part: str, delta: int) -> str:
    if part.startswith("$"):
        return part
    col = col_index(part.upper()) + delta
    return col_letter(col) if 1 <= col <= MAX_COL else "#REF!"  # only in a damaged file


def _row(part: str, delta: int) -> str:
    if part.startswith("$"):
        return part
    row = int(part) + delta
    return str(row) if 1 <= row <= MAX_ROW else "#REF!"
