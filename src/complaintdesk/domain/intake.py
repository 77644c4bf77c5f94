"""Domain — intake rules: numbering, priority, repeat detection, routing, duty roster.

Each rule is a small function over a Complaint and Settings; the tables it
consults (routes, member levels, emotions, roster) are data from 设置.
"""
from __future__ import annotations

import bisect
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable

from .group_events import event_prefix
from .model import Complaint
from .parsing import customer_keys
from .settings import PRIORITIES, Settings

NUMBER_RE = re.compile(r"^(\d{8})-([A-Za-z0-9]+)-(\d{3,})$")
NUMBER_LINE_RE = re.compile(r"^(\d{8})-([A-Za-z0-9]+)-(\d{3,})$", re.M)
WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


# ---- numbering ---------------------------------------------------------------------
MAX_NUMBER = 40  # characters of a supplied number (ours have 16)
_NUMBER_HAZARD = re.compile(r"[\\/\x00-\x1f\x7f]|\.\.")


def number_problem(number: str, legacy_pattern: str = "") -> str | None:
    """Why a supplied complaint number cannot be kept (None: it can) — it must have our form
    (日期-部门代码-流水号) or match the legacy pattern configured in 设置, and never holds a folder
    separator, `..` or control characters (numbers become file names), nor more than MAX_NUMBER
    characters."""
    shown = number[:MAX_NUMBER] + ("…" if len(number) > MAX_NUMBER else "")
    if len(number) > MAX_NUMBER or _NUMBER_HAZARD.search(number):
        return f"投诉编号“{shown}”含路径字符或过长，不能作为编号"
    if NUMBER_RE.match(number) or (legacy_pattern and _legacy(legacy_pattern).fullmatch(number)):
        return None
    return f"投诉编号“{shown}”格式不符（应为 日期-部门代码-流水号，如 20261008-CS-001，或 设置 中的旧编号格式）"


@lru_cache(maxsize=8)
def _legacy(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def split_number(number: str) -> tuple[str, int] | None:
    """'20261008-CS-007' -> ('20261008-CS', 7); None for anything else."""
    match = NUMBER_RE.match(number or "")
    if not match:
        return None
    return f"{match.group(1)}-{match.group(2).upper()}", int(match.group(3))


class Counter:
    """Highest serial ever issued per date+department; never goes down."""

    def __init__(self, last: dict[str, int] | None = None):
        self.last: dict[str, int] = dict(last or {})

    def see_all(self, numbers) -> None:
        """see() for many numbers at once (one regular-expression pass over all of them)."""
        text = "\n".join(n for n in numbers if "\n" not in n)
        best: dict[tuple[str, str], int] = {}
        for day, dept, serial in NUMBER_LINE_RE.findall(text):
            n = int(serial)
            if n > best.get((day, dept), 0):
                best[(day, dept)] = n
        for (day, dept), n in best.items():
            prefix = f"{day}-{dept.upper()}"
            if n > self.last.get(prefix, 0):
                self.last[prefix] = n

    def see(self, number: str) -> None:
        parts = split_number(number)
        if parts:
            prefix, serial = parts
            if serial > self.last.get(prefix, 0):
                self.last[prefix] = serial

    def issue_event(self, first: datetime) -> str:
        """The next 群诉编号 of the day an event's first complaint came (QS-20261008-01)."""
        prefix = event_prefix(first)
        serial = self.last.get(prefix, 0) + 1
        self.last[prefix] = serial
        return f"{prefix}-{serial:02d}"

    def issue(self, received: datetime, dept_code: str) -> str:
        prefix = f"{received:%Y%m%d}-{dept_code}"
        serial = self.last.get(prefix, 0) + 1
        self.last[prefix] = serial
        return f"{prefix}-{serial:03d}"


def number_dept(c: Complaint, settings: Settings) -> tuple[str, str | None]:
    if not c.dept_code:
        return settings.param("default_dept_code"), None
    if c.dept_code in settings.departments:
        return c.dept_code, None
    default = settings.param("default_dept_code")
    return default, f"部门代码“{c.dept_code}”未在设置中定义，已按 {default} 编号"


# ---- repeats -----------------------------------------------------------------------
class RepeatIndex:
    """Earlier complaints by (customer, category), sorted by received time."""

    def __init__(self):
        self._by_key: dict[tuple[str, str], list[tuple[datetime, str]]] = {}

    def add(self, keys: Iterable[str] | str | None, category: str, received: datetime | None, number: str) -> None:
        """Index a complaint under each of its customer's keys (customer_keys: id, phone or e-mail)."""
        if not (category and received and number):
            return
        for key in (keys,) if isinstance(keys, str) else keys or ():
            bisect.insort(self._by_key.setdefault((key, category), []), (received, number))

    def earlier(self, c: Complaint, window_days: int) -> list[str]:
        """Numbers of the same customer's complaints of the category within the window before it —
        the same customer by any key (id, phone, e-mail), oldest first."""
        keys = customer_keys(c.customer_id, c.contact)
        if not keys or not c.category or not c.received_at:
            return []
        found = []
        for key in keys:
            entries = self._by_key.get((key, c.category), [])
            lo = bisect.bisect_left(entries, (c.received_at - timedelta(days=window_days), ""))
            hi = bisect.bisect_left(entries, (c.received_at, c.number or ""))
            found += entries[lo:hi]
        # a number met twice (under two keys, in an archive and still in the register after an
        # interrupted archive, or in two archives) is one earlier complaint
        return list(dict.fromkeys(no for when, no in sorted(found) if no != c.number))


# ---- priority ----------------------------------------------------------------------
def suspected_safety(c: Complaint, settings: Settings) -> str | None:
    """The first 设置 安全词 found in 问题描述 / 客户诉求 of a complaint whose 涉及安全/重大损失 is
    empty (staff typing 否 there wins); None when there is none."""
    if c.safety_risk or c.flags.get("safety_risk") is False:
        return None
    text = c.description + c.text.get("demand", "")
    return next((w for w in settings.lists.get("safety_words", ()) if w and w in text), None)


def priority_for(c: Complaint, is_repeat: bool, settings: Settings) -> tuple[str, str]:
    """(computed priority, reason) before any staff override."""
    if c.safety_risk:
        return "P0", "涉及安全/重大损失"
    word = suspected_safety(c, settings)
    if word:
        return "P0", f"疑似安全问题：{word}"
    candidates = [("P2", "常规")]
    if is_repeat:
        candidates.append(("P1", "重复投诉"))
    level_min = settings.member_levels.get(c.member_level)
    if level_min:
        candidates.append((level_min, f"会员等级 {c.member_level}"))
    if settings.param("emotion_raises") and settings.emotions.get(c.emotion):
        candidates.append(("P1", f"情绪 {c.emotion}"))
    return min(candidates, key=lambda pr: PRIORITIES.index(pr[0]))


# ---- routing -----------------------------------------------------------------------
def route(c: Complaint, settings: Settings) -> tuple[str, str, str | None]:
    """(department code, department name, problem)."""
    code = settings.routes.get(c.category)
    problem = None
    if code is None:
        code = settings.routes.get("其他", settings.param("default_dept_code"))
        problem = (f"投诉类别“{c.category[:20]}”不在分类表中，已转{settings.departments[code]}"
                   if c.category else f"未填投诉类别，已转{settings.departments[code]}")
    return code, settings.departments[code], problem


def cc_for(dept_code: str, settings: Settings) -> str:
    names = [p.name for p in settings.people("dept_head", dept_code)]
    names += [p.name for p in settings.people("dept_head", settings.param("default_dept_code"))]
    return "、".join(dict.fromkeys(names))


def duty_supervisor(received: datetime, settings: Settings) -> str:
    """Most specific roster entry covering `received` (date > weekday > 工作日/休息日 > every day)."""
    best: tuple[int, str] | None = None
    for shift in settings.roster:
        for day_offset in (0, -1):
            day = (received + timedelta(days=day_offset)).date()
            rank = _shift_rank(shift.when, day)
            if rank is None:
                continue
            start = datetime.combine(day, shift.start)
            end = datetime.combine(day, shift.end)
            if end <= start:
                end += timedelta(days=1)
            if start <= received < end and (best is None or rank > best[0]):
                best = (rank, shift.supervisor)
    return best[1] if best else str(settings.param("default_supervisor"))


def _shift_rank(when: str, day) -> int | None:
    when = (when or "").strip()
    if not when or when in ("每天", "每日"):
        return 0
    if when == day.isoformat():
        return 3
    if when in WEEKDAYS:
        return 2 if WEEKDAYS.index(when) == day.weekday() else None
    if when == "工作日":
        return 1 if day.weekday() < 5 else None
    if when in ("休息日", "周末"):
        return 1 if day.weekday() >= 5 else None
    return None
