"""Adapter — the fast register store for large files: streams the worksheet XML.

Reading: the register sheet is streamed row by row; closed complaints are
read *light* (only the cells numbering, repeat detection and the trend need),
every other row in full — so a 200,000-row register is not turned into
millions of Python objects. Small sheets (设置, 人员, …) are read whole.
Writing: only the changed automation cells are patched into their rows, rows
are appended before </sheetData>, tool sheets are appended to or rewritten;
every other part of the package (sharedStrings, styles, tables, validations,
conditional formats, comments, extensions) is copied unchanged. The save is
atomic with a backup, like the openpyxl store's. Same Protocol, same results.
"""
from __future__ import annotations

import zipfile
from datetime import date
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from ...domain.model import RegisterRow
from ...domain.parsing import PHONE_SEPARATOR, normalise_phone
from ...domain.schema import SHEETS, sheet_name
from ...domain.settings import Settings
from ..package_guard import READ_WHOLE, checked_register
from ..register_structure import Repair, plan
from ..snapshot import Snapshot
from ..store import (
    ClosedRows,
    map_headers,
    row_is_closed,
    split_rows,
)
from ..xlsxstream import sheet_xml as sx
from ..xlsxstream import strings_cache
from ..xlsxstream.deflate_segments import (
    CHUNK,
    Prefetch,
    SegmentStream,
    member_data_offset,
    open_member,
)
from ..xlsxstream.mention_scan import MentionSearch, Unsearchable
from ..xlsxstream.package import sheet_parts
from ..xlsxstream.parallel_scan import map_pieces, worth_a_worker
from ..xlsxstream.pieces import feed_shadow, row_pieces
from ..xlsxstream.print_setup import printed
from ..xlsxstream.shared_formulas import Formulas
from ..xlsxstream.sheet_checks import SheetCheck, check_sheets, checked_strings
from ..xlsxstream.sheet_writer import WrittenRows
from . import register_index
from .changes import RecordedChanges, RowPatch
from .new_sheets import WORKBOOK
from .rows import RowReads
from .saving import Saving
from .sheet_scan import (
    LIGHT_KEYS,
    Keyed,
    converted_piece,
    finish_converted,
    holds_value,
    piece_rows,
)
from .structure import shape_of
from .styles import SaveStyles
from .tool_sheets import ToolSheets, part_of

EXPORT_WORKER_FROM = 32 << 20  # uncompressed sheet bytes from which an export takes a worker


class FastStore(RowReads, RecordedChanges, Saving):
    def __init__(self, path: Path, source: str = "命令行", read_only_check: bool = False,
                 snapshot: Snapshot | None = None):
        self.path = Path(path)  # the register: its caches, archives and backups are found from it
        self.source = source
        self.snapshot = snapshot  # read from this copy; save() then keeps the changes in memory
        self.deferred = False     # a save was asked of a snapshot: the changes wait for the file
        self.data = snapshot.copy if snapshot else self.path  # the bytes read
        self.row_notices: dict[str, str] = {}
        self.warnings = checked_register(self.data, read_only_check or snapshot is not None)
        self.zip = zipfile.ZipFile(self.data)
        self.names = set(self.zip.namelist())
        self.parts = self._sheet_parts()
        self.lang = "en" if SHEETS["register"][1] in self.parts and SHEETS["register"][0] not in self.parts else "zh"
        self.register_part = self._part("register", required=True)
        self.strings = strings_cache.read(self.path, self.zip)
        check_sheets(self.zip, self.path.name, checked_strings(self.path.name, self.strings), largest=READ_WHOLE,
                     skip={n for n, part in self.parts.items() if part == self.register_part})
        self.head, self.header_row = self._head()
        self.columns = map_headers(self.header_row.items(), self.lang)
        self.last_col = max([*self.header_row, *self.columns.values(), 1])  # the sheet's last column used
        self.styles = SaveStyles(self.zip, self.head)
        self._by_col = {c: k for k, c in self.columns.items()}
        self.tools = ToolSheets(self.path, self.zip, self.parts, self.strings, self.lang, self.row_notices)
        self._values: dict[int, dict] = {}
        self._last_row = 1
        self._patches: dict[int, dict[int, object] | RowPatch] = {}  # row -> column -> value written at the next save
        self._col_styles: dict[int, int | None] = {}  # column -> the style of a value written into it
        self._appended: list[dict] = []
        self._removed: set[int] = set()  # rows taken out at the next save (archive)
        self._drop_from: int | None = None  # empty rows from here on are left out at the next save
        self._extra_parts: dict[str, bytes] = {}  # parts moved with rows taken out
        self._add_formatting = False
        self._cache: dict = {}
        self._keyed = Keyed.of(self.columns)
        self._index: register_index.RowIndex | None = None
        self._index_loaded = False
        self._read_done = False     # every row has been read (light or full)
        self._cold = False          # ... by scanning the sheet, not from the index
        self._raw: dict[int, dict] = {}       # rows read in full: cells as stored, by column
        self._case_rows: dict[int, bytes] = {}  # light rows marked for the case library: cells, marshalled
        self._pristine: dict[int, dict] = {}  # light rows as read, before being read in full
        self._released: set[int] = set()      # rows let go until read again (RowReads.release)
        self._written = WrittenRows()         # rows written anew by the last save (their XML, while small)
        self._segments = None                 # segments of the register sheet the last save wrote
        self._data_start: int | None = None   # where the register sheet's compressed bytes start
        self._tail_bytes: bytes | None = None  # the sheet after its last row, seen by a full read
        self._shadow: SegmentStream | None = None  # the sheet as segments, made during a full read
        self._light_source: register_index.LightColumns | None = None  # light rows not yet in _values
        self._formulas = Formulas()           # the register sheet's shared formulas (masters) known
        self._sheet_checked = False           # the register sheet passed xlsxstream.sheet_checks

    # ---- package structure -------------------------------------------------------------
    def _sheet_parts(self) -> dict[str, str]:
        return sheet_parts(self.zip)

    def _part(self, role: str, required: bool = False) -> str | None:
        return part_of(self.parts, role, required)

    def _head(self) -> tuple[bytes, dict[int, object]]:
        """The sheet XML before the first data row, and the header row's cells."""
        with self.zip.open(self.register_part) as f:
            buf = b""
            while True:
                chunk = f.read(1 << 20)
                buf += chunk
                m = sx.ROW_RE.search(buf)
                if m or not chunk:
                    break
        head = buf[:buf.find(b"<sheetData")] if b"<sheetData" in buf else buf
        return head, sx.row_cells(m.group(2), self.strings) if m and m.group(1) == b"1" else {}

    # ---- reading -----------------------------------------------------------------------
    def rows(self, full: bool | Callable[[dict], bool] | None = None) -> list[RegisterRow]:
        """Rows with values by key. Closed rows are light unless `full` says otherwise.

        `full`: None — every row not closed in full; True — every row in full; a predicate over
        a closed row's light values — also those closed rows in full. One dict per row is kept
        and shared by every call, so writes are visible to later reads."""
        self._bring_back()
        if full is True:
            if True not in self._cache:
                self._light_dicts()
                self._materialize(None)
                self._cache[True] = self._cache[None] = self._all_rows()
            return self._cache[True]
        if None not in self._cache:
            self._read_light()
            self._light_dicts()
            self._cache[None] = self._all_rows()
        if callable(full):
            wanted = {r for r, v in self._values.items() if v.get("_light") and full(v)}
            if wanted:
                self._materialize(wanted)
        return self._cache[None]

    def full_rows(self, search: MentionSearch | None = None):
        """Every row in full, streamed and not kept (for an export of the whole register): memory
        stays at one chunk of rows whatever the register's size. Pending writes are shown.
        With `search`, only the rows it finds (and those with pending writes)."""
        keyed, by_col, strings, formulas = self._keyed, self._by_col, self.strings, Formulas()
        for buf in self._chunks():
            only = None if search is None else search.rows_in(buf) | self._patches.keys()
            for r, values in piece_rows(buf, strings, keyed, only, formulas):
                for col, value in self._patches.get(r, {}).items():
                    if col in by_col:
                        values[by_col[col]] = value
                if r in self._patches or holds_value(values):
                    yield RegisterRow(r, values)
        for r, values in self._appended_rows():
            yield RegisterRow(r, {k: values.get(k) for k in keyed.keys})

    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]:
        """In full, every row whose cells of `keys` may hold one of `texts` (lower case, compared
        case-insensitively) or of `phones` (separators allowed between characters): a byte search
        picks the rows that can (see mention_scan) and only those are parsed — the caller compares."""
        letters = {sx.col_letter(self.columns[k]).encode() for k in keys if k in self.columns}
        search = MentionSearch.of(texts, phones, self.strings, letters, PHONE_SEPARATOR, normalise_phone)
        if search is not None:
            try:
                return list(self.full_rows(search))
            except Unsearchable:
                pass
        return self.rows(full=True)

    def converted_rows(self, convert: Callable[[dict], object]) -> Iterator:
        """convert(values) of every row in full, in row order (an export). With nothing pending on a
        sheet of EXPORT_WORKER_FROM bytes or more, a worker process parses and converts some of the
        pieces (`convert` must then be picklable: a module-level function or a partial of one)."""
        size = self.zip.getinfo(self.register_part).file_size
        if self._patches or self._appended or not worth_a_worker(size, EXPORT_WORKER_FROM):
            return (convert(row.values) for row in self.full_rows())
        work = partial(converted_piece, strings=self._portable_strings(), keyed=self._keyed, convert=convert)
        return finish_converted(map_pieces(self._chunks(), work, parallel=True), convert)

    def _all_rows(self) -> list[RegisterRow]:
        return [RegisterRow(r, v) for r, v in sorted(self._values.items()) if self._shown(r, v)]

    def _shown(self, r: int, v: dict) -> bool:
        """A row a read returns: closed (light), patched, or holding a value."""
        return bool(v.get("_light") and v.get("status")) or r in self._patches \
            or any(x not in (None, "") for k, x in v.items() if k != "_light")

    def split_rows(self, keys) -> tuple[list[RegisterRow], ClosedRows]:
        """Rows not closed, and the closed ones as columns — from the index's columns when the
        light rows were not needed as dicts so far (they are not built for this)."""
        self._read_light()
        self._bring_back()
        source = self._light_source
        if source is None:
            return split_rows(self.rows(), keys)
        open_rows, closed = [], []
        for r, v in sorted(self._values.items()):
            if self._shown(r, v):
                (closed if row_is_closed(v) else open_rows).append(RegisterRow(r, v))
        return open_rows, ClosedRows(source.rows + [row.row_id for row in closed],
                                     {k: source.column(k) + [row.values.get(k) for row in closed] for k in keys})

    def read_full(self, row_ids) -> list[RegisterRow]:
        """These rows with every cell, in row order (numbers that are no row are left out)."""
        self._read_light()
        wanted = set(row_ids)
        self._bring_back(wanted)
        if self._light_source is not None:  # only these light rows become dicts
            taken, self._light_source = self._light_source.take(wanted)
            for r, values in taken.items():
                self._values.setdefault(r, values)
        light = {r for r in wanted if self._values.get(r, {}).get("_light")}
        if light:
            self._materialize(light)
        return [RegisterRow(r, self._values[r]) for r in sorted(wanted)
                if r in self._values and self._shown(r, self._values[r])]

    def _chunks(self, shadow: SegmentStream | None = None):
        """The register sheet XML in pieces that end on a </row> boundary.

        With `shadow`, the pieces are also compressed into it as segments (in the background)
        so that a save after this full read re-encodes only the segments it changes."""
        check = None if self._sheet_checked else \
            SheetCheck(self.path.name, sheet_name("register", self.lang), len(self.strings))
        with open_member(self.data, self.zip, self.register_part) as raw:
            f = Prefetch(raw, CHUNK)
            try:
                for piece in self._pieces(f):
                    if check is not None:  # the first pass: the openpyxl store's verdict, as it goes
                        check.piece(piece)
                    if shadow is not None:
                        shadow = feed_shadow(shadow, piece)
                    yield piece
                self._sheet_checked = True
                if shadow is not None:
                    shadow.finish()
                    self._shadow = shadow
            finally:
                f.close()

    def _pieces(self, f, keep_tail: bool = True):
        def tail(buf: bytes) -> None:  # what follows the register's last row: </sheetData> and the rest
            self._tail_bytes = buf
        return row_pieces(f, tail if keep_tail else None, CHUNK)

    def _portable_strings(self) -> list[str]:
        """The shared strings as work for a worker process carries them (see strings_cache.Portable)."""
        return strings_cache.Portable(self.strings, self.path, self.zip, self.data) if self.strings else self.strings

    def _spec(self):
        letters = {sx.col_letter(c).encode(): k for k, c in self.columns.items() if k in LIGHT_KEYS}
        return self._portable_strings(), letters

    def _segment_bytes(self, seg) -> bytes:
        """A segment's compressed bytes in the register sheet as the file holds it now."""
        if self._data_start is None:
            self._data_start = member_data_offset(self.zip, self.zip.getinfo(self.register_part))
        self.zip.fp.seek(self._data_start + seg.offset)
        return self.zip.fp.read(seg.size)

    def _appended_rows(self):
        """(row, values) of the rows appended since the last save."""
        return zip(range(self._last_row - len(self._appended) + 1, self._last_row + 1), self._appended)

    def table(self, role: str) -> list[dict]:
        return self.tools.table(role)

    def settings(self) -> Settings:
        return self.tools.settings()

    def calendar_overrides(self) -> dict[date, str]:
        return self.tools.calendar_overrides()

    def structure(self) -> Repair:
        """What the next save repairs in the register's structure (see register_structure)."""
        data_rows, last = self._structure_rows()
        part = self._table_part()
        tail = self._tail()
        shape = shape_of(self.header_row, self.columns, data_rows, self.head, tail,
                         self.zip.read(part) if part else None, self._printed(tail))
        return plan(shape, last)

    def _printed(self, tail: bytes) -> bool | None:
        """Whether the register prints as `init` sets it up (None: its sheet is not named in workbook.xml)."""
        name = self.register_name()
        if name is None:
            return None
        return printed(self.head, tail, self.zip.read(WORKBOOK), name)

    def register_name(self) -> str | None:
        return next((n for n, part in self.parts.items() if part == self.register_part), None)

    def _structure_rows(self) -> tuple[int, int]:
        """(the last row holding a value as read, the last row the Table covers after the save)."""
        data = self._data_rows()
        return data, max(data, self._last_row if self._appended else data)

    def close(self) -> None:
        """Release the file; after a full scan that changed nothing, keep the row index."""
        if self._cold and not (self._patches or self._appended) and self._index is None:
            self._save_index(self._next_index(False))
        self.tools.close()
        self._close_shadow()
        self.zip.close()
