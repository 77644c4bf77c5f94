"""xlsxstream — a worksheet's XML in pieces that end on a row boundary, and what is done with them
whole: the shadow copy compressed as the pieces go by, the body of one row, an Excel serial as a time."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterator

from ...errors import SchemaError
from . import sheet_xml as sx
from .deflate_segments import CHUNK, SegmentStream

MAX_ROW_BYTES = 64 << 20  # one row's XML at most (Excel's widest row of longest texts is ~1.6 GB
#                          in theory; registers' rows are a few KB)


def row_pieces(f, on_tail: Callable[[bytes], None] | None = None, chunk: int = CHUNK) -> Iterator[bytes]:
    """A sheet's XML (a file object) in pieces that end on a </row> boundary; the last piece is
    what follows the last row (</sheetData> and the rest), also given to `on_tail`."""
    carry = b""
    while True:
        data = f.read(chunk)
        buf = carry + data
        if not data:
            if on_tail is not None:
                on_tail(buf)
            yield buf
            return
        cut = buf.rfind(b"</row>")
        if cut < 0:
            if len(buf) > MAX_ROW_BYTES:  # no row is this long: a crafted or broken sheet
                raise SchemaError(f"工作表中有一行超过 {MAX_ROW_BYTES >> 20} MB（文件已损坏或被篡改），拒绝读取")
            carry = buf
            continue
        yield buf[:cut + 6]
        carry = buf[cut + 6:]


def feed_shadow(shadow: SegmentStream, piece: bytes) -> SegmentStream | None:
    """Add a piece of sheet XML to the shadow copy, cutting after the sheet head and before its tail
    (as a save cuts them); None when the sheet has a shape the shadow does not handle."""
    if not shadow.segments and not shadow.size and not getattr(shadow, "head_done", False):
        shadow.head_done = True  # the first piece holds the head
        start = piece.find(b"<sheetData")
        if start < 0 or piece.startswith(b"<sheetData/>", start):
            shadow.fp.close()
            return None
        open_end = piece.find(b">", start) + 1
        shadow.write(piece[:open_end])
        shadow.cut()
        piece = piece[open_end:]
    end = piece.find(b"</sheetData>")
    if end >= 0:
        shadow.write(piece[:end])
        shadow.cut()
        piece = piece[end:]
    shadow.write(piece)
    return shadow


def row_body(buf: bytes, r: int, start: int) -> bytes:
    """The cells of row r, whose <row> element starts at `start`."""
    head_end = buf.find(b">", start)
    if buf[head_end - 1:head_end] == b"/":
        return b""
    end = buf.find(b"</row>", head_end)
    return buf[head_end + 1:end]


def serial_datetime(value: float) -> datetime:
    """Excel serial -> datetime, rounded to the second (as parse_datetime does, but faster)."""
    days = int(value)
    return sx.EPOCH + timedelta(days=days, seconds=round((value - days) * 86400))
