"""Deadlines around 2026's official holidays and make-up workdays (调休)."""
from datetime import date, datetime, time

import pytest

from complaintdesk.adapters.calendar_cn import china_calendar
from complaintdesk.domain.workcalendar import HOLIDAY, WORKDAY, WorkCalendar, uncovered_message

NINE, SIX = time(9), time(18)


@pytest.fixture
def cal():
    return china_calendar()


@pytest.mark.parametrize("day,work", [
    (date(2026, 1, 1), False), (date(2026, 1, 4), True),            # New Year, make-up Sunday
    (date(2026, 2, 14), True), (date(2026, 2, 16), False), (date(2026, 2, 23), False),
    (date(2026, 2, 24), True), (date(2026, 2, 28), True),          # Spring Festival
    (date(2026, 4, 6), False), (date(2026, 4, 7), True),            # Qingming
    (date(2026, 5, 5), False), (date(2026, 5, 9), True),            # Labour Day
    (date(2026, 6, 19), False), (date(2026, 6, 22), True),          # Dragon Boat
    (date(2026, 9, 20), True), (date(2026, 9, 25), False),          # Mid-Autumn
    (date(2026, 10, 7), False), (date(2026, 10, 8), True), (date(2026, 10, 10), True),  # National Day
    (date(2026, 11, 28), False), (date(2026, 11, 30), True),
])
def test_official_days(cal, day, work):
    assert cal.is_workday(day) is work


@pytest.mark.parametrize("start,days,due", [
    (datetime(2026, 11, 28, 10, 0), 1, datetime(2026, 11, 30, 10, 0)),   # Saturday -> Monday
    (datetime(2026, 2, 13, 15, 0), 1, datetime(2026, 2, 14, 15, 0)),     # make-up Saturday counts
    (datetime(2026, 2, 14, 15, 0), 1, datetime(2026, 2, 24, 15, 0)),     # over Spring Festival
    (datetime(2026, 9, 30, 10, 0), 1, datetime(2026, 10, 8, 10, 0)),     # over National Day
    (datetime(2026, 9, 28, 9, 0), 7, datetime(2026, 10, 13, 9, 0)),      # 29,30,8,9,10(Sat),12,13
    (datetime(2026, 4, 3, 17, 0), 3, datetime(2026, 4, 9, 17, 0)),       # Qingming
    (datetime(2026, 4, 30, 12, 0), 4, datetime(2026, 5, 9, 12, 0)),      # Labour Day + make-up Sat
    (datetime(2026, 6, 18, 8, 0), 1, datetime(2026, 6, 22, 8, 0)),       # Dragon Boat
    (datetime(2026, 12, 31, 16, 0), 1, datetime(2027, 1, 1, 16, 0)),     # 2027 unknown: Mon-Fri
])
def test_working_days(cal, start, days, due):
    assert cal.add_working_days(start, days) == due


def test_working_hours(cal):
    # Friday 17:00 + 2 working hours -> Monday 10:00
    assert cal.add_working_hours(datetime(2026, 11, 27, 17, 0), 2, NINE, SIX) == datetime(2026, 11, 30, 10, 0)
    # received before opening: counting starts at 09:00
    assert cal.add_working_hours(datetime(2026, 11, 26, 7, 0), 4, NINE, SIX) == datetime(2026, 11, 26, 13, 0)
    # over National Day, landing on the make-up Saturday
    assert cal.add_working_hours(datetime(2026, 9, 30, 17, 0), 10, NINE, SIX) == datetime(2026, 10, 8, 18, 0)
    assert cal.add_working_hours(datetime(2026, 10, 9, 17, 0), 2, NINE, SIX) == datetime(2026, 10, 10, 10, 0)
    assert cal.working_hours_between(datetime(2026, 11, 27, 17, 0), datetime(2026, 11, 30, 10, 0),
                                     NINE, SIX) == 2


def test_uncovered_year_is_reported(cal):
    cal.uncovered_used.clear()
    cal.add_working_days(datetime(2026, 12, 30, 10, 0), 3)
    assert cal.uncovered_used == {2027}
    assert "2027 年节假日安排未发布" in uncovered_message(cal.uncovered_used)


def test_overrides_win_and_cover_a_year():
    cal = china_calendar({date(2026, 10, 10): HOLIDAY, date(2026, 11, 28): WORKDAY,
                          date(2027, 1, 1): HOLIDAY})
    assert not cal.is_workday(date(2026, 10, 10))
    assert cal.is_workday(date(2026, 11, 28))
    cal.uncovered_used.clear()
    assert cal.add_working_days(datetime(2026, 12, 31, 9, 0), 1) == datetime(2027, 1, 4, 9, 0)
    assert cal.uncovered_used == set()


def test_plain_calendar_without_library_data():
    cal = WorkCalendar()
    assert cal.add_working_days(datetime(2030, 5, 3, 9, 0), 1) == datetime(2030, 5, 6, 9, 0)
    assert cal.uncovered_used == {2030}
