from datetime import datetime, timedelta

from complaintdesk.adapters.calendar_cn import china_calendar
from complaintdesk.domain.jobs import JobState, due_jobs
from complaintdesk.domain.settings import default_settings


def due(now, states=None, settings=None):
    from complaintdesk.domain.settings import default_settings
    return due_jobs(now, states or {}, settings or default_settings(), china_calendar())


def test_sla_round_the_clock_every_interval():
    assert "sla" in due(datetime(2026, 11, 27, 10, 0))            # Friday
    assert "sla" in due(datetime(2026, 11, 27, 23, 0))            # at night
    assert "sla" in due(datetime(2026, 11, 28, 10, 0))            # Saturday
    assert "sla" in due(datetime(2026, 10, 2, 3, 0))              # National Day, 3 a.m.
    recent = {"sla": JobState(last_run=datetime(2026, 11, 27, 9, 45))}
    assert "sla" not in due(datetime(2026, 11, 27, 10, 0), recent)
    assert "sla" in due(datetime(2026, 11, 27, 10, 15), recent)


def test_daily_jobs_catch_up_once():
    states = {"digest": JobState(last_run=datetime(2026, 11, 20, 8, 30))}   # machine off for a week
    assert "digest" in due(datetime(2026, 11, 27, 11, 0), states)
    states["digest"].last_run = datetime(2026, 11, 27, 11, 0)
    assert "digest" not in due(datetime(2026, 11, 27, 15, 0), states)
    assert "digest" not in due(datetime(2026, 11, 30, 8, 0), states)      # before the digest time


def test_monthly_report_on_the_first_catching_up_until_the_fifth():
    assert "monthly_report" in due(datetime(2026, 12, 1, 0, 5))
    assert "monthly_report" in due(datetime(2026, 12, 5, 23, 0))          # was off until the 5th
    assert "monthly_report" not in due(datetime(2026, 12, 6, 9, 0))
    done = {"monthly_report": JobState(last_run=datetime(2026, 12, 1), last_key="2026-11")}
    assert "monthly_report" not in due(datetime(2026, 12, 2, 9, 0), done)


def test_failed_job_waits_before_retry():
    failed = {"sla": JobState(failed_at=datetime(2026, 11, 27, 10, 0))}
    assert "sla" not in due(datetime(2026, 11, 27, 10, 20), failed)
    assert "sla" in due(datetime(2026, 11, 27, 10, 31), failed)
    locked = {"sla": JobState(failed_at=datetime(2026, 11, 27, 10, 0), retry_after=timedelta(minutes=5))}
    assert "sla" in due(datetime(2026, 11, 27, 10, 6), locked)


def test_state_round_trip():
    st = JobState(datetime(2026, 1, 1, 8), "2025-12", None, timedelta(minutes=5))
    assert JobState.from_json(st.to_json()) == st


def test_publish_daily_from_its_time_and_at_once_on_the_first_only_for_a_named_branch():
    from dataclasses import replace

    from complaintdesk.domain.settings import default_settings
    plain = default_settings()
    assert "publish" not in due(datetime(2026, 11, 27, 23, 0), settings=plain)  # no branch name: never
    named = replace(plain, params=dict(plain.params, branch_name="华东呼叫中心"))
    assert "publish" not in due(datetime(2026, 11, 27, 21, 59), settings=named)
    assert "publish" in due(datetime(2026, 11, 27, 22, 0), settings=named)       # a Saturday or holiday too
    ran = {"publish": JobState(last_run=datetime(2026, 11, 27, 22, 0))}
    assert "publish" not in due(datetime(2026, 11, 27, 23, 30), ran, named)
    assert "publish" in due(datetime(2026, 12, 1, 0, 5), ran, named)             # the month just ended
    ran["publish"] = JobState(last_run=datetime(2026, 12, 1, 0, 5), last_key="2026-11")
    assert "publish" not in due(datetime(2026, 12, 1, 9, 0), ran, named)
    assert "publish" in due(datetime(2026, 12, 1, 22, 0), ran, named)


def test_off_hours_only_calendar_hour_clocks_and_group_events_are_mailed():
    from complaintdesk.domain.jobs import in_working_hours, mailed_off_hours
    s = default_settings()
    assert not in_working_hours(datetime(2026, 10, 3, 15, 0), s, china_calendar())   # National Day
    assert in_working_hours(datetime(2026, 10, 10, 15, 0), s, china_calendar())      # make-up Saturday
    assert mailed_off_hours("response", "P0", s) and mailed_off_hours("resolve", "P1", s)
    assert not mailed_off_hours("plan", "P2", s)        # 1 working day
    assert not mailed_off_hours("resolve", "P2", s)     # 7 working days
    assert not mailed_off_hours("callback", "P0", s)    # a callback is no clock
    assert mailed_off_hours(None, "P0", s)              # a group event


def test_the_ack_job_runs_only_with_its_switch_on():
    s = default_settings()
    assert "ack" not in due(datetime(2026, 10, 3, 3, 0), settings=s)
    s.params["auto_ack"] = True
    assert "ack" in due(datetime(2026, 10, 3, 3, 0), settings=s)   # at night, on a holiday too
