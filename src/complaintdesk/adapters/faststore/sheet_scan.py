"""Adapter — reading a register sheet's XML fast: one C-level pass finds the rows and the cells
a closed complaint needs ("light" rows), kept as columns; every other row is parsed in full.

Used by the fast store for full reads (cold) and to index rows it has just written, so what the
row index holds is always what a read of the file gives.
"""
from __future__ import annotations

import marshal
import re
from functools import partial
from itertools import repeat
from typing import Callable, Iterable, NamedTuple

from ...domain.parsing import is_yes
from ...domain.schema import DATETIME_KEYS
from ...domain.transitions import row_closed
from ...errors import SchemaError
from ..xlsxstream import sheet_xml as sx
from ..xlsxstream.deflate_segments import ROW_NUM
from ..xlsxstream.parallel_scan import map_pieces
from ..xlsxstream.pieces import row_body, serial_datetime
from ..xlsxstream.shared_formulas import SHARED as SHARED_FORMULA
from ..xlsxstream.shared_formulas import Formulas, masters_in
from .register_index import LightColumns

LIGHT_KEYS = ("complaint_no", "received_at", "request_type", "is_valid", "category", "customer_id",
              "contact", "status", "closed_at", "case_library")


def _letters_re(letters) -> bytes:
    """An alternation of column letters, grouped by first letter ([DFHO]|A[KOR]?|BO?): each cell
    start is tried against a few character sets instead of every letter in turn."""
    by_first: dict[bytes, list[bytes]] = {}
    for letters_ in sorted(letters):
        by_first.setdefault(letters_[:1], []).append(letters_[1:])
    single = b"".join(first for first, rest in by_first.items() if rest == [b""])
    parts = [b"[" + single + b"]"] if single else []
    for first, rest in by_first.items():
        if rest == [b""]:
            continue
        tails = [t for t in rest if t]
        alt = b"|".join(re.escape(t) for t in sorted(tails, key=len, reverse=True))
        parts.append(first + b"(?:" + alt + b")" + (b"?" if b"" in rest else b""))
    return b"|".join(parts)


def _pattern(letters) -> re.Pattern:
    """The cells of these columns, in one pass. A cell of the usual shapes gives its reference,
    type, <v> and inline text; any other shape (formula, rich text, odd attribute order) gives its whole
    element after the reference, parsed on its own. Every match starts with the same literal
    text, which the engine looks for at C speed (row starts are found by a pass of their own:
    an alternative starting otherwise would make it try every "<")."""
    return re.compile(rb'<c r="((?:' + _letters_re(letters) + rb')\d+)"'
                      rb'(?:(?: s="\d+")?(?: t="([a-zA-Z]+)")?(?: s="\d+")?'
                      rb'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)'
                      rb'|([^>]*?/>|[^>]*>.*?</c>))', re.S)


_PATTERNS: dict = {}
INLINE, SHARED = b"inlineStr", b"s"


class Scanned(NamedTuple):
    """What a piece of register sheet XML holds, as a full read keeps it."""
    keys: list[str]                # light keys, sorted
    closed: list[int]              # rows of closed complaints ("light" rows)
    columns: list[list]            # their light values, one list per key
    full: dict[int, dict]          # every other row: cells by column index as stored
    cases: dict[int, bytes]        # closed rows marked for the case library: cells, marshalled
    last_row: int
    formulas: dict = {}            # shared-formula masters in the piece (shared_formulas.Masters)
    shared: bool = False           # the piece holds shared formulas: its values may hold markers

    def rows(self) -> set[int]:
        return set(self.closed) | self.full.keys()

    def light_dicts(self) -> dict[int, dict]:
        """row -> light values with "_light" set, as the rest of the store keeps closed rows."""
        marked = (*self.keys, "_light")
        return {r: dict(zip(marked, (*values, True))) for r, values in zip(self.closed, zip(*self.columns))}


def scan_chunk(buf: bytes, spec) -> Scanned:
    """Every row in a piece of sheet XML: the light values of closed complaints as columns (one
    C-level pass, values decoded in bulk), every other row parsed in full; the cells of closed
    rows marked for the case library kept marshalled."""
    strings, by_letter = spec
    keys = sorted(by_letter.values())
    row_nums = ROW_NUM.findall(buf)
    if not row_nums:
        return Scanned(keys, [], [[] for _ in keys], {}, {}, 0)
    all_rows = _numbered_rows(buf, row_nums)
    column = _column_reader(buf, strings, by_letter)
    closed = [r for r, status, closed_at in zip(all_rows, column("status", all_rows), column("closed_at", all_rows))
              if row_closed(status, closed_at)]
    columns = [column(k, closed) for k in keys]
    marked = {r for r, v in zip(closed, column("case_library", closed)) if v is not None and is_yes(v)}
    wanted = set(all_rows).difference(closed) | marked
    full, cases = _parsed_rows(buf, [r for r in all_rows if r in wanted], marked, strings)
    shared = SHARED_FORMULA in buf
    return Scanned(keys, [int(r) for r in closed], columns, full, cases, max(map(int, all_rows), default=0),
                   masters_in(buf) if shared else {}, shared)


def _numbered_rows(buf: bytes, row_nums: list[bytes]) -> list[bytes]:
    """The data rows' numbers (as bytes) in the piece; every <row> must carry its number."""
    all_rows = [r for r in row_nums if r != b"1"]
    if len(all_rows) + (b"1" in row_nums) != buf.count(b"<row"):
        raise SchemaError("登记表中有不带行号的行，请用完整模式处理（设置环境变量 COMPLAINTDESK_STORE=openpyxl）")
    return all_rows


def _column_reader(buf: bytes, strings, by_letter: dict) -> Callable[[str, list[bytes]], list]:
    """column(key, rows) -> the key's values in those rows, looked up at C speed from one pass that
    maps each cell reference ("B17") of the light columns to its value."""
    key = tuple(by_letter)
    if key not in _PATTERNS:
        _PATTERNS[key] = _pattern(by_letter)
    found = _PATTERNS[key].findall(buf)
    refs, kinds, vs, texts, odd = zip(*found) if found else ((),) * 5
    cells = dict(zip(refs, _cell_values(refs, kinds, vs, texts, odd, strings)))
    letter_of = {k: letter for letter, k in by_letter.items()}

    def column(key: str, rows: list[bytes]) -> list:
        letter = letter_of.get(key)
        return list(map(cells.get, map(letter.__add__, rows))) if letter else [None] * len(rows)
    return column


def _parsed_rows(buf: bytes, rows: list[bytes], marked: set[bytes], strings) -> tuple[dict, dict]:
    """The given rows (in document order) parsed in full: (full rows holding a value, marshalled
    case rows)."""
    full, cases, at = {}, {}, 0
    for rb in rows:  # in document order: each search starts where the last one stopped
        start = buf.find(b'<row r="' + rb + b'"', at)
        if start < 0:
            start = buf.find(b'<row r="' + rb + b'"')
        at = start
        row = sx.row_cells(row_body(buf, int(rb), start), strings)
        if rb in marked:
            cases[int(rb)] = marshal.dumps(row)
        elif row:  # a row without a value (styled blanks a spreadsheet saved) is no row: not kept
            full[int(rb)] = row
    return full, cases


def scan_pieces(pieces, spec, parallel: bool) -> list[Scanned]:
    """scan_chunk of every piece, in order; with `parallel`, partly in a worker process."""
    return list(map_pieces(pieces, partial(scan_chunk, spec=spec), parallel))


def resolved(piece: Scanned, formulas: Formulas) -> Scanned:
    """The piece with the cells of shared formulas as formula text (`formulas` knows the masters)."""
    if not piece.shared:
        return piece
    columns = [formulas.column(column) for column in piece.columns]
    full = {r: formulas.cells(cells) for r, cells in piece.full.items()}
    cases = {}
    for r, blob in piece.cases.items():
        cells = marshal.loads(blob)
        cases[r] = marshal.dumps(formulas.cells(cells)) if formulas.pending(cells.values()) else blob
    return piece._replace(columns=columns, full=full, cases=cases)


def merged(pieces: Iterable[Scanned]) -> Scanned | None:
    """Resolved pieces (shared formulas read as text) as one, in the order given; None for none."""
    whole, last_row = None, 0
    for piece in pieces:
        if whole is None:
            whole = Scanned(piece.keys, [], [[] for _ in piece.keys], {}, {}, 0)
        whole.closed.extend(piece.closed)
        for column, more in zip(whole.columns, piece.columns):
            column += more
        whole.full.update(piece.full)
        whole.cases.update(piece.cases)
        last_row = max(last_row, piece.last_row)
    return whole._replace(last_row=last_row) if whole is not None else None


def joined(pieces) -> tuple[LightColumns, dict[int, dict], dict[int, bytes], int, Formulas]:
    """The pieces of a whole sheet as one: light columns, full rows, case rows, last row, and the
    sheet's shared formulas, their cells read as text."""
    pieces, formulas = list(pieces), Formulas()
    for piece in pieces:
        formulas.merge(piece.formulas)
    whole = merged(map(resolved, pieces, repeat(formulas)))
    if whole is None:
        return LightColumns([], [], []), {}, {}, 0, formulas
    return LightColumns(whole.keys, whole.closed, whole.columns), whole.full, whole.cases, whole.last_row, formulas


def _cell_values(refs, kinds, vs, texts, odd, strings: list[str]) -> list:
    """The values of the cells found (None for an empty one), as sheet_xml.fast_value gives them;
    inline text is decoded in one go."""
    decoded = sx.decode_texts(list(texts))
    value, number = sx.fast_value, sx.number_value
    return [None if not (v or t or o) else (t or None) if k == INLINE else strings[int(v)] if k == SHARED and v
            else number(v) if not k and v and not o  # a plain number (a time): the commonest after texts
            else value(k, v, b"", strings) if not o else _odd_cell(ref, o, strings)
            for k, v, t, o, ref in zip(kinds, vs, decoded, odd, refs)]


def _odd_cell(ref: bytes, rest: bytes, strings: list[str]):
    m = sx.CELL_RE.match(b'<c r="' + ref + b'"' + rest)
    return sx.cell_value(m.group(1), m.group(2), strings) if m else None


class Keyed(NamedTuple):
    """The register's keys and their column numbers, in column order; the time columns among them."""
    keys: tuple[str, ...]
    columns: tuple[int, ...]
    times: tuple[str, ...]

    @classmethod
    def of(cls, columns: dict[str, int]) -> "Keyed":
        pairs = sorted(columns.items(), key=lambda kv: kv[1])
        keys = tuple(k for k, _ in pairs)
        return cls(keys, tuple(c for _, c in pairs), tuple(k for k in keys if k in DATETIME_KEYS))


def typed_row(cells: dict[int, object], keyed: Keyed) -> dict:
    """A row's cells (column -> value as stored) as values by key, times in time columns as datetime."""
    values = dict(zip(keyed.keys, map(cells.get, keyed.columns)))
    for key in keyed.times:
        value = values.get(key)
        if (type(value) is float or type(value) is int) and 1 <= value < 2958466:
            values[key] = serial_datetime(value)
    return values


def piece_rows(buf: bytes, strings: list[str], keyed: Keyed, only: set[int] | None = None,
               formulas: Formulas | None = None):
    """(row, values) of every row in a piece of sheet XML (or of the rows `only` names), in full
    (the header row left out). `formulas`: the sheet's shared formulas learnt from the pieces
    before this one (it learns this one's); without it, only this piece's are known."""
    formulas = formulas if formulas is not None else Formulas()
    if formulas.learn(buf):
        for r, values in _piece_rows(buf, strings, keyed, only):
            yield r, formulas.cells(values)
    else:
        yield from _piece_rows(buf, strings, keyed, only)


def _piece_rows(buf: bytes, strings: list[str], keyed: Keyed, only: set[int] | None):
    if only is not None:  # found one by one: far fewer than the rows of the piece
        at = 0
        for r in sorted(only - {1}):
            start = buf.find(b'<row r="%d"' % r, at)
            if start < 0:  # rows out of order (not as Excel writes them)
                start = buf.find(b'<row r="%d"' % r)
            if start >= 0:
                at = start
                yield r, typed_row(sx.row_cells(row_body(buf, r, start), strings), keyed)
        return
    for m in ROW_NUM.finditer(buf):
        r = int(m.group(1))
        if r != 1:
            yield r, typed_row(sx.row_cells(row_body(buf, r, m.start()), strings), keyed)


class Later(NamedTuple):
    """A row an export converts once the shared formulas of earlier pieces are known."""
    values: dict


def converted_piece(buf: bytes, strings: list[str], keyed: Keyed, convert) -> tuple[dict, list]:
    """The shared-formula masters in a piece and convert(values) of every row in it that holds a
    value (what an export writes of it); a row holding a shared formula whose master lies in an
    earlier piece is left as Later(values), for `finish_converted`."""
    formulas = Formulas(final=False)
    rows = (values for _, values in _piece_rows(buf, strings, keyed, None) if holds_value(values))
    if not formulas.learn(buf):
        return {}, [convert(values) for values in rows]
    return formulas.masters, [Later(values) if formulas.pending(formulas.cells(values).values()) else convert(values)
                              for values in rows]


def finish_converted(pieces, convert):
    """The converted rows of converted_piece's results (in sheet order), the Later ones converted
    with the masters of the pieces before them."""
    formulas = Formulas()
    for masters, rows in pieces:
        formulas.merge(masters)
        for row in rows:
            yield convert(formulas.cells(row.values)) if type(row) is Later else row


def holds_value(values: dict) -> bool:
    """A row that is not empty: a full read and an export leave empty rows out."""
    return any(v not in (None, "") for v in values.values())
