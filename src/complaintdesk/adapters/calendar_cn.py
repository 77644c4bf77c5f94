"""Adapter — the official China holiday calendar from the `chinesecalendar` package.

Yields plain data (days off, make-up workdays, covered years) for the pure
`WorkCalendar`; the 节假日 sheet's overrides are added by the caller.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from ..domain.workcalendar import WorkCalendar


@lru_cache(maxsize=1)
def official_days() -> tuple[frozenset[date], frozenset[date], frozenset[int]]:
    from chinese_calendar import constants

    holidays = frozenset(constants.holidays)
    workdays = frozenset(constants.workdays)
    years = {d.year for d in holidays}
    covered = frozenset(range(min(years), max(years) + 1))
    return holidays, workdays, covered


def china_calendar(overrides: dict[date, str] | None = None) -> WorkCalendar:
    holidays, workdays, covered = official_days()
    return WorkCalendar(set(holidays), set(workdays), set(covered), dict(overrides or {}))
