"""Adapter — reading a register sheet's XML fast: one C-level pass picks the cells a closed
complaint needs ("light" rows); every other row is parsed in full.

Used by the fast store for full reads (cold) and to index rows it has just written, so what the
row index holds is always what a read of the file gives.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..domain import labels
from ..domain.parsing import parse_bool
from ..domain.schema import DATETIME_KEYS
from ..errors import SchemaError
from . import sheet_xml as sx
from .deflate_segments import SegmentStream

ROW_NUM = re.compile(rb'<row r="(\d+)"')
LIGHT_KEYS = ("complaint_no", "received_at", "request_type", "is_valid", "category", "customer_id",
              "contact", "status", "closed_at", "case_library")
CLOSED = {labels.STATUS["closed"][0], labels.STATUS["closed"][1], "closed"}


def _patterns(letters):
    alt = b"|".join(sorted(letters, key=len, reverse=True))
    cell = re.compile(rb'<c r="(' + alt + rb')(\d+)"(?: s="\d+")?(?: t="([a-zA-Z]+)")?(?: s="\d+")?'
                      rb'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)')
    return cell, re.compile(rb'<c r="(' + alt + rb')(\d+)"')


_PATTERNS: dict = {}


def scan_chunk(buf: bytes, spec) -> list[tuple[int, dict, bytes | None]]:
    """(row, values, body) for every row in a piece of sheet XML: light values by key for closed
    complaints ("_light" set), every cell by column index as stored for the rest. `body` is the
    row's XML for rows read in full and for closed complaints marked for the case library."""
    strings, by_letter = spec
    key = tuple(by_letter)
    if key not in _PATTERNS:
        _PATTERNS[key] = _patterns(by_letter)
    cell_re, start_re = _PATTERNS[key]
    starts = {m.group(1): m.start() for m in ROW_NUM.finditer(buf)}
    if len(starts) != buf.count(b"<row"):
        raise SchemaError("登记表中有不带行号的行，请用完整模式处理（设置环境变量 COMPLAINTDESK_STORE=openpyxl）")
    light: dict[bytes, dict] = {}
    found = cell_re.findall(buf)
    value = sx.fast_value
    blank = dict.fromkeys(by_letter.values())
    for letter, r, kind, v, t in found:
        d = light.get(r)
        if d is None:
            d = light[r] = blank.copy()
        d[by_letter[letter]] = value(kind, v, t, strings)
    if len(found) != len(start_re.findall(buf)):  # a light cell of an unusual shape (formula, rich text …)
        for letter, r in set(start_re.findall(buf)) - {(x[0], x[1]) for x in found}:
            light.setdefault(r, blank.copy())[by_letter[letter]] = sx.find_cell(row_body(buf, int(r), starts[r]), letter, r,
                                                                      strings)
    out = []
    for rb, start in starts.items():
        r = int(rb)
        if r == 1:
            continue
        d = light.get(rb) or blank.copy()
        if d.get("status") in CLOSED and d.get("closed_at") not in (None, ""):
            d["_light"] = True
            case = d.get("case_library")
            out.append((r, d, row_body(buf, r, start) if case not in (None, "") and parse_bool(case)[0] else None))
            continue
        body = row_body(buf, r, start)
        out.append((r, sx.row_cells(body, strings), body))
    return out


def typed_row(cells: dict[int, object], keyed) -> dict:
    """A row's cells (column -> value as stored) as values by key, times in time columns as datetime."""
    values = {k: cells.get(c) for k, c in keyed}
    for key in DATETIME_KEYS:
        value = values.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 <= value < 2958466:
            values[key] = serial_datetime(value)
    return values


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


def serial_datetime(value: float) -> datetime:
    """Excel serial -> datetime, rounded to the second (as parse_datetime does, but faster)."""
    days = int(value)
    seconds = round((value - days) * 86400)
    return datetime.fromordinal(693594 + days) + timedelta(seconds=seconds)


def row_body(buf: bytes, r: int, start: int) -> bytes:
    """The cells of row r, whose <row> element starts at `start`."""
    head_end = buf.find(b">", start)
    if buf[head_end - 1:head_end] == b"/":
        return b""
    end = buf.find(b"</row>", head_end)
    return buf[head_end + 1:end]
