"""Adapter — reading the register's tool sheets from a plain grid (list of row lists).

Both the openpyxl store and the xlwings store hand their sheets over as grids,
so 设置 blocks, 人员, 值班, 节假日 and every tool table are read by one piece of code.
"""
from __future__ import annotations

from datetime import date, datetime

from ..domain.parsing import parse_datetime, text_of
from ..domain.schema import TOOL_COLUMNS, normalise_header
from ..domain.settings import LIST_TITLES, Person, Shift, _parse_hhmm, role_key
from ..domain.workcalendar import kind_key
from ..errors import RuleConflictError
from .settings_layout import BLOCKS, OPTIONAL_BLOCKS
from .settings_layout import BY_KEY as BLOCKS_BY_KEY
from .xlsxstream.sheet_xml import col_letter


def _at(line, i):
    return line[i] if 0 <= i < len(line) else None


def raw_settings(grid: list[list]) -> dict:
    """The 设置 blocks, found by their title in row 1, as raw (address, values) rows. Only the rows
    holding a cell are looked at: one stray value far below (row 1,048,576) costs nothing."""
    titles = {}
    for col, value in enumerate(grid[0] if grid else [], 1):
        for block in BLOCKS:
            if text_of(value) in (block.zh, block.en):
                titles[block.key] = col
    missing = [b.zh for b in BLOCKS if b.key not in titles and b.key not in OPTIONAL_BLOCKS]
    if missing:
        raise RuleConflictError("设置表缺少以下区块（第 1 行的标题）：" + "、".join(missing))
    filled = [(r, line) for r, line in enumerate(grid[2:], 3) if line]
    raw: dict = {}
    for key, col in titles.items():
        width = len(BLOCKS_BY_KEY[key].headers)
        raw[key] = _list_block(grid, filled, col, width) if key == "lists" else _block_rows(filled, col, width)
    return raw


def _list_block(grid: list[list], filled: list[tuple[int, list]], col: int, width: int) -> dict[str, list]:
    """The 下拉列表 block: list name (by its title in row 2) -> the values below it."""
    by_title = {v: k for k, v in LIST_TITLES.items()}
    header = grid[1] if len(grid) > 1 else []
    titles = [text_of(_at(header, col - 1 + i)) for i in range(width)]
    return {by_title.get(title, title): [_at(line, col - 1 + i) for _, line in filled]
            for i, title in enumerate(titles)}


def _block_rows(filled: list[tuple[int, list]], col: int, width: int) -> list[tuple[str, tuple]]:
    """A block's rows that hold a value, each with the address of its first cell (for messages)."""
    rows = []
    for r, line in filled:
        if len(line) < col:
            continue
        values = tuple(_at(line, col - 1 + i) for i in range(width))
        if any(text_of(v) for v in values):
            rows.append((f"{col_letter(col)}{r}", values))
    return rows


def tool_columns(header: list, role: str) -> dict[str, int]:
    """Field key -> 0-based column index, from a tool sheet's header row (zh or en labels)."""
    names = {}
    for key, zh, en in TOOL_COLUMNS[role]:
        names[normalise_header(zh)] = key
        names[normalise_header(en)] = key
        names[key] = key
    found = {}
    for i, value in enumerate(header):
        key = names.get(normalise_header(value))
        if key and key not in found:
            found[key] = i
    return found


# the column of a tool table holding a date or time (a streamed sheet gives it as an Excel serial)
TIME_KEYS = {"comms": ("time",), "audit": ("time",), "notified": ("time",), "calendar": ("date",),
             "actions": ("due", "done_at"), "campaign": ("sent_at", "answered_at")}


def tool_table(grid: list[list], role: str) -> list[dict]:
    """The rows under the header that hold a value, by key; a serial date-time as datetime."""
    if not grid:
        return []
    cols = tool_columns(grid[0], role)
    time_keys = TIME_KEYS.get(role, ())
    out = []
    for line in grid[1:]:
        if not line:  # a row without cells (a stray value far below leaves a million of them)
            continue
        row = {k: _at(line, i) for k, i in cols.items()}
        if any(v not in (None, "") for v in row.values()):
            for key in time_keys:
                if isinstance(row.get(key), (int, float)) and not isinstance(row[key], bool):
                    row[key] = parse_datetime(row[key])[0]
            out.append(row)
    return out


def staff_from(rows: list[dict]) -> list[Person]:
    return [Person(text_of(r.get("name")), text_of(r.get("dept_code")).upper(),
                   role_key(text_of(r.get("role"))) or "agent", text_of(r.get("email")))
            for r in rows if text_of(r.get("name"))]


def roster_from(rows: list[dict]) -> list[Shift]:
    shifts = []
    for r in rows:
        who = text_of(r.get("supervisor"))
        if not who:
            continue
        when = r.get("date")
        when = when.date().isoformat() if isinstance(when, datetime) else \
            when.isoformat() if isinstance(when, date) else text_of(when)
        try:
            start, end = _parse_hhmm(r.get("start"), "值班开始"), _parse_hhmm(r.get("end"), "值班结束")
            shifts.append(Shift(when, start, end, who))
        except RuleConflictError as exc:
            raise RuleConflictError(f"值班表：{exc}")
    return shifts


def overrides_from(rows: list[dict]) -> dict[date, str]:
    out = {}
    for r in rows:
        moment, _ = parse_datetime(r.get("date"))
        kind = kind_key(text_of(r.get("kind")))
        if moment and kind:
            out[moment.date()] = kind
    return out
