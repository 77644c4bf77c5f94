"""Adapter — the streaming store's save: the styles it needs, one pass over the package (changed
segments of the register sheet re-encoded, tool sheets rewritten, every other part copied
compressed), atomic after a backup; then the row index of the new file."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ...domain.schema import HIDDEN_ROLES
from ...errors import ComplaintDeskError
from ..files import refuse_if_open_in_excel, save_register
from ..register_structure import rows_needed
from ..store import (
    check_rows_fit,
)
from ..xlsxstream import sheet_xml as sx
from ..xlsxstream.deflate_segments import (
    SegmentWriter,
    inflate_segment,
    member_data_offset,
)
from ..xlsxstream.print_setup import with_print_titles
from ..xlsxstream.row_removal_xml import SheetRemoval, related_parts, shifted_parts
from ..xlsxstream.row_shift import RowShift
from ..xlsxstream.shared_formulas import Formulas
from ..xlsxstream.sheet_writer import (
    NO_EDITS,
    SheetEnds,
    StyledPatches,
    copy_member,
    patch_segments,
    row_xml,
    stream_patch,
)
from . import register_index
from .new_sheets import WORKBOOK, added
from .sheet_scan import merged, resolved, scan_chunk
from .structure import dimension_stale, sheet_ends, table_xml
from .styles import STYLES_PART

DATETIME_NUMFMT = "yyyy-mm-dd hh:mm"
SCAN_BATCH = 2000  # written rows scanned at a time for the row index


@dataclass
class SavePlan:
    """What a save writes besides the copied parts: tool sheets (part -> role and its plan), the
    Table whose range or names change, the edits of the register sheet's head and tail, whether
    its rows change, rows taken out."""
    tools: dict
    table_part: str | None
    ends: SheetEnds
    register_changes: bool
    removal: SheetRemoval | None = None


class Saving:
    """The save, for FastStore (faststore/fast_store.py), whose state it uses."""

    # ---- saving ------------------------------------------------------------------------
    def _register_xml(self, out: SegmentWriter, info: zipfile.ZipInfo, ends: SheetEnds) -> None:
        first_new = self._last_row - len(self._appended) + 1
        styled = StyledPatches(self._patches, self._col_styles)
        appended = self._appended_xml(styled) if self._appended else b""  # made as written, never all held
        patches = StyledPatches({r: p for r, p in self._patches.items() if r < first_new}, self._col_styles)
        last_col = self.last_col
        index = self._load_index()
        if self._drop_from is not None:  # the empty rows after the data are left out: every segment is read
            stream_patch(self.zip, self.register_part, out, patches, appended, self._last_row, last_col,
                         ends, drop_from=self._drop_from, written=self._written)
        elif index is not None and index.segments:
            patch_segments(self._segment_bytes, index.segments, out, self.register_part, patches, appended,
                           self._last_row, last_col, ends, self._written)
        elif self._shadow is not None and self._shadow.raw_size == info.file_size:
            patch_segments(self._shadow.read, self._shadow.segments, out, self.register_part, patches,
                           appended, self._last_row, last_col, ends, self._written)
        else:
            stream_patch(self.zip, self.register_part, out, patches, appended, self._last_row, last_col,
                         ends, written=self._written)

    def _appended_xml(self, patches: StyledPatches):
        """Each appended row's XML, made as the writer takes it (and recorded as written)."""
        for r, values in self._appended_rows():
            cells = {self.columns[k]: (v, self._style_for(k)) for k, v in values.items()}
            if r in patches:
                cells.update(patches[r])
            xml = row_xml(r, cells)
            self._written[r] = xml
            yield xml

    def _table_part(self) -> str | None:
        return related_parts(self.zip, self.register_part).get("table")

    def save(self) -> None:
        """Write every change into the register at once (atomically, after a backup): the plan of
        what each part becomes, the package streamed part by part, then the row index."""
        if not (self._patches or self._appended or self.tools.ops or self._add_formatting or self._removed):
            return
        if self.snapshot is not None:
            self.deferred = True
            return
        plan = self._save_plan()
        save_register(self.path, partial(self._write_package, plan), self._backup_count())
        self._after_save(plan)

    def _backup_count(self) -> int:
        try:
            return int(self.settings().param("backup_count"))
        except (ComplaintDeskError, ValueError, TypeError):  # a broken 设置 does not stop a save
            return 5

    def _save_plan(self) -> SavePlan:
        refuse_if_open_in_excel(self.path)
        check_rows_fit("register", self._last_row, self.row_notices)
        removal, name = None, self.register_name()
        if self._removed:
            removal = SheetRemoval(RowShift(self._removed, self._last_row, name))
            self._extra_parts.update(shifted_parts(self.zip, self.register_part, removal.shift))
        missing = self.tools.missing()
        if missing:  # added at the end, as openpyxl's create_sheet adds them (after the names shifted)
            new = added(self.zip, missing, self.lang, HIDDEN_ROLES, self._extra_parts)
            self.parts.update(new.parts)
            self._extra_parts.update(new.replaced)
        repair, last = self.structure(), self._structure_rows()[1]
        if repair.print_setup and name is not None:  # 打印标题 live in workbook.xml
            book = self._extra_parts.get(WORKBOOK) or self.zip.read(WORKBOOK)
            self._extra_parts[WORKBOOK] = with_print_titles(book, name)
        formatting = self.styles.clock_formatting(self.columns, self.lang, rows_needed(last)[1]) \
            if self._add_formatting else b""
        ends = sheet_ends(repair, self.columns, last, formatting, self._removed or repair.validations
                          or repair.formatting or formatting, dimension_stale(self.head, self._last_row, self.last_col))
        table_changes = bool(self._appended or repair.table_part())
        plan = SavePlan(tools=self.tools.plans(), table_part=self._table_part() if table_changes else None,
                        ends=ends, register_changes=bool(self._patches or self._appended or self._removed
                                                         or ends != NO_EDITS), removal=removal)
        if self.tools.holds_dates():
            self.styles.datetime()  # before writing: styles.xml may come before the sheets in the package
        self._written.clear()
        return plan

    def _write_package(self, plan: SavePlan, tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
            for info in self.zip.infolist():
                self._write_part(plan, info, dst)
            for name in sorted(set(plan.tools) - self.names):  # sheets this save adds
                with dst.open(name, "w", force_zip64=True) as out:
                    self.tools.write(*plan.tools[name], out, self.styles.datetime_if_added)

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
                             self.last_col, plan.ends, removal=plan.removal)
            else:
                self._register_xml(out, info, plan.ends)
            out.close()
            self._segments = out.segments
        elif name in plan.tools:
            with dst.open(target, "w", force_zip64=True) as out:
                self.tools.write(*plan.tools[name], out, self.styles.datetime_if_added)
        elif name == plan.table_part:
            last = self._structure_rows()[1]
            dst.writestr(target, table_xml(self.zip.read(name), last, self.header_row, self.columns))
        elif name == STYLES_PART and self.styles.changed is not None:
            dst.writestr(target, self.styles.changed)
        elif name in self._extra_parts:
            dst.writestr(target, self._extra_parts[name])
        else:
            copy_member(self.zip, info, dst)

    def _after_save(self, plan: SavePlan) -> None:
        """Read the new file from now on, and keep its row index (renumbered after rows went out)."""
        self._patches.clear()  # written: the index is made from the written rows, before they are read again
        self._appended.clear()
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
        self._released = set()
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
        self.tools.attach(self.zip)
        self.styles.attach(self.zip)
        self._patches.clear()
        for r in self._released:  # written: read from the new file when asked for
            self._values.pop(r, None)
        self._released = set()
        self._appended.clear()
        self._drop_from = None
        self._extra_parts.clear()
        self._add_formatting = False
        self._data_start = self._tail_bytes = None  # they described the old file
        self._cache.clear()
        self._read_done = False  # the next read merges the new file's index into the rows kept
        self._light_source = None  # ... which holds these light rows too

    # ---- the row index ------------------------------------------------------------------
    def _next_index(self, register_changed: bool) -> register_index.RowIndex | None:
        """The index of the register sheet as the file now holds it; None to leave it as it is.

        Rows written anew are indexed from the XML just written (scanned like a read would) or,
        past WRITTEN_BUDGET, read back from the new file into the index file a segment at a time
        (never all held); every other row from what was read (or read back, when its cells were
        not kept), so the index always equals a fresh full read."""
        if not register_changed and (self._index is not None or not self._cold):
            return None  # the sheet was copied unchanged: its index (if any) still matches
        if not self._read_done:
            register_index.drop(self.path)
            return None
        streamed = not self._written.held
        scanned = None if streamed else self._scanned_written()
        fresh = self._written.rows() if streamed else scanned.rows() if scanned else set()
        if self._light_source is not None and not fresh.isdisjoint(self._light_source.rows):
            self._light_dicts()
        cases = {r: c for r, c in self._case_rows.items() if r not in fresh}
        light, full, unkept = self._kept_rows(fresh)
        if unkept and (self._removed or not (register_changed and self._segments)):
            register_index.drop(self.path)  # none to read them back from (by their numbers): the next
            return None                     # command scans the sheet
        if scanned:
            light.update(scanned.light_dicts())
            full.update(scanned.full)
            cases.update(scanned.cases)
        segments = self._segments if register_changed else None
        source = self._light_source  # light rows never made into dicts: their columns, and the new ones
        back = (fresh if streamed else set()) | unkept
        more = self._scanned_back(back, light, cases, self._spec()) if back else ()

        def light_columns() -> register_index.LightColumns:  # (once the rows read back were given)
            return source.extended(light) if source is not None else register_index.LightColumns.of(light)
        return register_index.RowIndex(dict(self.columns), light_columns, full, segments, self._last_row, cases,
                                       self._formulas.masters, more_full=more)

    def _scanned_written(self):
        """The rows this save wrote anew, scanned as a read would scan them (None: none written) —
        a batch of rows at a time, each row's XML let go once scanned."""
        if not self._written:
            return None
        spec = self._spec()  # (their formulas' masters may lie anywhere: self._formulas knows them)
        return merged([resolved(scan_chunk(buf, spec), self._formulas) for buf in self._written.blocks(SCAN_BATCH)])

    def _scanned_back(self, rows: set[int], light: dict, cases: dict, spec):
        """The full rows of these rows read back from the new file (see _read_back), a segment at a
        time, as a read would scan them; their light and case rows go into `light` and `cases`."""
        for buf in self._read_back(rows):
            piece = resolved(scan_chunk(buf, spec), self._formulas)
            light.update(piece.light_dicts())
            cases.update(piece.cases)
            yield piece.full

    def _read_back(self, rows: set[int]):
        """The XML of these rows as the new file holds them, a segment at a time (the rows a save
        wrote, when there were too many to keep their XML; rows read without keeping their cells)."""
        segments = self._segments or []
        with zipfile.ZipFile(self.path) as zf, open(self.path, "rb") as fp:
            start = member_data_offset(zf, zf.getinfo(self.register_part))
            for i, seg in enumerate(segments):
                if not seg.last_row or not any(r in rows for r in range(seg.first_row, seg.last_row + 1)):
                    continue
                fp.seek(start + seg.offset)
                xml = inflate_segment(fp.read(seg.size))
                if 0 < i < len(segments) - 1 and rows.issuperset(range(seg.first_row, seg.last_row + 1)):
                    yield xml  # rows only (the head and the tail are in the first and last segments), all wanted
                else:
                    yield b"".join(m.group(0) for m in sx.ROW_RE.finditer(xml) if int(m.group(1)) in rows)

    def _kept_rows(self, fresh: set[int]) -> tuple[dict, dict, set[int]]:
        """The rows not written anew, as the index keeps them: light values, or the cells of a
        row read in full; and the rows read in full without their cells (let go past
        rows.HELD_ROWS, or read in full later): those are read back from the new file."""
        light, full, unkept = {}, {}, set()
        for r, values in self._values.items():
            if r in fresh:
                continue
            values = self._pristine.get(r, values)
            if values.get("_light"):
                light[r] = values
            elif r in self._raw:
                full[r] = self._raw[r]
            else:
                unkept.add(r)
        return light, full, unkept

    def _save_index(self, index: register_index.RowIndex | None) -> None:
        if index is None:
            return
        register_index.save(self.path, self.zip, self.register_part, index)
        self._index, self._index_loaded, self._cold = index, True, False
        if index.more_full:  # the rows it gave are not held: a later read in this command loads the index
            self._index, self._index_loaded = None, False
        self._raw = dict(index.full)
        self._case_rows = index.cases
        self._pristine.clear()
        self._written.clear()

    def _close_shadow(self) -> None:
        if self._shadow is not None:
            self._shadow.fp.close()
            self._shadow = None
