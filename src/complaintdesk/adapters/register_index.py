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
"""
from __future__ import annotations

import contextlib
import json
import zipfile
from itertools import repeat
from pathlib import Path

from .. import __version__
from .deflate_segments import FINAL_BLOCK, Segment

FORMAT = 5


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


class RowIndex:
    """Rows of a register sheet as a full read gives them, and the sheet's segments."""

    def __init__(self, columns: dict[str, int], light: dict[int, dict], full: dict[int, dict],
                 segments: list[Segment] | None, last_row: int, cases: dict[int, bytes] | None = None):
        self.columns = columns          # key -> column index, as the header was mapped
        self.light = light              # row -> light values (closed complaints)
        self.full = full                # row -> its cells, column -> value as stored (rows read in full)
        self.segments = segments        # None when the sheet is one ordinary deflate stream
        self.last_row = last_row
        self.cases = cases or {}        # light rows marked for the case library -> their XML

    def segments_valid(self, info: zipfile.ZipInfo) -> bool:
        if not self.segments or info.compress_type != zipfile.ZIP_DEFLATED:
            return False
        size = sum(s.size for s in self.segments) + len(FINAL_BLOCK)
        raw = sum(s.raw_size for s in self.segments)
        return size == info.compress_size and raw == info.file_size


MAGIC = b"complaintdesk-row-index\n"
_DECODE = {"s": str, "i": int, "f": float}


_ONE_TYPE = {str: ("s", None), int: ("i", str), float: ("f", repr)}
_TAGS = {str: "s", int: "i", float: "f", bool: "b", type(None): "n"}


def _encode_column(values: list) -> tuple[bytes, bytes]:
    """One column as (a type letter per value, the values' text joined by NUL)."""
    if not values:
        return b"", b""
    types = set(map(type, values))
    if len(types) == 1 and next(iter(types)) in _ONE_TYPE:  # the usual case: one type
        letter, convert = _ONE_TYPE[next(iter(types))]
        return (letter * len(values)).encode("ascii"), _joined(values if convert is None else map(convert, values),
                                                                len(values))
    tags = [_TAGS.get(v.__class__, "?") for v in values]
    if "?" in tags:
        raise TypeError("cannot index a value of this type")
    tags = [("T" if v else "F") if t == "b" else t for t, v in zip(tags, values)]
    texts = [v if t == "s" else "" if t in "nTF" else repr(v) if t == "f" else str(v) for t, v in zip(tags, values)]
    return "".join(tags).encode("ascii"), _joined(texts, len(values))


def _joined(texts, n: int) -> bytes:
    """Texts joined by NUL; a NUL inside one of them would shift every later value."""
    text = "\x00".join(texts)
    if text.count("\x00") != n - 1:
        raise ValueError("NUL in a cell value")
    return text.encode("utf-8")


def _decode_column(tags: str, raw: bytes) -> list:
    n = len(tags)
    data = raw.decode("utf-8")
    parts = data.split("\x00") if n else []
    if len(parts) != n:
        raise ValueError("index column is damaged")
    for letter, convert in _DECODE.items():  # the usual case: a column of one type
        if tags.count(letter) == n:
            if letter != "s":
                return list(map(convert, parts))
            distinct = set(parts)
            if len(distinct) * 20 < n:  # statuses, categories …: one string object per value
                one = {p: p for p in distinct}
                return [one[p] for p in parts]
            return parts
    if tags.count("s") + tags.count("n") == n:
        return [None if tag == "n" else text for tag, text in zip(tags, parts)]
    return [None if tag == "n" else True if tag == "T" else False if tag == "F" else _DECODE[tag](text)
            for tag, text in zip(tags, parts)]


def _write_light(out: list[bytes], light: dict[int, dict], keys: list) -> None:
    out.extend(_encode_column(list(light)))
    for key in keys:
        out.extend(_encode_column([values.get(key) for values in light.values()]))


def _row_numbers(tags: str, data: bytes) -> list[int]:
    if tags.count("i") != len(tags):
        raise ValueError("index row numbers are damaged")
    return _decode_column(tags, data)


def _read_light(blobs, keys: list) -> dict[int, dict]:
    rows = _row_numbers(*next(blobs))
    columns = [_decode_column(*next(blobs)) for _ in keys]
    marked = (*keys, "_light")
    values = zip(*columns, repeat(True, len(rows)))
    return dict(zip(rows, map(dict, map(zip, repeat(marked), values))))


def _write_cells(out: list[bytes], rows: dict[int, dict]) -> None:
    """Rows read in full as three columns — row, column, value — one entry per non-empty cell."""
    cells = [(r, c, v) for r, row in rows.items() for c, v in row.items()]
    for column in zip(*cells) if cells else ([], [], []):
        out.extend(_encode_column(list(column)))
    out.extend(_encode_column([r for r, row in rows.items() if not row]))


def _read_cells(blobs) -> dict[int, dict]:
    rows, cols, values = _row_numbers(*next(blobs)), _row_numbers(*next(blobs)), _decode_column(*next(blobs))
    if not len(rows) == len(cols) == len(values):
        raise ValueError("index cells are damaged")
    out: dict[int, dict] = {r: {} for r in _row_numbers(*next(blobs))}
    for r, c, v in zip(rows, cols, values):
        row = out.get(r)
        if row is None:
            row = out[r] = {}
        row[c] = v
    return out


def _write_bodies(out: list[bytes], rows: dict[int, bytes]) -> None:
    """Rows as their XML: row numbers, lengths, then the bodies as one blob."""
    out.extend(_encode_column(list(rows)))
    out.extend(_encode_column([len(body) for body in rows.values()]))
    out.extend((b"", b"".join(rows.values())))


def _read_bodies(blobs) -> dict[int, bytes]:
    rows = _row_numbers(*next(blobs))
    lengths = _row_numbers(*next(blobs))
    _, data = next(blobs)
    if len(lengths) != len(rows) or sum(lengths) != len(data):
        raise ValueError("index rows are damaged")
    out, at = {}, 0
    for r, n in zip(rows, lengths):
        out[r] = data[at:at + n]
        at += n
    return out


def _blobs(data: bytes, at: int):
    while at < len(data):
        size = int.from_bytes(data[at:at + 8], "little")
        tags = data[at + 8:at + 8 + size].decode("ascii")
        at += 8 + size
        size = int.from_bytes(data[at:at + 8], "little")
        text = data[at + 8:at + 8 + size]
        at += 8 + size
        yield tags, text


def load(register: Path, zf: zipfile.ZipFile, part: str, columns: dict[str, int]) -> RowIndex | None:
    """The index when it matches the register as it is now; None otherwise (never raises)."""
    path = index_path(register)
    try:
        if not path.exists():
            return None
        data = path.read_bytes()
        if not data.startswith(MAGIC):
            return None
        at = len(MAGIC) + 8
        size = int.from_bytes(data[len(MAGIC):at], "little")
        head = json.loads(data[at:at + size].decode("utf-8"))
        if head.get("fingerprint") != fingerprint(zf, part) or head.get("columns") != columns:
            return None
        blobs = _blobs(data, at + size)
        light = _read_light(blobs, head["light_keys"])
        full, cases = _read_cells(blobs), _read_bodies(blobs)
        segments = [Segment(*s) for s in head["segments"]] if head.get("segments") else None
        index = RowIndex(columns, light, full, segments, int(head["last_row"]), cases)
        if segments and not index.segments_valid(zf.getinfo(part)):
            index.segments = None
        return index
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, StopIteration, UnicodeError):
        return None


def save(register: Path, zf: zipfile.ZipFile, part: str, index: RowIndex) -> None:
    """Write the index for the register as `zf` holds it (best effort: a cache may fail to save)."""
    from .files import atomic_write
    try:
        light_keys = sorted({k for values in index.light.values() for k in values if k != "_light"})
        head = json.dumps({"fingerprint": fingerprint(zf, part), "columns": index.columns,
                           "last_row": index.last_row, "light_keys": light_keys,
                           "segments": [s.as_list() for s in index.segments] if index.segments else None},
                          ensure_ascii=False).encode("utf-8")
        blobs: list[bytes] = []
        _write_light(blobs, index.light, light_keys)
        _write_cells(blobs, index.full)
        _write_bodies(blobs, index.cases)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                f.write(MAGIC + len(head).to_bytes(8, "little") + head)
                for blob in blobs:
                    f.write(len(blob).to_bytes(8, "little"))
                    f.write(blob)
        atomic_write(index_path(register), write)
    except (OSError, TypeError, ValueError):
        drop(register)


def drop(register: Path) -> None:
    with contextlib.suppress(OSError):
        index_path(register).unlink()
