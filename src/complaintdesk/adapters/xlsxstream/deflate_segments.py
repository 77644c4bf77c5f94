"""xlsxstream — a zip member written as independent deflate segments, so a later save
can copy the unchanged segments' compressed bytes and re-encode only the changed ones.

Each segment is raw deflate ended by a full flush: byte-aligned, no reference to
earlier data, so it decompresses on its own and segments can be concatenated in
any combination; a final empty block ends the member. Every zip reader sees one
ordinary deflate stream. The member's CRC-32 is combined from the segments' CRCs
(`crc32_combine`, the GF(2) method of zlib), so copied segments are never inflated.
Segments are cut only after a `</row>`, and each records the rows it holds.

Deflate and inflate run through Intel's ISA-L (python-isal) where it is installed: the
same format, several times faster; zlib otherwise.
"""
from __future__ import annotations

import os
import queue
import re
import struct
import threading
import zipfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from ...errors import SchemaError

try:
    from isal import isal_zlib as fast_zlib
except ImportError:  # a platform without its wheels: the standard library's zlib
    fast_zlib = zlib

CHUNK = 8 << 20  # uncompressed bytes taken at a time when a sheet is read or streamed
SEGMENT_SIZE = 1 << 20  # uncompressed bytes per segment (cut at the next row end)
FINAL_BLOCK = b"\x03\x00"  # an empty fixed-Huffman block with the final bit set
ROW_NUM = re.compile(rb'<row r="(\d+)"')  # a row's start and number, as Excel and we write it
_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (bit-reflected)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _x2n_table() -> list[int]:
    table, p = [], 1 << 30  # x^1
    for _ in range(32):
        table.append(p)
        p = _multmodp(p, p)
    return table


_X2N = _x2n_table()


def _x2nmodp(n: int, k: int) -> int:
    p = 1 << 31  # x^0
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc(A), crc(B) and len(B)."""
    return _multmodp(_x2nmodp(len2, 3), crc1) ^ crc2


@dataclass
class Segment:
    """One independently compressed piece of a member: rows first..last (0 when none)."""
    first_row: int
    last_row: int
    offset: int       # of its compressed bytes, from the start of the member's data
    size: int         # compressed bytes
    raw_size: int     # uncompressed bytes
    crc: int

    def as_list(self) -> list[int]:
        return [self.first_row, self.last_row, self.offset, self.size, self.raw_size, self.crc]


def row_range(xml: bytes) -> tuple[int, int]:
    first = ROW_NUM.search(xml)
    if first is None:
        return 0, 0
    last = ROW_NUM.match(xml, xml.rfind(b'<row r="'))
    return int(first.group(1)), int(last.group(1))


def compress_segment(xml: bytes, level: int = 1) -> bytes:
    packer = fast_zlib.compressobj(level, zlib.DEFLATED, -15)
    return packer.compress(xml) + packer.flush(zlib.Z_FULL_FLUSH)


def inflate_segment(data: bytes) -> bytes:
    return fast_zlib.decompressobj(-15).decompress(data)


def open_member(path, zf: zipfile.ZipFile, name: str):
    """A zip member for reading, as ZipFile.open gives it; a deflated one is inflated by the fast
    inflater from a file handle of its own (its CRC-32 and size checked at the end)."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_DEFLATED or fast_zlib is zlib:
        return zf.open(name)
    return _Inflating(path, member_data_offset(zf, info), info)


class _Inflating:
    """Inflation bounded by the bytes it produces: never more than the size the zip declares (a
    part that under-declares is refused as soon as it overruns, not after inflating gigabytes),
    at most OUT_STEP bytes per step whatever the compression ratio."""
    BLOCK = 1 << 18     # compressed bytes per read from the file
    OUT_STEP = 4 << 20  # inflated bytes per step at most

    def __init__(self, path, start: int, info: zipfile.ZipInfo):
        self._fp = open(path, "rb")
        self._fp.seek(start)
        self._info, self._left = info, info.compress_size
        self._inflater = fast_zlib.decompressobj(-15)
        self._crc = self._size = 0
        self._ended = False

    def _step(self) -> bytes:
        data = self._inflater.unconsumed_tail
        if not data and self._left:
            data = self._fp.read(min(self.BLOCK, self._left))
            if not data:
                raise zipfile.BadZipFile(f"{self._info.filename} 被截断")
            self._left -= len(data)
        if data:
            piece = self._inflater.decompress(data, self.OUT_STEP)
        else:
            piece, self._ended = self._inflater.flush(), True
        self._size += len(piece)
        if self._size > self._info.file_size:
            raise zipfile.BadZipFile(f"{self._info.filename} 解压后超过它声明的 {self._info.file_size:,} 字节"
                                     f"（疑似压缩炸弹）")
        self._crc = fast_zlib.crc32(piece, self._crc)
        return piece

    def read(self, size: int = -1) -> bytes:
        """At least `size` bytes (at most OUT_STEP more), b"" at the end."""
        out = []
        got = 0
        while not self._ended and (size < 0 or got < size):
            piece = self._step()
            out.append(piece)
            got += len(piece)
        if self._ended and (self._crc != self._info.CRC or self._size != self._info.file_size):
            raise zipfile.BadZipFile(f"{self._info.filename} 的 CRC 校验失败（文件已损坏）")
        return b"".join(out)

    def close(self) -> None:
        self._fp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def member_data_offset(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Where a member's compressed bytes start in the zip file."""
    zf.fp.seek(info.header_offset)
    local = zf.fp.read(30)
    if local[:4] != b"PK\x03\x04":
        raise SchemaError(f"{info.filename} 的压缩头损坏")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return info.header_offset + 30 + name_len + extra_len


def _pack(xml: bytes) -> tuple[bytes, int]:
    return compress_segment(xml), fast_zlib.crc32(xml)


_POOL = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="deflate")
PENDING = 8  # segments compressed ahead of writing


class SegmentStream:
    """Deflate segments written one after another to a file object.

    `write(xml)` buffers and cuts a segment after a row end every SEGMENT_SIZE bytes;
    `cut()` ends the current segment (callers cut at row boundaries); `copy()` appends an
    existing segment's compressed bytes unchanged. Segments compress in a thread pool and
    are written in order; `finish()` writes what is still in flight."""

    def __init__(self, fileobj, segment_size: int = SEGMENT_SIZE):
        self.fp, self.segment_size = fileobj, segment_size
        self.segments: list[Segment] = []
        self.crc = self.raw_size = self.size = 0
        self._buf = bytearray()
        self._pending: deque = deque()

    def write(self, xml: bytes) -> None:
        """Add XML; a segment ends at the first row end at or after segment_size bytes. The cut is
        searched for in `xml` itself, so a large piece is not moved about in the buffer."""
        start = 0
        while start < len(xml):
            need = self.segment_size - len(self._buf)
            if need < 6:  # the buffer alone nearly fills a segment: a row end may straddle the join
                self._buf += memoryview(xml)[start:]
                self._cut_buffer()
                return
            end = xml.find(b"</row>", start + need - 6)
            if end < 0:
                self._buf += memoryview(xml)[start:]
                return
            if self._buf:
                self._buf += memoryview(xml)[start:end + 6]
                piece = bytes(self._buf)
                self._buf.clear()
            else:  # the usual case: the segment lies within `xml`, one copy
                piece = xml[start:end + 6]
            self._emit(piece)
            start = end + 6

    def _cut_buffer(self) -> None:
        while len(self._buf) >= self.segment_size:
            end = self._buf.find(b"</row>", self.segment_size - 6)
            if end < 0:
                return
            piece = bytes(self._buf[:end + 6])
            del self._buf[:end + 6]
            self._emit(piece)

    def cut(self) -> None:
        if self._buf:
            piece = bytes(self._buf)
            self._buf.clear()
            self._emit(piece)

    def _emit(self, xml: bytes) -> None:
        first, last = row_range(xml)
        job = _POOL.submit(_pack, xml)
        self._pending.append((job, Segment(first, last, 0, 0, len(xml), 0)))
        self._drain(PENDING)

    def copy(self, data: bytes, segment: Segment) -> None:
        self.cut()
        self._pending.append((data, Segment(segment.first_row, segment.last_row, 0, len(data), segment.raw_size,
                                            segment.crc)))
        self._drain(PENDING)

    def _drain(self, keep: int) -> None:
        """Write finished segments in order, leaving at most `keep` in flight."""
        while len(self._pending) > keep:
            job, segment = self._pending.popleft()
            if not isinstance(job, bytes):
                job, segment.crc = job.result()
            segment.size = len(job)
            segment.offset = self.size
            self.fp.write(job)
            self.segments.append(segment)
            self.crc = crc32_combine(self.crc, segment.crc, segment.raw_size) if self.raw_size else segment.crc
            self.raw_size += segment.raw_size
            self.size += len(job)

    def finish(self) -> None:
        self.cut()
        self._drain(0)

    def read(self, segment: Segment) -> bytes:
        """A finished segment's compressed bytes (the file must be readable)."""
        self.fp.seek(segment.offset)
        data = self.fp.read(segment.size)
        self.fp.seek(0, 2)
        return data


class SegmentWriter(SegmentStream):
    """One member of an open ZipFile (mode "w") written as segments; `close()` finishes it."""

    def __init__(self, dst: zipfile.ZipFile, name: str, date_time, segment_size: int = SEGMENT_SIZE):
        self.dst = dst
        self.info = zipfile.ZipInfo(name, date_time=date_time)
        self.info.compress_type = zipfile.ZIP_DEFLATED
        self.info.header_offset = dst.fp.tell()
        self.info.CRC = self.info.compress_size = self.info.file_size = 0
        dst.fp.write(self.info.FileHeader(True))
        super().__init__(dst.fp, segment_size)

    def close(self) -> zipfile.ZipInfo:
        self.finish()
        self.dst.fp.write(FINAL_BLOCK)
        self.size += len(FINAL_BLOCK)
        info = self.info
        info.CRC, info.compress_size, info.file_size = self.crc, self.size, self.raw_size
        end = self.dst.fp.tell()
        self.dst.fp.seek(info.header_offset)
        self.dst.fp.write(info.FileHeader(True))
        self.dst.fp.seek(end)
        self.dst.filelist.append(info)
        self.dst.NameToInfo[info.filename] = info
        self.dst.start_dir = end
        self.dst._didModify = True
        return info


class Prefetch:
    """Read a file object's chunks ahead in a thread: inflating (zlib lets go of the GIL) overlaps
    with the caller's work on the previous chunk. `read()` gives the next chunk, b"" at the end."""

    def __init__(self, fileobj, chunk: int, depth: int = 2):
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(fileobj, chunk), daemon=True)
        self._thread.start()
        self._done = False

    def _run(self, fileobj, chunk: int) -> None:
        try:
            while not self._stop.is_set():
                data = fileobj.read(chunk)
                self._queue.put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader
            self._queue.put(exc)

    def read(self, _size: int = -1) -> bytes:
        if self._done:
            return b""
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._done = True
            raise item
        if not item:
            self._done = True
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
