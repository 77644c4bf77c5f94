"""xlsxstream — shared formulas (a formula filled down a column in Excel) read as openpyxl reads them.

Excel saves a filled-down formula once, in the first cell of the block (the master:
`<f t="shared" ref="BP2:BP900" si="0">LEN(L2)</f>`), and every other cell as
`<f t="shared" si="0"/>` beside its cached result. openpyxl reads such a cell as the master's
formula moved to it (`=LEN(L3)`); the streaming reads must give the same. A sheet is read in
pieces, some in a worker, and a piece may hold cells whose master lies in an earlier one: such a
cell first reads as a marker (sheet_xml.shared_cell) and `Formulas` turns it into text once the
sheet's masters are known. Masters come before their cells in document order (Excel writes them
so), so learning them piece by piece, in order, is enough; a cell whose master never came reads
as "=", as in openpyxl.
"""
from __future__ import annotations

import re

from . import sheet_xml as sx
from .row_shift import moved

SHARED = b't="shared"'
MASTER = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*><f\b([^>]*?\bt="shared"[^>]*?)(?<!/)>([^<]+)</f>')

Masters = dict[str, tuple[str, int, int]]  # si -> formula text (without "="), column, row


def masters_in(xml: bytes) -> Masters:
    """The shared-formula masters in a piece of sheet XML, the first of each si (callers look for
    SHARED in the piece first: most sheets have none)."""
    out: Masters = {}
    for letters, row, f_attrs, text in MASTER.findall(xml):
        si = sx.SI_RE.search(f_attrs)
        if si is not None and si.group(1).decode() not in out:
            out[si.group(1).decode()] = (sx.unescape(text.decode("utf-8")), sx.col_index(letters.decode()), int(row))
    return out


class Formulas:
    """The masters of one sheet known so far. `final`: a cell whose master is not known reads as
    "=" (the whole sheet before it was seen); otherwise it stays a marker, for a later piece's masters."""

    def __init__(self, masters: Masters | None = None, final: bool = True):
        self.masters: Masters = dict(masters or {})
        self.final = final

    def learn(self, xml: bytes) -> bool:
        """Take the masters of this XML (the next piece of the sheet); whether it holds shared formulas."""
        if SHARED not in xml:
            return False
        self.merge(masters_in(xml))
        return True

    def merge(self, more: Masters) -> None:
        """Add masters found elsewhere in the sheet: of two with one si, the one first in the sheet."""
        for si, master in more.items():
            known = self.masters.get(si)
            if known is None or (master[2], master[1]) < (known[2], known[1]):
                self.masters[si] = master

    def value(self, marker: tuple):
        _, si, col, row = marker
        master = self.masters.get(si)
        if master is None:
            return "=" if self.final else marker
        text, master_col, master_row = master
        return "=" + moved(text, row - master_row, col - master_col)

    @staticmethod
    def pending(values) -> bool:
        """Whether these values hold a marker (a cell not turned into formula text yet)."""
        return tuple in map(type, values)

    def cells(self, cells: dict) -> dict:
        """The markers among these values (a row's cells, or values by key) as formula text, in place."""
        for key, value in cells.items():
            if type(value) is tuple:
                cells[key] = self.value(value)
        return cells

    def column(self, values: list) -> list:
        """A column of values with its markers as formula text (the same list when it holds none)."""
        if not self.pending(values):
            return values
        return [self.value(v) if type(v) is tuple else v for v in values]
