"""Domain — the working-day calendar and deadline arithmetic.

`WorkCalendar` is built from plain data: official holidays and make-up
workdays (调休) for the years that have been announced, plus company
overrides from the 节假日 sheet, which win. A year with no official data is
computed Mon–Fri (plus overrides) and reported through `uncovered_years`, so
callers can warn instead of guessing silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

HOLIDAY, WORKDAY = "holiday", "workday"
KIND_LABELS = {HOLIDAY: ("休息日", "节假日", "假日", "holiday", "rest"),
               WORKDAY: ("调休上班", "工作日", "上班", "workday", "make-up")}


def kind_key(text: str) -> str | None:
    text = (text or "").strip().lower()
    for key, names in KIND_LABELS.items():
        if text in names:
            return key
    return None


@dataclass
class WorkCalendar:
    holidays: set[date] = field(default_factory=set)   # official days off on weekdays
    workdays: set[date] = field(default_factory=set)   # official make-up weekend workdays
    covered: set[int] = field(default_factory=set)     # years with an official schedule
    overrides: dict[date, str] = field(default_factory=dict)  # date -> HOLIDAY | WORKDAY
    uncovered_used: set[int] = field(default_factory=set)
    _cache: dict[date, bool] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        # a company that lists its own holidays for a year has filled the gap
        self.covered = set(self.covered) | {d.year for d, k in self.overrides.items() if k == HOLIDAY}

    def is_workday(self, day: date) -> bool:
        if day.year not in self.covered:
            self.uncovered_used.add(day.year)
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        kind = self.overrides.get(day)
        if kind is not None:
            result = kind == WORKDAY
        elif day in self.workdays:
            result = True
        elif day in self.holidays:
            result = False
        else:
            result = day.weekday() < 5
        self._cache[day] = result
        return result

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """Same clock time on the Nth working day after start's date."""
        whole = int(days)
        day = start.date()
        while whole > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                whole -= 1
        result = datetime.combine(day, start.time())
        fraction = days - int(days)
        return result + timedelta(days=fraction) if fraction else result

    def add_working_hours(self, start: datetime, hours: float, open_: time, close: time) -> datetime:
        """Count only the working time of working days (open_..close)."""
        remaining = timedelta(hours=hours)
        moment = start
        for _ in range(3700):  # ten years of days is a hard stop against bad data
            day = moment.date()
            if self.is_workday(day):
                day_open, day_close = datetime.combine(day, open_), datetime.combine(day, close)
                begin = max(moment, day_open)
                if begin < day_close:
                    available = day_close - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            moment = datetime.combine(day + timedelta(days=1), time())
        raise ValueError("working-hours deadline beyond ten years")

    def working_hours_between(self, start: datetime, end: datetime, open_: time, close: time) -> float:
        total = timedelta()
        day = start.date()
        while day <= end.date():
            if self.is_workday(day):
                lo = max(start, datetime.combine(day, open_))
                hi = min(end, datetime.combine(day, close))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 3600


def uncovered_message(years) -> str:
    return "；".join(f"{y} 年节假日安排未发布，请在 节假日 表中补充" for y in sorted(years))
