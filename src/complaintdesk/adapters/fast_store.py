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

import bisect
import hashlib
import marshal
import re
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

from ..domain import labels
from ..domain.model import RegisterRow
from ..domain.parsing import PHONE_SEPARATOR, normalise_phone
from ..domain.schema import BY_KEY, COLUMNS, SHEETS, TOOL_COLUMNS
from ..domain.settings import Settings, build_settings
from ..errors import ComplaintDeskError
from . import register_index
from .files import atomic_write, make_backup, refuse_if_open_in_excel
from .grid import overrides_from, raw_settings, roster_from, staff_from, tool_columns, tool_table
from .package_guard import checked_register
from .sheet_scan import (
    LIGHT_KEYS,
    ROW_NUM,
    Keyed,
    converted_piece,
    finish_converted,
    holds_value,
    joined,
    piece_rows,
    resolved,
    scan_chunk,
    scan_pieces,
    typed_row,
)
from .snapshot import Snapshot
from .store import (
    FILLABLE_PROCESS_KEYS,
    ClosedRows,
    StaffCellError,
    check_automation,
    check_rows_fit,
    map_headers,
    missing_sheet,
    row_is_closed,
    split_rows,
)
from .xlsxstream import sheet_xml as sx
from .xlsxstream import strings_cache, styles_xml
from .xlsxstream.deflate_segments import (
    CHUNK,
    Prefetch,
    SegmentStream,
    SegmentWriter,
    inflate_segment,
    member_data_offset,
    open_member,
)
from .xlsxstream.mention_scan import MentionSearch, Unsearchable
from .xlsxstream.package import sheet_parts
from .xlsxstream.parallel_scan import map_pieces, worth_a_worker
from .xlsxstream.pieces import feed_shadow, row_body, row_pieces
from .xlsxstream.row_removal_xml import SheetRemoval, related_parts, shifted_parts
from .xlsxstream.row_shift import RowShift
from .xlsxstream.shared_formulas import Formulas
from .xlsxstream.sheet_writer import copy_member, patch_segments, row_xml, stream_patch, table_rows_xml

EXPORT_WORKER_FROM = 32 << 20  # uncompressed sheet bytes from which an export takes a worker
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
DATETIME_NUMFMT = "yyyy-mm-dd hh:mm"


@dataclass
class SavePlan:
    """What a save writes besides the copied parts: tool sheets (part -> role and its plan), the
    Table whose range grows, the register sheet's changes, rows taken out."""
    tools: dict
    table_part: str | None
    formatting: bytes
    register_changes: bool
    removal: SheetRemoval | None = None


class FastStore:
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
        self.head, self.header_row = self._head()
        self.columns = map_headers(self.header_row.items(), self.lang)
        self.col_styles = self._col_styles()
        self._by_col = {c: k for k, c in self.columns.items()}
        self._settings: Settings | None = None
        self._small: dict[str, list[list]] = {}
        self._values: dict[int, dict] = {}
        self._last_row = 1
        self._patches: dict[int, dict[int, tuple[object, int | None]]] = {}
        self._appended: list[dict] = []
        self._removed: set[int] = set()  # rows taken out at the next save (archive)
        self._table_ops: dict[str, list] = {}
        self._extra_parts: dict[str, bytes] = {}
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
        self._written: dict[int, bytes] = {}  # rows written anew by the last save: their XML
        self._segments = None                 # segments of the register sheet the last save wrote
        self._data_start: int | None = None   # where the register sheet's compressed bytes start
        self._tail_bytes: bytes | None = None  # the sheet after its last row, seen by a full read
        self._dt_style: int | None = None
        self._shadow: SegmentStream | None = None  # the sheet as segments, made during a full read
        self._light_source: register_index.LightColumns | None = None  # light rows not yet in _values
        self._formulas = Formulas()           # the register sheet's shared formulas (masters) known
        self._memo: dict | None = None        # derived tool sheets: what they were built from
        self._memo_changed = False

    # ---- package structure -------------------------------------------------------------
    def _sheet_parts(self) -> dict[str, str]:
        return sheet_parts(self.zip)

    def _part(self, role: str, required: bool = False) -> str | None:
        for name in SHEETS[role]:
            if name in self.parts:
                return self.parts[name]
        if required:
            raise missing_sheet(role)
        return None

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

    def _col_styles(self) -> dict[int, int]:
        styles = {}
        for col in re.findall(rb"<col\b[^>]*>", self.head):
            a = {k.decode(): v.decode() for k, v in sx.ATTR_RE.findall(col)}
            if "style" in a:
                for c in range(int(a["min"]), int(a["max"]) + 1):
                    styles[c] = int(a["style"])
        return styles

    # ---- reading -----------------------------------------------------------------------
    def _stream_rows(self, part: str):
        """(row number, row body bytes) for every row of a sheet part, streamed."""
        with self.zip.open(part) as f:
            for buf in self._pieces(f, keep_tail=False):
                for m in sx.ROW_RE.finditer(buf):
                    yield int(m.group(1)), m.group(2) or b""

    def rows(self, full: bool | Callable[[dict], bool] | None = None) -> list[RegisterRow]:
        """Rows with values by key. Closed rows are light unless `full` says otherwise.

        `full`: None — every row not closed in full; True — every row in full; a predicate over
        a closed row's light values — also those closed rows in full. One dict per row is kept
        and shared by every call, so writes are visible to later reads."""
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
                for col, (value, _) in self._patches.get(r, {}).items():
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
        if self._light_source is not None:  # only these light rows become dicts
            taken, self._light_source = self._light_source.take(wanted)
            for r, values in taken.items():
                self._values.setdefault(r, values)
        light = {r for r in wanted if self._values.get(r, {}).get("_light")}
        if light:
            self._materialize(light)
        return [RegisterRow(r, self._values[r]) for r in sorted(wanted)
                if r in self._values and self._shown(r, self._values[r])]

    def _light_dicts(self) -> None:
        """Put the light rows still held as the index's columns into the rows' dicts."""
        source, self._light_source = self._light_source, None
        if source is not None:
            for r, values in source.dicts().items():
                self._values.setdefault(r, values)

    def _chunks(self, shadow: SegmentStream | None = None):
        """The register sheet XML in pieces that end on a </row> boundary.

        With `shadow`, the pieces are also compressed into it as segments (in the background)
        so that a save after this full read re-encodes only the segments it changes."""
        with open_member(self.data, self.zip, self.register_part) as raw:
            f = Prefetch(raw, CHUNK)
            try:
                for piece in self._pieces(f):
                    if shadow is not None:
                        shadow = feed_shadow(shadow, piece)
                    yield piece
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

    def _load_index(self) -> register_index.RowIndex | None:
        if not self._index_loaded:
            self._index_loaded = True
            self._index = register_index.load(self.path, self.zip, self.register_part, self.columns)
        return self._index

    def _read_light(self) -> None:
        """Every row once: from the row index when it matches the file, else one pass over the
        sheet (C-level scan of the light cells, full parse of rows not closed).

        Light values stay as stored (a received time is its Excel serial number); every reader
        of register values parses times with parse_datetime, which takes serials."""
        index = self._load_index()
        if self._read_done:
            return
        if index is not None:
            light, full, cases, last_row = index.light_columns, index.full, index.cases, index.last_row
            self._formulas = Formulas(index.formulas)
        else:
            spec = self._spec()
            self._close_shadow()
            shadow = SegmentStream(tempfile.TemporaryFile(prefix="complaintdesk-"))
            parallel = worth_a_worker(self.zip.getinfo(self.register_part).file_size)
            with register_index.gc_paused():
                light, full, cases, last_row, self._formulas = joined(scan_pieces(self._chunks(shadow), spec, parallel))
            self._cold = True
        self._case_rows = cases
        self._last_row = max(self._last_row, last_row)
        keyed = self._keyed
        if not self._values and not self._patches:  # nothing read or written before: take them as they are
            self._light_source = light  # made into dicts when a caller needs them
            for r, cells in full.items():
                self._raw[r] = cells
                self._values[r] = typed_row(cells, keyed)
            self._read_done = True
            return
        for r, values in [*light.dicts().items(), *full.items()]:
            if not values.get("_light"):
                self._raw[r] = values
                values = typed_row(values, keyed)
            known = self._values.get(r)
            if known is not None and not known.get("_light"):
                continue
            if known is None and r not in self._patches:
                self._values[r] = values
            else:
                self._keep(r, values)
        self._read_done = True

    def _materialize(self, rows: set[int] | None) -> None:
        """Read rows in full (None: every row) into their shared dicts."""
        segments = self._index.segments if self._index is not None else None
        if rows is not None:
            cases = self._case_rows
            for r in [r for r in rows if r in cases]:
                known = self._values.get(r)
                if known is None or known.get("_light"):
                    self._keep(r, typed_row(marshal.loads(cases[r]), self._keyed))
            rows = {r for r in rows if r not in cases}
        if rows is None or not segments:
            for buf in self._chunks():
                self._take_full(buf, rows)
        elif rows:  # only the segments holding a wanted row
            wanted = sorted(rows)
            for seg in segments:
                at = bisect.bisect_left(wanted, seg.first_row)
                if seg.last_row and at < len(wanted) and wanted[at] <= seg.last_row:
                    self._take_full(inflate_segment(self._segment_bytes(seg)), rows)
        keyed = self._keyed
        for r, values in self._appended_rows():
            self._keep(r, {k: values.get(k) for k in keyed.keys})

    def _take_full(self, buf: bytes, rows: set[int] | None) -> None:
        keyed, formulas = self._keyed, self._formulas
        shared = formulas.learn(buf)  # pieces in sheet order, or segments of a sheet whose masters are known
        for m in ROW_NUM.finditer(buf):
            r = int(m.group(1))
            if r == 1 or (rows is not None and r not in rows):
                continue
            self._last_row = max(self._last_row, r)
            known = self._values.get(r)
            if known is not None and not known.get("_light"):
                continue
            cells = sx.row_cells(row_body(buf, r, m.start()), self.strings)
            self._keep(r, typed_row(formulas.cells(cells) if shared else cells, keyed))

    def _keep(self, r: int, values: dict) -> dict:
        """Overlay pending writes and keep one dict per row, shared by every read."""
        by_col = self._by_col
        for col, (value, _) in self._patches.get(r, {}).items():
            if col in by_col and (not values.get("_light") or by_col[col] in values):
                values[by_col[col]] = value
        known = self._values.get(r)
        if known is not None:
            if known.get("_light") and r not in self._pristine:
                self._pristine[r] = dict(known)
            known.clear()
            known.update(values)
            return known
        self._values[r] = values
        return values

    def _small_grid(self, role: str) -> list[list]:
        if role not in self._small:
            part = self._part(role)
            grid: list[list] = []
            if part is not None:
                formulas = Formulas()
                for r, body in self._stream_rows(part):
                    cells = sx.row_cells(body, self.strings)
                    if formulas.learn(body):
                        formulas.cells(cells)
                    while len(grid) < r:
                        grid.append([])
                    width = max(cells) if cells else 0
                    grid[r - 1] = [cells.get(c) for c in range(1, width + 1)]
            self._small[role] = grid
        return self._small[role]

    def table(self, role: str) -> list[dict]:
        return tool_table(self._small_grid(role), role)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = build_settings(raw_settings(self._small_grid("settings")),
                                            staff_from(self.table("staff")), roster_from(self.table("roster")))
        return self._settings

    def calendar_overrides(self) -> dict[date, str]:
        return overrides_from(self.table("calendar"))

    # ---- writing (recorded, applied by save) -------------------------------------------
    def _style_for(self, key: str) -> int | None:
        if BY_KEY[key].kind != "datetime":
            return None
        return self.col_styles.get(self.columns[key]) or self._datetime_style()

    def set_cells(self, row_id: int, values: dict[str, object]) -> None:
        check_automation(values)
        if row_id not in self._values:
            self._light_dicts()
        patch = self._patches.setdefault(row_id, {})
        for key, value in values.items():
            patch[self.columns[key]] = (value, self._style_for(key))
            if row_id in self._values:
                self._values[row_id][key] = value

    def fill_empty(self, row_id: int, key: str, value: object) -> bool:
        if key not in FILLABLE_PROCESS_KEYS:
            raise StaffCellError(key)
        if row_id not in self._values:
            self._light_dicts()
        current = self._values.get(row_id, {})
        if current.get("_light") or current.get(key) not in (None, ""):
            return False
        self._patches.setdefault(row_id, {})[self.columns[key]] = (value, self._style_for(key))
        current[key] = value
        return True

    def append_register(self, values: dict[str, object]) -> int:
        self._read_light()  # (the last row number)
        self._last_row += 1
        self._appended.append({k: v for k, v in values.items() if k in self.columns and v not in (None, "")})
        self._cache.clear()
        return self._last_row

    def remove_register(self, row_ids: list[int]) -> None:
        """Rows leave the register at the next save; every later row moves up (as in Excel)."""
        if self._patches or self._appended:
            self.save()  # rows are numbered as the file holds them
        self._read_light()  # (the last row of data)
        self._removed.update(r for r in row_ids if 2 <= r <= self._last_row)
        self._cache.clear()

    def append_table(self, role: str, rows: list[dict]) -> None:
        self._table_ops.setdefault(role, []).append(("append", rows))

    def replace_table(self, role: str, rows: list[dict]) -> None:
        self._table_ops[role] = [("replace", rows)]

    def ensure_formatting(self) -> bool:
        breached = labels.label(labels.CLOCK_STATE, "breached", self.lang).encode("utf-8")
        tail = self._tail()
        if b"conditionalFormatting" in tail and (breached in tail or _ncr(breached) in tail):
            return False
        self._add_formatting = True
        return True

    def _tail(self) -> bytes:
        if self._tail_bytes is not None and b"</sheetData>" in self._tail_bytes:
            return self._tail_bytes  # seen by the full read of this file
        index = self._load_index()
        if index is not None and index.segments:  # the sheet's tail is all in its last segment
            return inflate_segment(self._segment_bytes(index.segments[-1]))
        info = self.zip.getinfo(self.register_part)
        with self.zip.open(info) as f:
            if info.file_size > (1 << 20):
                f.seek(info.file_size - (1 << 20))
            return f.read()

    # ---- styles ------------------------------------------------------------------------
    def _styles_xml(self) -> str:
        if "xl/styles.xml" not in self._extra_parts:
            self._extra_parts["xl/styles.xml"] = self.zip.read("xl/styles.xml")
        return self._extra_parts["xl/styles.xml"].decode("utf-8")

    def _datetime_style(self) -> int:
        if self._dt_style is None:
            xml, self._dt_style = styles_xml.datetime_style(self._styles_xml(), DATETIME_NUMFMT)
            self._extra_parts["xl/styles.xml"] = xml.encode("utf-8")
        return self._dt_style

    def _dxf(self, rgb: str) -> int:
        xml, index = styles_xml.add_fill_dxf(self._styles_xml(), rgb)
        self._extra_parts["xl/styles.xml"] = xml.encode("utf-8")
        return index

    def _formatting_xml(self) -> bytes:
        from .workbook_builder import VALIDATED_ROWS
        letters = [sx.col_letter(self.columns[c.key]) for c in COLUMNS
                   if c.key.endswith("_status") and c.key != "status"]
        ref = " ".join(f"{x}2:{x}{VALIDATED_ROWS}" for x in letters)
        rules = []
        for priority, (state, rgb) in enumerate((("breached", "FFC7CE"), ("at_risk", "FFEB9C")), 1):
            text = sx.escape(labels.label(labels.CLOCK_STATE, state, self.lang))
            rules.append(f'<cfRule type="cellIs" dxfId="{self._dxf(rgb)}" priority="{priority}" operator="equal">'
                         f'<formula>"{text}"</formula></cfRule>')
        return f'<conditionalFormatting sqref="{ref}">{"".join(rules)}</conditionalFormatting>'.encode("utf-8")

    # ---- saving ------------------------------------------------------------------------
    def _register_xml(self, out: SegmentWriter, info: zipfile.ZipInfo, formatting: bytes) -> None:
        first_new = self._last_row - len(self._appended) + 1
        for r, values in self._appended_rows():
            cells = {self.columns[k]: (v, self._style_for(k)) for k, v in values.items()}
            cells.update(self._patches.get(r, {}))
            self._written[r] = row_xml(r, cells)
        appended = b"".join(self._written[r] for r in range(first_new, self._last_row + 1))
        patches = {r: p for r, p in self._patches.items() if r < first_new}
        last_col = max(self.columns.values())
        index = self._load_index()
        if index is not None and index.segments:
            patch_segments(self._segment_bytes, index.segments, out, self.register_part, patches, appended,
                           self._last_row, last_col, formatting, self._written)
        elif self._shadow is not None and self._shadow.raw_size == info.file_size:
            patch_segments(self._shadow.read, self._shadow.segments, out, self.register_part, patches,
                           appended, self._last_row, last_col, formatting, self._written)
        else:
            stream_patch(self.zip, self.register_part, out, patches, appended, self._last_row, last_col,
                         formatting, written=self._written)

    def _tool_extent(self, role: str) -> tuple[list, int]:
        """A tool sheet's header and its last row holding a value — without reading the rows
        in between when the sheet was not read (the audit sheet grows with every change)."""
        if role in self._small:
            grid = self._small[role]
            last = max((i + 1 for i, line in enumerate(grid) if any(v not in (None, "") for v in line)), default=0)
            return (grid[0] if grid else []), last
        header: list = []
        last = 0
        with self.zip.open(self._part(role)) as f:
            for buf in self._pieces(f, keep_tail=False):
                if not header:
                    m = sx.ROW_RE.search(buf)
                    if m and m.group(1) == b"1":
                        cells = sx.row_cells(m.group(2) or b"", self.strings)
                        header = [cells.get(c) for c in range(1, max(cells, default=0) + 1)]
                # the last value in this piece belongs to the last row starting before it
                value = max(buf.rfind(b"<v>"), buf.rfind(b"<t>"), buf.rfind(b"<t "))
                start = buf.rfind(b'<row r="', 0, value) if value >= 0 else -1
                if start >= 0:
                    last = max(last, int(ROW_NUM.match(buf, start).group(1)))
        return header, last

    def _tool_plan(self, role: str) -> tuple[list, int, list[dict], bool]:
        """A tool sheet's header, the row after which rows are written, the rows, and whether
        the sheet's rows are replaced; refused when the sheet would outgrow Excel."""
        header, last = self._tool_extent(role)
        ops = self._table_ops[role]
        replace = any(kind == "replace" for kind, _ in ops)
        last = 1 if replace else max(last, 1)
        rows = [row for _, batch in ops for row in batch]
        check_rows_fit(role, last + len(rows), self.row_notices)
        return header, last, rows, replace

    def _tool_xml(self, role: str, plan, out) -> None:
        part = self._part(role)
        header, last, rows, replace = plan
        header = header or [zh if self.lang == "zh" else en for _, zh, en in TOOL_COLUMNS[role]]
        cols = {k: i + 1 for k, i in tool_columns(header, role).items()}
        appended = table_rows_xml(last + 1, rows, cols, self._dt_style)
        stream_patch(self.zip, part, out, {}, appended, last + len(rows), len(header),
                     drop_from=2 if replace else None)

    def _table_part(self) -> str | None:
        return related_parts(self.zip, self.register_part).get("table")

    def save(self) -> None:
        """Write every change into the register at once (atomically, after a backup): the plan of
        what each part becomes, the package streamed part by part, then the row index."""
        if not (self._patches or self._appended or self._table_ops or self._add_formatting or self._removed):
            return
        if self.snapshot is not None:
            self.deferred = True
            return
        plan = self._save_plan()
        make_backup(self.path, self._backup_count())
        atomic_write(self.path, partial(self._write_package, plan))
        self._after_save(plan)

    def _backup_count(self) -> int:
        try:
            return int(self.settings().param("backup_count"))
        except (ComplaintDeskError, ValueError, TypeError):  # a broken 设置 does not stop a save
            return 5

    def _save_plan(self) -> SavePlan:
        missing = [role for role in self._table_ops if self._part(role) is None]
        if missing:
            raise ComplaintDeskError("登记表缺少工具工作表：" + "、".join(SHEETS[r][0] for r in missing))
        refuse_if_open_in_excel(self.path)
        check_rows_fit("register", self._last_row, self.row_notices)
        formatting = self._formatting_xml() if self._add_formatting else b""
        plan = SavePlan(tools={self._part(role): (role, self._tool_plan(role)) for role in self._table_ops},
                        table_part=self._table_part() if self._appended else None, formatting=formatting,
                        register_changes=bool(self._patches or self._appended or formatting or self._removed))
        if any(isinstance(v, date) for ops in self._table_ops.values() for _, rows in ops for row in rows
               for v in row.values()):
            self._datetime_style()  # before writing: styles.xml may come before the sheets in the package
        self._written.clear()
        if self._removed:
            name = next(n for n, part in self.parts.items() if part == self.register_part)
            plan.removal = SheetRemoval(RowShift(self._removed, self._last_row, name))
            self._extra_parts.update(shifted_parts(self.zip, self.register_part, plan.removal.shift))
        return plan

    def _write_package(self, plan: SavePlan, tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
            for info in self.zip.infolist():
                self._write_part(plan, info, dst)

    def _write_part(self, plan: SavePlan, info: zipfile.ZipInfo, dst: zipfile.ZipFile) -> None:
        """One part of the new package: the register sheet rewritten (rows taken out, or patched and
        appended) in segments, a tool sheet rewritten, the Table's range, a part moved with the
        rows; every other part copied compressed as it is."""
        name = info.filename
        target = zipfile.ZipInfo(name, date_time=info.date_time)
        target.compress_type = zipfile.ZIP_DEFLATED
        target._compresslevel = 1  # type: ignore[attr-defined]  # speed over size for the parts we rewrite
        if name == self.register_part and (plan.removal is not None or plan.register_changes):
            out = SegmentWriter(dst, name, info.date_time)
            if plan.removal is not None:
                stream_patch(self.zip, name, out, {}, b"", self._last_row - len(self._removed),
                             max(self.columns.values()), removal=plan.removal)
            else:
                self._register_xml(out, info, plan.formatting)
            out.close()
            self._segments = out.segments
        elif name in plan.tools:
            with dst.open(target, "w", force_zip64=True) as out:
                self._tool_xml(*plan.tools[name], out)
        elif name == plan.table_part:
            xml = self.zip.read(name).decode("utf-8")
            xml = re.sub(r'(\bref="[A-Z]+\d+:[A-Z]+)\d+"', rf'\g<1>{self._last_row}"', xml)
            dst.writestr(target, xml.encode("utf-8"))
        elif name in self._extra_parts:
            dst.writestr(target, self._extra_parts[name])
        else:
            copy_member(self.zip, info, dst)

    def _after_save(self, plan: SavePlan) -> None:
        """Read the new file from now on, and keep its row index (renumbered after rows went out)."""
        if plan.removal is None:
            index = self._next_index(plan.register_changes)
            self._reopen()
            self._save_index(index)
            return
        index = self._next_index(True)  # every later row has a new number: the index follows them
        index = index and not plan.removal.shared and \
            index.renumbered(plan.removal.shift, self._segments, self._last_row - len(self._removed))
        self._forget_rows()
        self._reopen()
        if index:
            register_index.save(self.path, self.zip, self.register_part, index)
        else:
            register_index.drop(self.path)

    def _forget_rows(self) -> None:
        self._removed.clear()
        self._values.clear()
        self._raw.clear()
        self._case_rows = {}
        self._pristine.clear()
        self._written.clear()
        self._light_source = self._index = self._segments = None
        self._index_loaded, self._cold = True, False
        self._formulas = Formulas()
        self._last_row = 1

    def _reopen(self) -> None:
        """After a save: read from the new file; what was written is now in it."""
        self._close_shadow()
        self.zip.close()
        self.zip = zipfile.ZipFile(self.path)
        self.names = set(self.zip.namelist())
        for role in self._table_ops:
            self._small.pop(role, None)
        self._patches.clear()
        self._appended.clear()
        self._table_ops.clear()
        self._extra_parts.clear()
        self._add_formatting = False
        self._dt_style = self._data_start = self._tail_bytes = None  # they described the old file
        self._cache.clear()
        self._read_done = False  # the next read merges the new file's index into the rows kept
        self._light_source = None  # ... which holds these light rows too

    # ---- the row index ------------------------------------------------------------------
    def _next_index(self, register_changed: bool) -> register_index.RowIndex | None:
        """The index of the register sheet as the file now holds it; None to leave it as it is.

        Rows written anew are indexed from the XML just written (scanned like a read would);
        every other row from what was read, so the index always equals a fresh full read."""
        if not register_changed and (self._index is not None or not self._cold):
            return None  # the sheet was copied unchanged: its index (if any) still matches
        if not self._read_done:
            register_index.drop(self.path)
            return None
        scanned = scan_chunk(b"".join(self._written[r] for r in sorted(self._written)), self._spec()) \
            if self._written else None
        if scanned is not None:  # their shared formulas' masters may lie anywhere: the read learnt them all
            scanned = resolved(scanned, self._formulas)
        fresh = scanned.rows() if scanned else set()
        if self._light_source is not None and not fresh.isdisjoint(self._light_source.rows):
            self._light_dicts()
        cases = {r: c for r, c in self._case_rows.items() if r not in fresh}
        light, full = {}, {}
        for r, values in self._values.items():
            if r in fresh:
                continue
            values = self._pristine.get(r, values)
            if values.get("_light"):
                light[r] = values
            elif r in self._raw:
                full[r] = self._raw[r]
            else:  # a row read some other way: do not guess, let the next command scan
                register_index.drop(self.path)
                return None
        if scanned:
            light.update(scanned.light_dicts())
            full.update(scanned.full)
            cases.update(scanned.cases)
        segments = self._segments if register_changed else None
        if self._light_source is not None:  # light rows never made into dicts: their columns, and the new ones
            light = self._light_source.extended(light)
        return register_index.RowIndex(dict(self.columns), light, full, segments, self._last_row, cases,
                                       self._formulas.masters)

    def _save_index(self, index: register_index.RowIndex | None) -> None:
        if index is None:
            return
        register_index.save(self.path, self.zip, self.register_part, index)
        self._index, self._index_loaded, self._cold = index, True, False
        self._raw = dict(index.full)
        self._case_rows = index.cases
        self._pristine.clear()
        self._written.clear()

    def _close_shadow(self) -> None:
        if self._shadow is not None:
            self._shadow.fp.close()
            self._shadow = None

    # ---- derived tool sheets -----------------------------------------------------------
    def rows_fingerprint(self, marked: Callable[[dict], bool], keys) -> str:
        """A digest of the values of `keys` in every row `marked` holds for (of all cells for the
        closed rows marked for the case library, which the store keeps): equal digests, equal rows."""
        self._read_light()
        digest = hashlib.sha1()
        cases = self._case_rows
        for r in sorted(cases):
            digest.update(b"%d:%s:%r;" % (r, cases[r], sorted(self._patches.get(r, {}).items())))
        for r, values in sorted(self._values.items()):
            if r not in cases and not values.get("_light") and marked(values):
                digest.update(b"%d:%r;" % (r, [values.get(k) for k in keys]))
        for r, values in self._appended_rows():
            if marked(values):
                digest.update(b"%d:%r;" % (r, [values.get(k) for k in keys]))
        return digest.hexdigest()

    def built_from(self, role: str) -> str | None:
        """The inputs key the tool sheet `role` was last written from, if the sheet is unchanged since."""
        entry = self._derived().get(role)
        part = self._part(role)
        if not entry or part is None or role in self._table_ops:
            return None
        info = self.zip.getinfo(part)
        return entry[0] if entry[1:] == [info.CRC, info.file_size] else None

    def remember_built(self, role: str, key: str) -> None:
        """Record that the tool sheet `role` is (or, after save, will be) what `key`'s inputs give."""
        self._derived()[role] = [key]
        self._memo_changed = True

    def _derived(self) -> dict:
        if self._memo is None:
            self._memo = register_index.load_memo(self.path, SHEETS)
        return self._memo

    def _save_memo(self) -> None:
        for role, entry in list(self._memo.items()):
            part = self._part(role)
            if part is None or role in self._table_ops:  # not saved after all: forget it
                self._memo.pop(role)
            elif len(entry) == 1:
                info = self.zip.getinfo(part)
                entry.extend([info.CRC, info.file_size])
        register_index.save_memo(self.path, self._memo)

    def close(self) -> None:
        """Release the file; after a full scan that changed nothing, keep the row index."""
        if self._cold and not (self._patches or self._appended) and self._index is None:
            self._save_index(self._next_index(False))
        if self._memo_changed:
            self._save_memo()
        self._close_shadow()
        self.zip.close()


def _ncr(text: bytes) -> bytes:
    return "".join(f"&#{ord(ch)};" for ch in text.decode("utf-8")).encode()
