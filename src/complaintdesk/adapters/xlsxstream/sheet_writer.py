"""xlsxstream — writing a worksheet part of a package by streaming, for the fast store.

`stream_patch` copies a sheet part row by row, replacing patched rows, dropping
rows from a given one, appending rows, and editing the sheet's head and tail (`SheetEnds`); rows
that do not change are copied by plain byte search, never parsed. `patch_segments`
does the same for a sheet we wrote in segments: untouched segments are copied
compressed, only the segments holding a changed row are inflated and re-encoded.
`copy_member` copies any other part compressed, byte for byte. Every row written
anew is recorded in `written` (`WrittenRows`) so the caller can index what it wrote.
"""
from __future__ import annotations

import bisect
import re
import zipfile
from datetime import date
from typing import Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence, Union

from ...errors import SchemaError
from . import sheet_xml as sx
from .deflate_segments import CHUNK, ROW_NUM, Prefetch, Segment, SegmentWriter, inflate_segment, member_data_offset

DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
_AFTER_CF = (b"<dataValidations", b"<hyperlinks", b"<printOptions", b"<pageMargins", b"<pageSetup",
             b"<headerFooter", b"<rowBreaks", b"<colBreaks", b"<drawing", b"<legacyDrawing", b"<tableParts",
             b"<extLst", b"</worksheet>")


class SheetEnds(NamedTuple):
    """Edits of a sheet's XML around its rows, applied when the sheet is written: `head` gets what
    comes before <sheetData> (its dimension already set), `tail` everything from </sheetData> on."""
    head: Callable[[bytes], bytes] | None = None
    tail: Callable[[bytes], bytes] | None = None

    def of_head(self, xml: bytes) -> bytes:
        return self.head(xml) if self.head else xml

    def of_tail(self, xml: bytes) -> bytes:
        return self.tail(xml) if self.tail else xml


NO_EDITS = SheetEnds()


def insert_formatting(rest: bytes, formatting: bytes) -> bytes:
    """Put a <conditionalFormatting> element where the schema wants it in the sheet's tail."""
    at = min((i for i in (rest.find(tag) for tag in _AFTER_CF) if i >= 0), default=len(rest))
    return rest[:at] + formatting + rest[at:]


def row_xml(r: int, cells: dict[int, tuple[object, int | None]]) -> bytes:
    body = "".join(sx.cell_xml(f"{sx.col_letter(c)}{r}", v, s) for c, (v, s) in sorted(cells.items()))
    return f'<row r="{r}">{body}</row>'.encode("utf-8")


def table_rows_xml(first: int, rows: list[dict], cols: dict[str, int], date_style: int | None) -> Iterator[bytes]:
    """Rows of a tool sheet (dicts by key) as <row> elements from row `first` on, made and given
    ROWS_PER_BLOCK rows at a time (never one buffer of them all); dates get `date_style`. Tens of thousands
    of audit rows are written at once and their short values repeat (the time, the source, column
    names): each distinct short value's cell XML after the reference is made once."""
    order = [(k, sx.col_letter(c)) for k, c in sorted(cols.items(), key=lambda kv: kv[1])]
    made: dict[tuple, str] = {}
    out: list[str] = []
    for r, row in enumerate(rows, first):
        cells = []
        for k, letter in order:
            v = row.get(k)
            if v is None or v == "":
                continue
            key = (v.__class__, v)
            rest = made.get(key)
            if rest is None:  # '<c r="X' + what follows the reference
                rest = sx.cell_xml("X", v, date_style if isinstance(v, date) else None)[7:]
                if len(rest) <= MADE_AT_MOST:  # a long text (a row's first fill) seldom repeats
                    made[key] = rest
            cells.append(f'<c r="{letter}{r}{rest}')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
        if len(out) == ROWS_PER_BLOCK:
            yield "".join(out).encode("utf-8")
            out = []
    if out:
        yield "".join(out).encode("utf-8")


ROWS_PER_BLOCK = 2000
MADE_AT_MOST = 200  # characters of a cell's XML kept for reuse
WRITTEN_BUDGET = 8 << 20  # bytes of written rows' XML kept for the caller


class StyledPatches(Mapping):
    """Patches kept as row -> column -> value (a first fill patches millions of cells), given to the
    writers as row -> column -> (value, style) with each column's style."""

    def __init__(self, patches: dict[int, dict[int, object]], styles: dict[int, int | None]):
        self._patches, self._styles = patches, styles

    def __getitem__(self, r: int) -> dict[int, tuple[object, int | None]]:
        styles = self._styles
        return {c: (v, styles.get(c)) for c, v in self._patches[r].items()}

    def __iter__(self) -> Iterator[int]:
        return iter(self._patches)

    def __len__(self) -> int:
        return len(self._patches)

    def __contains__(self, r: object) -> bool:  # (without building the row's cells, as Mapping's would)
        return r in self._patches


class WrittenRows:
    """The rows a save writes anew (row -> XML, as the writers record them), their XML kept up to
    WRITTEN_BUDGET bytes. Past it only the row numbers are kept (`held` is False) and the caller reads
    the rows back from the file written: a first fill of 200,000 rows would otherwise hold ~600 MB
    of XML until the save ends."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._xml: dict[int, bytes] = {}
        self._rows: set[int] = set()
        self._size = 0
        self.held = True

    def __setitem__(self, r: int, xml: bytes) -> None:
        if not self.held:
            self._rows.add(r)
            return
        self._xml[r] = xml
        self._size += len(xml)
        if self._size > WRITTEN_BUDGET:
            self._rows, self._xml, self.held = set(self._xml), {}, False

    def __len__(self) -> int:
        return len(self._xml) + len(self._rows)

    def rows(self) -> set[int]:
        return set(self._xml) if self.held else self._rows

    def blocks(self, size: int) -> Iterator[bytes]:
        """The XML held, `size` rows at a time in row order, each row let go once given."""
        rows = sorted(self._xml)
        for start in range(0, len(rows), size):
            yield b"".join([self._xml.pop(r) for r in rows[start:start + size]])
        self.clear()


def _dimension(last_row: int, last_col: int) -> bytes:
    return f'<dimension ref="A1:{sx.col_letter(last_col)}{max(last_row, 1)}"/>'.encode()


def write_rows(out, segment: bytes, pending: list[int], patches, written: WrittenRows | None = None) -> list[int]:
    """Write whole rows, replacing the pending patched ones that fall in this piece; return the rest."""
    last = segment.rfind(b'<row r="')
    last_r = int(ROW_NUM.match(segment, last).group(1)) if last >= 0 else 0
    pos = 0
    while pending and pending[0] <= last_r:
        r = pending.pop(0)
        at = segment.find(b'<row r="%d"' % r, pos)
        if at < 0:  # no such row element (an empty row): insert one before the next row
            nxt = next((m.start() for m in ROW_NUM.finditer(segment, pos) if int(m.group(1)) > r), len(segment))
            out.write(segment[pos:nxt])
            new = row_xml(r, patches[r])
            pos = nxt
        else:
            head_end = segment.find(b">", at)
            closed = segment[head_end - 1:head_end] == b"/"
            end = head_end + 1 if closed else segment.find(b"</row>", head_end) + 6
            body = b"" if closed else segment[head_end + 1:end - 6]
            out.write(segment[pos:at])
            new = segment[at:head_end].rstrip(b"/") + b">" + sx.patch_row(body, r, patches[r]) + b"</row>"
            pos = end
        out.write(new)
        if written is not None:
            written[r] = new
    out.write(segment[pos:])
    return pending


def _write_missing(out, rows: list[int], patches, written: WrittenRows | None) -> None:
    """Patched rows past the last row element (empty rows Excel did not write): new elements."""
    for r in rows:
        new = row_xml(r, patches[r])
        out.write(new)
        if written is not None:
            written[r] = new


def _cut(out) -> None:
    cut = getattr(out, "cut", None)
    if cut is not None:
        cut()


Appended = Union[bytes, Sequence[bytes]]  # rows added after the last one: their XML, whole or row by row


def write_appended(out, appended: Appended | Iterable[bytes]) -> None:
    """The appended rows' XML; given row by row, never joined into one more copy of them all."""
    for block in ([appended] if isinstance(appended, bytes) else appended):
        out.write(block)


def stream_patch(zf: zipfile.ZipFile, part: str, out, patches, appended: Appended | Iterable[bytes],
                 last_row: int, last_col: int,
                 ends: SheetEnds = NO_EDITS, drop_from: int | None = None, written: WrittenRows | None = None,
                 removal=None) -> None:
    """Copy a sheet part to `out`: patched rows replaced, rows >= drop_from dropped, rows appended;
    or, with a `removal` (row_removal_xml.SheetRemoval), its rows and its tail rewritten by it."""
    with zf.open(part) as raw:
        f = Prefetch(raw, CHUNK)
        try:
            _stream(f, part, out, patches, appended, last_row, last_col, ends, drop_from, written, removal)
        finally:
            f.close()


def _stream(f, part, out, patches, appended, last_row, last_col, ends: SheetEnds, drop_from, written,
            removal) -> None:
    """The head (dimension updated), the rows piece by piece, then the tail after what is appended."""
    pending = sorted(patches)
    buf = _stream_head(f, part, out, last_row, last_col, ends)
    while True:
        end = buf.find(b"</sheetData>")
        cut = end if end >= 0 else buf.rfind(b"</row>") + 6
        if end < 0 and cut < 6:
            chunk = f.read(CHUNK)
            if not chunk:
                raise SchemaError(f"{part} 缺少 </sheetData>，文件已损坏")
            buf += chunk
            continue
        segment, buf = buf[:cut], buf[cut:]
        if removal is not None:
            out.write(removal.rows(segment))
        else:
            if drop_from is not None:
                segment = b"".join(m.group(0) for m in sx.ROW_RE.finditer(segment) if int(m.group(1)) < drop_from)
            pending = write_rows(out, segment, pending, patches, written)
        if end >= 0:
            _write_missing(out, pending, patches, written)
            _cut(out)
            write_appended(out, appended)
            _stream_tail(f, out, buf, ends, removal)
            return
        buf += f.read(CHUNK)


def _stream_head(f, part, out, last_row: int, last_col: int, ends: SheetEnds) -> bytes:
    """Write the sheet up to and with its <sheetData> (the dimension set to the new extent); return
    what was read beyond it."""
    buf = b""
    while b"<sheetData" not in buf:
        chunk = f.read(CHUNK)
        if not chunk:
            raise SchemaError(f"{part} 缺少 <sheetData>，文件已损坏")
        buf += chunk
    start = buf.find(b"<sheetData")
    out.write(ends.of_head(DIMENSION.sub(_dimension(last_row, last_col), buf[:start])))
    buf = buf[start:]
    if buf.startswith(b"<sheetData/>"):
        buf = b"<sheetData></sheetData>" + buf[len(b"<sheetData/>"):]
    open_end = buf.find(b">") + 1
    out.write(buf[:open_end])
    _cut(out)
    return buf[open_end:]


def _stream_tail(f, out, buf: bytes, ends: SheetEnds, removal) -> None:
    """From </sheetData> on: rewritten by a removal (the tail names rows too: read it whole) and
    by the tail edit, or copied as it is."""
    if removal is None and ends.tail is None:
        out.write(buf)
        while chunk := f.read(CHUNK):
            out.write(chunk)
        return
    tail = buf + b"".join(iter(lambda: f.read(CHUNK), b""))
    out.write(ends.of_tail(removal.tail(tail) if removal is not None else tail))


def patch_segments(read: Callable[[Segment], bytes], segments: list[Segment], out: SegmentWriter, part: str,
                   patches, appended: Appended, last_row: int, last_col: int, ends: SheetEnds = NO_EDITS,
                   written: WrittenRows | None = None) -> None:
    """Like stream_patch for a sheet written in segments: only touched segments are re-encoded.

    The first segment holds the sheet head (its dimension is updated when rows are added),
    the last one `</sheetData>` and what follows (appended rows go there, the tail is edited)."""
    last_rows, end = [], 0
    for seg in segments:  # segments without rows (the head, maybe the tail) end where the previous one did
        end = max(end, seg.last_row)
        last_rows.append(end)
    owner: dict[int, list[int]] = {}
    for r in sorted(patches):
        i = bisect.bisect_left(last_rows, r)
        owner.setdefault(min(i, len(segments) - 1), []).append(r)
    touch_ends = bool(appended) or ends != NO_EDITS
    for i, seg in enumerate(segments):
        data = read(seg)
        head, tail = i == 0, i == len(segments) - 1
        if i not in owner and not (touch_ends and (head or tail)):
            out.copy(data, seg)
            continue
        xml = inflate_segment(data)
        if len(xml) != seg.raw_size:
            raise SchemaError(f"{part} 的分段数据不完整")
        rest = b""
        if head:
            xml = DIMENSION.sub(_dimension(last_row, last_col), xml)
            if ends.head is not None:
                at = xml.find(b"<sheetData")
                at = at if at >= 0 else len(xml)
                xml = ends.head(xml[:at]) + xml[at:]
        if tail:
            at = xml.find(b"</sheetData>")
            if at < 0:
                raise SchemaError(f"{part} 缺少 </sheetData>，文件已损坏")
            xml, rest = xml[:at], xml[at:]
        left = write_rows(out, xml, owner.get(i, []), patches, written)
        if tail:
            _write_missing(out, left, patches, written)
            out.cut()
            write_appended(out, appended)
            out.write(ends.of_tail(rest))
        out.cut()


def copy_member(src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are: no inflate, no deflate."""
    start = member_data_offset(src, info)
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = info.compress_type
    copy.CRC, copy.compress_size, copy.file_size = info.CRC, info.compress_size, info.file_size
    copy.external_attr, copy.create_system = info.external_attr, info.create_system
    copy.flag_bits = info.flag_bits & ~0x08  # sizes are known: no data descriptor
    copy.header_offset = dst.fp.tell()
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    dst.fp.write(copy.FileHeader(zip64))
    src.fp.seek(start)
    remaining = info.compress_size
    while remaining:
        block = src.fp.read(min(CHUNK, remaining))
        if not block:
            raise SchemaError(f"{info.filename} 的数据不完整")
        dst.fp.write(block)
        remaining -= len(block)
    dst.filelist.append(copy)
    dst.NameToInfo[copy.filename] = copy
    dst.start_dir = dst.fp.tell()
    dst._didModify = True
