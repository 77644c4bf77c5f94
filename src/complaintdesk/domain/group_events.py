"""Domain — group complaints (群诉事件): many valid complaints about one thing in a short time.

Seed 002 asks the group to follow 特别重大的投诉事件（比如：群诉事件）. The rule (设置, each part
editable): at least `min_count` valid complaints with the same category (when `same_category`)
and the same value in one of `fields` (涉及产品/服务 by default; 订单号, 地点 … may be added — a
field left empty links nothing) received within `window` of each other. Every complaint in such
a window belongs to the event; windows that share a complaint are one event.

An event keeps its number (群诉编号 `QS-<first day>-NN`, issued once, never reused): a complaint
typed in late that joins it takes that number, and a member stays a member while it is a valid
complaint (its fellows may have been closed or archived meanwhile). When a late complaint joins
two events into one, the earlier number names it. Pure: rows in, row -> number out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

EVENT_PREFIX = "QS"


@dataclass(frozen=True)
class GroupRule:
    min_count: int = 5
    window: timedelta = timedelta(hours=24)
    fields: tuple[str, ...] = ("product",)  # field keys; any one of them alike links two complaints
    same_category: bool = True

    @property
    def active(self) -> bool:
        return self.min_count >= 2 and bool(self.fields) and self.window > timedelta(0)


@dataclass(frozen=True)
class EventCandidate:
    """What the rule needs of a complaint: only valid complaints (投诉, not 无效) are candidates."""
    row_id: int
    received_at: datetime
    category: str
    values: dict[str, str]  # field key -> the value as typed
    event: str = ""         # the 群诉编号 it has


def event_prefix(day: datetime) -> str:
    """The counter prefix of the events first received on `day` (their numbers: prefix-NN)."""
    return f"{EVENT_PREFIX}-{day:%Y%m%d}"


def _normal(text: str) -> str:
    return "".join(str(text or "").split()).lower()


class _Union:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, a: int) -> int:
        self.parent.setdefault(a, a)
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _buckets(items: list[EventCandidate], rule: GroupRule) -> Iterable[list[EventCandidate]]:
    """The complaints alike by one field (and category), each bucket in order of receipt."""
    buckets: dict[tuple, list[EventCandidate]] = {}
    for c in items:
        for field in rule.fields:
            value = _normal(c.values.get(field, ""))
            if value:
                key = (field, value, c.category if rule.same_category else "")
                buckets.setdefault(key, []).append(c)
    for bucket in buckets.values():
        bucket.sort(key=lambda c: (c.received_at, c.row_id))
        yield bucket


def _windows(bucket: list[EventCandidate], rule: GroupRule, union: _Union, members: set[int]) -> None:
    """Mark every complaint of a window holding at least min_count of the bucket, joined together."""
    end = 0
    for start, first in enumerate(bucket):
        end = max(end, start)
        while end + 1 < len(bucket) and bucket[end + 1].received_at - first.received_at <= rule.window:
            end += 1
        if end - start + 1 >= rule.min_count:
            for c in bucket[start:end + 1]:
                members.add(c.row_id)
                union.join(c.row_id, first.row_id)


def find_group_events(candidates: Iterable[EventCandidate], rule: GroupRule,
                      issue: Callable[[datetime], str]) -> dict[int, str]:
    """Row -> 群诉编号 of every candidate in an event. `issue(first received)` gives a new event
    its number; an event some members already carry keeps the earliest of their numbers."""
    items = list(candidates)
    union, members = _Union(), set[int]()
    if rule.active:
        for bucket in _buckets(items, rule):
            _windows(bucket, rule, union, members)
    by_row = {c.row_id: c for c in items}
    by_number: dict[str, list[int]] = {}
    for c in items:  # members stay members, and fellows of one number stay together
        if c.event:
            members.add(c.row_id)
            by_number.setdefault(c.event, []).append(c.row_id)
    for rows in by_number.values():
        for row in rows[1:]:
            union.join(row, rows[0])
    groups: dict[int, list[EventCandidate]] = {}
    for row in members:
        groups.setdefault(union.find(row), []).append(by_row[row])
    out: dict[int, str] = {}
    for group in sorted(groups.values(), key=lambda g: min((c.received_at, c.row_id) for c in g)):
        known = sorted({c.event for c in group if c.event}, key=_number_order)
        number = known[0] if known else issue(min(c.received_at for c in group))
        out.update((c.row_id, number) for c in group)
    return out


def _number_order(number: str) -> tuple:
    """Earlier events first: QS-20261008-02 before QS-20261009-01; anything else after them."""
    parts = number.split("-")
    if len(parts) == 3 and parts[0] == EVENT_PREFIX and parts[1].isdigit() and parts[2].isdigit():
        return (0, parts[1], int(parts[2]))
    return (1, number, 0)
