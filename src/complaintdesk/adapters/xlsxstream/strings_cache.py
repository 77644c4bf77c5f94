"""xlsxstream — the shared strings of a large register, kept beside it so a command need not parse them.

A register Excel saved holds every text of its cells once, in `xl/sharedStrings.xml`: for a
200,000-row register half a million strings, 15 MB of XML, about 0.6 s to parse — in every
command, although our saves copy that part byte for byte and it rarely changes. After parsing a
large table the fast store keeps it in `.cache/<register name>.strings` (marshal, ~0.07 s to load),
keyed by the part's CRC-32 and sizes from the zip directory: a table changed by any program is
parsed afresh. Like the row index it is a cache: a missing, stale or torn file costs time, never
data (its body carries its own CRC).
"""
from __future__ import annotations

import contextlib
import json
import marshal
import zipfile
import zlib
from pathlib import Path

from ... import __version__

PART = "xl/sharedStrings.xml"
MAGIC = b"complaintdesk-shared-strings\n"
WORTH_CACHING = 1 << 20  # a table smaller than this (uncompressed) parses about as fast as the file loads


def cache_path(register: Path) -> Path:
    return Path(register).parent / ".cache" / f"{Path(register).name}.strings"


def _fingerprint(zf: zipfile.ZipFile) -> list | None:
    try:
        info = zf.getinfo(PART)
    except KeyError:
        return None
    return [__version__, info.CRC, info.file_size, info.compress_size, info.compress_type]


def load(register: Path, zf: zipfile.ZipFile) -> list[str] | None:
    """The register's shared strings when the cache matches the part as it is now; None otherwise
    (never raises)."""
    try:
        data = cache_path(register).read_bytes()
        if not data.startswith(MAGIC):
            return None
        size = int.from_bytes(data[-8:], "little")
        head = json.loads(data[-8 - size:-8].decode("utf-8"))
        if head.get("fingerprint") != _fingerprint(zf):
            return None
        body = memoryview(data)[len(MAGIC):len(data) - 8 - size]
        if zlib.crc32(body) != head.get("crc"):
            return None  # cut short or damaged (written without fsync)
        strings = marshal.loads(body)
        if not isinstance(strings, list) or len(strings) != head.get("count"):
            return None
        if set(map(type, strings)) - {str}:
            return None
        return strings
    except (OSError, ValueError, TypeError, EOFError, UnicodeError):
        return None


def read(register: Path, zf: zipfile.ZipFile) -> list[str]:
    """The register's shared strings ([] when it has none): the kept copy when it matches the part,
    else the part parsed (and a large table kept for the next command)."""
    if _fingerprint(zf) is None:
        return []
    strings = load(register, zf)
    if strings is None:
        from .sheet_xml import shared_strings
        strings = shared_strings(zf.read(PART))
        save(register, zf, strings)
    return strings


def save(register: Path, zf: zipfile.ZipFile, strings: list[str]) -> None:
    """Keep the parsed table for the next command (best effort: a cache may fail to save)."""
    fingerprint = _fingerprint(zf)
    if fingerprint is None or fingerprint[2] < WORTH_CACHING:
        return
    from ..files import atomic_write
    body = marshal.dumps(strings, 4)
    head = json.dumps({"fingerprint": fingerprint, "crc": zlib.crc32(body), "count": len(strings)}).encode("utf-8")
    data = MAGIC + body + head + len(head).to_bytes(8, "little")
    with contextlib.suppress(OSError, ValueError):
        atomic_write(cache_path(register), lambda tmp: tmp.write_bytes(data), durable=False)


class Portable(list):
    """A register's shared strings as a list that goes to a worker process as the register's path
    and the part's fingerprint: the worker loads the kept copy (or parses the part) itself instead
    of receiving half a million strings through the pipe it starts from — for a 200k register 0.4 s
    in which this process could only wait. Should the part differ from what this process read, the
    worker fails and its pieces are worked here (parallel_scan's rule for any worker fault)."""

    def __init__(self, strings: list[str], register: Path, zf: zipfile.ZipFile, data: Path | None = None):
        super().__init__(strings)
        self.register, self.fingerprint = str(register), _fingerprint(zf)
        self.data = str(data or register)  # the bytes: the register, or the snapshot read of it

    def __reduce__(self):
        return _load_in_worker, (self.register, self.fingerprint, len(self), self.data)


def _load_in_worker(register: str, fingerprint: list | None, count: int, data: str | None = None) -> list[str]:
    with zipfile.ZipFile(data or register) as zf:
        if _fingerprint(zf) != fingerprint:
            raise ValueError("the shared strings changed since the register was opened")
        strings = read(Path(register), zf)
    if len(strings) != count:
        raise ValueError("the shared strings differ from those the register was opened with")
    return strings
