"""Adapter — the row index beside a large register, so a command need not re-read it all.

After the fast store has read or written a register it keeps, in
`.cache/<register name>.index`, what a full read of the register sheet gave:
every row's values as the scan returned them (light values for closed complaints,
all cells for the rest) and, when the sheet was written by us, where each
compressed segment lies. The index is keyed by the register sheet's and the
shared strings' CRC-32 and sizes from the zip directory: any other change of the
sheet (Excel saving it, a restored backup, an edit by hand) makes it stale and it
is ignored — the next command reads the file in full and writes a new one. It is
a cache: losing it, or a broken one, costs time, never data.

Format: MAGIC, a body of `marshal` pieces holding plain values in lists and dicts
(cells of full rows, FULL_PIECE rows a piece; light rows as one piece per column; marshalled cells of
closed rows marked for the case library; the sheet's shared-formula masters), then a JSON head
(fingerprint, segments, piece sizes, how many hold full rows, CRC-32 of the body) and its length.
Loading it builds values and runs nothing; it is written piece by piece without fsync (full rows
given by `more_full` as they are read back, never all held), and the CRC rejects a torn file.
"""
from __future__ import annotations

import contextlib
import gc
import json
import marshal
import zipfile
import zlib
from itertools import chain, compress, repeat
from pathlib import Path
from typing import Callable, Iterable

from ... import __version__
from ...errors import ComplaintDeskError
from ..xlsxstream.deflate_segments import FINAL_BLOCK, Segment

FORMAT = 8
FULL_PIECE = 4096  # full rows per marshalled piece: the body is never one buffer of them all


def index_path(register: Path) -> Path:
    return Path(register).parent / ".cache" / f"{Path(register).name}.index"


def fingerprint(zf: zipfile.ZipFile, part: str) -> list:
    """What identifies the register sheet's content: CRC and sizes of it and of the shared strings."""
    out: list = [FORMAT, __version__, part]
    for name in (part, "xl/sharedStrings.xml"):
        try:
            info = zf.getinfo(name)
        except KeyError:
            out.append(None)
            continue
        out.append([info.CRC, info.file_size, info.compress_size, info.compress_type])
    return out


class LightColumns:
    """Light rows (closed complaints) as columns: row numbers and one list per key. Most commands
    only look at a few columns of the closed rows, so their dicts are built only when asked."""

    def __init__(self, keys: list[str], rows: list[int], columns: list[list]):
        if not isinstance(keys, list) or len(columns) != len(keys) or any(len(c) != len(rows) for c in columns):
            raise ValueError("index columns are damaged")
        self.keys, self.rows, self.columns = keys, rows, columns

    @classmethod
    def of(cls, light: dict[int, dict]) -> "LightColumns":
        keys = sorted({k for values in light.values() for k in values if k != "_light"})
        return cls(keys, list(light), [[values.get(k) for values in light.values()] for k in keys])

    def column(self, key: str) -> list:
        at = self.keys.index(key) if key in self.keys else None
        return self.columns[at] if at is not None else [None] * len(self.rows)

    def dicts(self) -> dict[int, dict]:
        """row -> light values, "_light" set (what a scan of the sheet gives for a closed row)."""
        marked = (*self.keys, "_light")
        with gc_paused():
            return dict(zip(self.rows, map(dict, map(zip, repeat(marked),
                                                     zip(*self.columns, repeat(True, len(self.rows)))))))

    def take(self, rows) -> tuple[dict[int, dict], "LightColumns"]:
        """The dicts of these rows (those held here), and the columns without them."""
        at = {r: i for i, r in enumerate(self.rows)}
        taken = [r for r in rows if r in at]
        if not taken:
            return {}, self
        marked = (*self.keys, "_light")
        dicts = {r: dict(zip(marked, [column[at[r]] for column in self.columns] + [True])) for r in taken}
        keep = [r not in dicts for r in self.rows]
        return dicts, LightColumns(self.keys, list(compress(self.rows, keep)),
                                   [list(compress(column, keep)) for column in self.columns])

    def extended(self, light: dict[int, dict]) -> "LightColumns":
        """These rows and more (given as dicts, rows not already here)."""
        if not light:
            return self
        more = LightColumns.of(light)
        keys = sorted(set(self.keys) | set(more.keys))
        return LightColumns(keys, self.rows + more.rows, [self.column(k) + more.column(k) for k in keys])


class RowIndex:
    """Rows of a register sheet as a full read gives them, and the sheet's segments.

    `more_full`: further full rows, given a piece at a time while the index is saved (never all
    held); `light` may be a function, called once they are given (they may add light rows)."""

    def __init__(self, columns: dict[str, int], light: dict[int, dict] | LightColumns | Callable[[], LightColumns],
                 full: dict[int, dict], segments: list[Segment] | None, last_row: int,
                 cases: dict[int, bytes] | None = None, formulas: dict | None = None,
                 more_full: Iterable[dict[int, dict]] = ()):
        self.columns = columns          # key -> column index, as the header was mapped
        self._light = light
        self.full = full                # row -> its cells, column -> value as stored (rows read in full)
        self.more_full = more_full
        self.segments = segments        # None when the sheet is one ordinary deflate stream
        self.last_row = last_row
        self.cases = cases or {}        # light rows marked for the case library -> their cells, marshalled
        self.formulas = formulas or {}  # shared formulas: si -> master's text, column, row (shared_formulas)

    @property
    def light_columns(self) -> LightColumns:
        if not isinstance(self._light, LightColumns):
            self._light = self._light() if callable(self._light) else LightColumns.of(self._light)
        return self._light

    def renumbered(self, shift, segments: list[Segment] | None, last_row: int) -> "RowIndex | None":
        """This index after rows left the sheet (`shift.row(r)`: the row's new number, None when
        it left) and the sheet was written as `segments`. None when a kept row holds a formula the
        removal rewrote (`shift.formula` changes it): the sheet then reads otherwise; read it afresh.
        (A sheet with shared formulas is read afresh by the caller: `SheetRemoval.shared`.)"""
        def unchanged(values) -> bool:
            return all(shift.formula(v[1:]) == v[1:] for v in values if isinstance(v, str) and v[:1] == "=")

        light = self.light_columns
        keep = [shift.row(r) is not None for r in light.rows]
        columns = [list(compress(column, keep)) for column in light.columns]
        if not all(map(unchanged, columns)):
            return None
        moved = LightColumns(light.keys, [shift.row(r) for r in compress(light.rows, keep)], columns)
        full, cases = {}, {}
        for r, cells in self.full.items():
            if (new := shift.row(r)) is not None:
                if not unchanged(cells.values()):
                    return None
                full[new] = cells
        for r, cells in self.cases.items():
            if (new := shift.row(r)) is not None:
                if not unchanged(marshal.loads(cells).values()):
                    return None
                cases[new] = cells
        return RowIndex(self.columns, moved, full, segments, last_row, cases)

    def segments_valid(self, info: zipfile.ZipInfo) -> bool:
        if not self.segments or info.compress_type != zipfile.ZIP_DEFLATED:
            return False
        size = sum(s.size for s in self.segments) + len(FINAL_BLOCK)
        raw = sum(s.raw_size for s in self.segments)
        return size == info.compress_size and raw == info.file_size


MAGIC = b"complaintdesk-row-index\n"


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector while building many acyclic objects (rows of plain
    values): it would otherwise walk every object built so far again and again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _full_pieces(index: RowIndex):
    """The full rows' cells, FULL_PIECE rows a piece, then the pieces `more_full` gives."""
    rows = list(index.full)
    for start in range(0, len(rows), FULL_PIECE):
        yield {r: index.full[r] for r in rows[start:start + FULL_PIECE]}
    yield from (piece for piece in index.more_full if piece)


def _other_pieces(index: RowIndex):
    """After the full rows: light keys, light row numbers, one piece per light column, case rows,
    formulas (so the whole body is never one buffer)."""
    light = index.light_columns
    yield light.keys
    yield light.rows
    yield from light.columns
    yield index.cases
    yield index.formulas


def _check_cells(rows: dict) -> dict[int, dict]:
    """Rows of cells (row -> column -> value) as loaded (the body's CRC was checked before)."""
    if not isinstance(rows, dict) or not all(map(isinstance, rows.values(), repeat(dict))):
        raise ValueError("index rows are damaged")
    return rows


def load(register: Path, zf: zipfile.ZipFile, part: str, columns: dict[str, int]) -> RowIndex | None:
    """The index when it matches the register as it is now; None otherwise (never raises)."""
    path = index_path(register)
    try:
        if not path.exists():
            return None
        with open(path, "rb") as f:
            head = _head(f)
            if head is None or head.get("fingerprint") != fingerprint(zf, part) or head.get("columns") != columns:
                return None
            light, full, cases, formulas = _body(f, head["pieces"], head["crc"], head["full_pieces"])
        segments = [Segment(*s) for s in head["segments"]] if head.get("segments") else None
        if not isinstance(cases, dict) or not all(map(isinstance, cases.values(), repeat(bytes))):
            raise ValueError("index case rows are damaged")
        if not isinstance(formulas, dict):
            raise ValueError("index formulas are damaged")
        index = RowIndex(columns, light, full, segments, int(head["last_row"]), cases, formulas)
        if segments and not index.segments_valid(zf.getinfo(part)):
            index.segments = None
        return index
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, EOFError, UnicodeError):
        return None


def _head(f) -> dict | None:
    """The JSON head at the end of an index file (None when the file is no index)."""
    if f.read(len(MAGIC)) != MAGIC:
        return None
    end = f.seek(0, 2)
    f.seek(end - 8)
    size = int.from_bytes(f.read(8), "little")
    f.seek(end - 8 - size)
    head = json.loads(f.read(size).decode("utf-8"))
    if not isinstance(head, dict) or sum(head.get("pieces", [])) != end - 8 - size - len(MAGIC):
        return None  # cut short (a cache file is written without fsync)
    return head


def _body(f, sizes: list[int], crc: int, full_pieces: int) -> tuple:
    """The index's marshalled pieces, read one at a time: full rows (`full_pieces` pieces), light
    columns, case rows, formula masters; the body's CRC checked before any piece is used."""
    f.seek(len(MAGIC))
    check = 0
    for n in sizes:
        check = zlib.crc32(f.read(n), check)
    if check != crc:
        raise ValueError("index body is damaged")
    f.seek(len(MAGIC))
    with gc_paused():  # millions of plain objects, no cycles: the cyclic collector has nothing to find
        pieces = [marshal.loads(f.read(n)) for n in sizes]
    full: dict = {}
    for piece in pieces[:full_pieces]:
        full.update(_check_cells(piece))
    light = pieces[full_pieces:-2]
    return LightColumns(light[0], light[1], light[2:]), full, pieces[-2], pieces[-1]


def save(register: Path, zf: zipfile.ZipFile, part: str, index: RowIndex) -> None:
    """Write the index for the register as `zf` holds it (best effort: a cache may fail to save)."""
    from ..files import atomic_write
    try:
        def write(tmp: Path) -> None:
            sizes, crc, full_pieces = [], 0, 0
            with open(tmp, "wb") as f:
                f.write(MAGIC)
                for piece in chain(_full_pieces(index), [None], _other_pieces(index)):
                    if piece is None:  # the full rows are written: the rest follows
                        full_pieces = len(sizes)
                        continue
                    blob = marshal.dumps(piece, 4)
                    sizes.append(len(blob))
                    crc = zlib.crc32(blob, crc)
                    f.write(blob)
                    del blob
                head = json.dumps({"fingerprint": fingerprint(zf, part), "columns": index.columns,
                                   "last_row": index.last_row, "crc": crc, "pieces": sizes,
                                   "full_pieces": full_pieces,
                                   "segments": [s.as_list() for s in index.segments] if index.segments else None},
                                  ensure_ascii=False).encode("utf-8")
                f.write(head + len(head).to_bytes(8, "little"))  # the head goes last: it knows the pieces
        atomic_write(index_path(register), write, durable=False)
    except (OSError, TypeError, ValueError, zlib.error, ComplaintDeskError):  # (rows read back: see RowIndex)
        drop(register)


def memo_path(register: Path) -> Path:
    return Path(register).parent / ".cache" / f"{Path(register).name}.derived"


def load_memo(register: Path, roles) -> dict:
    """What each derived tool sheet (of `roles`) was last built from: role -> [inputs key, sheet CRC,
    size]. Anything else in the file, or a file of another version, is ignored."""
    try:
        memo = json.loads(memo_path(register).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(memo, dict) or memo.get("version") != __version__:
        return {}
    return {role: entry for role, entry in memo.items() if role in roles and isinstance(entry, list) and entry}


def save_memo(register: Path, memo: dict) -> None:
    from ..files import atomic_write_bytes
    with contextlib.suppress(OSError):
        atomic_write_bytes(memo_path(register), json.dumps({**memo, "version": __version__}).encode("utf-8"))


def drop(register: Path) -> None:
    with contextlib.suppress(OSError):
        index_path(register).unlink()
