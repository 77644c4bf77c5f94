"""Adapter — the streaming store's reading of rows: from the row index when it matches the file,
else one scan of the sheet (on two cores when large); closed complaints light, the others in full,
kept for the command — or, past HELD_ROWS, let go once the caller is done with them and written
(read again from the file if asked for)."""
from __future__ import annotations

import bisect
import marshal
import tempfile

from ..xlsxstream import sheet_xml as sx
from ..xlsxstream.deflate_segments import (
    SegmentStream,
    inflate_segment,
)
from ..xlsxstream.parallel_scan import worth_a_worker
from ..xlsxstream.pieces import row_body
from ..xlsxstream.shared_formulas import Formulas
from . import register_index
from .sheet_scan import (
    ROW_NUM,
    joined,
    scan_pieces,
    typed_row,
)

HELD_ROWS = 50_000  # rows a store keeps whatever the caller says (~4 KB each when read in full)
RELEASED = "_released"  # the mark of a row let go: its dict holds nothing else until read again


class RowReads:
    """Reading rows, for FastStore (faststore/fast_store.py), whose state it uses."""

    def _light_dicts(self) -> None:
        """Put the light rows still held as the index's columns into the rows' dicts."""
        source, self._light_source = self._light_source, None
        if source is not None:
            for r, values in source.dicts().items():
                self._values.setdefault(r, values)

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
            # from the index, past HELD_ROWS, each row's cells go once typed (the index of the next
            # save reads those rows back); a scan keeps them (for the index it leaves at close)
            keep = index is None or len(full) <= HELD_ROWS
            for r, values in _typed_rows(full, keyed, self._raw if keep else None):
                self._values[r] = values
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

    def _data_rows(self) -> int:
        """The last row holding a value, as the file holds it (not rows appended since; empty rows
        a spreadsheet program saved after the data are not rows)."""
        self._read_light()
        first_appended = self._last_row - len(self._appended) + 1
        last = max(self._light_source.rows, default=1) if self._light_source is not None else 1
        for r in sorted(self._values, reverse=True):
            if r <= last:
                break
            if r < first_appended and (r in self._released or
                                       any(v not in (None, "") for k, v in self._values[r].items() if k[0] != "_")):
                return r
        return last

    def _materialize(self, rows: set[int] | None) -> None:
        """Read rows in full (None: every row) into their shared dicts."""
        segments = self._index.segments if self._index is not None else None
        if rows is not None:
            rows = self._from_case_rows(rows)
        if rows is None or not segments:
            for buf in self._chunks():
                self._take_full(buf, rows)
        elif rows:  # only the segments holding a wanted row
            for seg in _segments_holding(segments, sorted(rows)):
                self._take_full(inflate_segment(self._segment_bytes(seg)), rows)
        keyed = self._keyed
        for r, values in self._appended_rows():
            self._keep(r, {k: values.get(k) for k in keyed.keys})

    def _from_case_rows(self, rows: set[int]) -> set[int]:
        """Closed rows of the case library are kept whole (marshalled): read those from there;
        the rows still to read."""
        cases = self._case_rows
        for r in [r for r in rows if r in cases]:
            known = self._values.get(r)
            if known is None or known.get("_light"):
                self._keep(r, typed_row(marshal.loads(cases[r]), self._keyed))
        return {r for r in rows if r not in cases}

    def _take_full(self, buf: bytes, rows: set[int] | None) -> None:
        keyed, formulas = self._keyed, self._formulas
        shared = formulas.learn(buf)  # pieces in sheet order, or segments of a sheet whose masters are known
        for m in ROW_NUM.finditer(buf):
            r = int(m.group(1))
            if r == 1 or (rows is not None and r not in rows):
                continue
            self._last_row = max(self._last_row, r)
            known = self._values.get(r)
            if known is not None and not known.get("_light") and not known.get(RELEASED):
                continue
            cells = sx.row_cells(row_body(buf, r, m.start()), self.strings)
            self._keep(r, typed_row(formulas.cells(cells) if shared else cells, keyed))

    def release(self, row_ids) -> None:
        """The caller is done with these rows' values: when the store holds more than HELD_ROWS
        rows, each written row lets go of them (its dict emptied in place, only the cells written
        kept); the next read that needs it reads it again from the file. 200,000 new rows
        evaluated one by one would otherwise all be held at once."""
        if len(self._values) <= HELD_ROWS:
            return
        for r in row_ids:
            values, patch = self._values.get(r), self._patches.get(r)
            if values is None or patch is None or values.get("_light") or values.get(RELEASED):
                continue
            self._patches[r] = dict(patch.items())
            self._raw.pop(r, None)
            values.clear()
            values[RELEASED] = True
            self._released.add(r)
            self._cache.clear()  # (rows listed before hold emptied dicts)

    def _bring_back(self, rows: set[int] | None = None) -> None:
        """Read the rows let go (of `rows`, or all) again: from the file, their writes overlaid."""
        wanted = self._released if rows is None else self._released & rows
        if wanted:
            self._materialize(wanted)
            self._released = self._released - wanted

    def _keep(self, r: int, values: dict) -> dict:
        """Overlay pending writes and keep one dict per row, shared by every read."""
        by_col = self._by_col
        for col, value in self._patches.get(r, {}).items():
            if col in by_col and (not values.get("_light") or by_col[col] in values):
                values[by_col[col]] = value
        known = self._values.get(r)
        if known is not None:
            # a light row read in full: keep it as it was (the index keeps it light); a light row
            # merely read again (after a save) is as read now, stale cells it was given gone
            if known.get("_light") and not values.get("_light") and r not in self._pristine:
                self._pristine[r] = dict(known)
            known.clear()
            known.update(values)
            return known
        self._values[r] = values
        return values


def _typed_rows(full: dict[int, dict], keyed, raw: dict | None):
    """(row, values by key) of rows read in full (row -> cells as stored): their cells kept in
    `raw`, or (None) taken out of `full` as each row is typed."""
    for r in list(full):
        cells = full[r] if raw is not None else full.pop(r)
        if raw is not None:
            raw[r] = cells
        yield r, typed_row(cells, keyed)


def _segments_holding(segments, wanted: list[int]):
    """The segments (in order) that hold one of the `wanted` rows (sorted)."""
    for seg in segments:
        at = bisect.bisect_left(wanted, seg.first_row)
        if seg.last_row and at < len(wanted) and wanted[at] <= seg.last_row:
            yield seg
