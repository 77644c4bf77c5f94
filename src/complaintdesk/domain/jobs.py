"""Domain — when the scheduler's jobs are due (pure; the clock and calendar are passed in).

Each job is a row of `JOBS` with a rule over (now, its state, settings,
calendar). A job missed while the machine was off is due once, not once per
missed slot. A failed job waits `retry_after` before it is tried again. A job
that writes the register (`WRITES_REGISTER`) and ran on a snapshot while the
register was held is `deferred`: due again as soon as the register is free.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .kpis import previous_month
from .settings import Settings
from .workcalendar import WorkCalendar

RETRY_AFTER_FAILURE = timedelta(minutes=30)
RETRY_AFTER_LOCKED = timedelta(minutes=5)


@dataclass
class JobState:
    last_run: datetime | None = None
    last_key: str = ""            # e.g. the month a report was produced for
    failed_at: datetime | None = None
    retry_after: timedelta = field(default=RETRY_AFTER_FAILURE)
    deferred: bool = False        # ran on a snapshot of a held register: its writes wait

    def to_json(self) -> dict:
        return {"last_run": self.last_run.isoformat() if self.last_run else None, "last_key": self.last_key,
                "failed_at": self.failed_at.isoformat() if self.failed_at else None,
                "retry_minutes": self.retry_after.total_seconds() / 60, "deferred": self.deferred}

    @classmethod
    def from_json(cls, data: dict) -> "JobState":
        def when(v):
            return datetime.fromisoformat(v) if v else None
        return cls(when(data.get("last_run")), data.get("last_key", ""), when(data.get("failed_at")),
                   timedelta(minutes=float(data.get("retry_minutes", 30))), bool(data.get("deferred")))


def in_working_hours(now: datetime, s: Settings, cal: WorkCalendar) -> bool:
    return cal.is_workday(now.date()) and s.param("work_start") <= now.time() < s.param("work_end")


def _sla_due(now, st: JobState, s, cal) -> bool:
    """Every 时效检查间隔, day and night, holidays included: a clock in calendar hours (an urgent
    complaint's) runs round the clock, and so does its check. (Off hours only such clocks are
    mailed — see mailed_off_hours.)"""
    return st.last_run is None or now - st.last_run >= timedelta(minutes=float(s.param("check_minutes")))


def mailed_off_hours(clock: str | None, priority: str, s: Settings) -> bool:
    """Whether an alert of `clock` (a CLOCK key; None for a group event) at `priority` is mailed
    outside working hours: group events and clocks measured in calendar hours are; working-hour
    and working-day clocks keep the working-hours rhythm."""
    if clock is None:
        return True
    rule = s.sla.get((clock, priority))
    return rule is not None and rule.unit == "calendar_hours"


def _ack_due(now, st: JobState, s, cal) -> bool:
    """受理回复: with 设置's switch on, at every 时效检查间隔 (day and night: seed 001 立即致歉)."""
    return bool(s.param("auto_ack")) and _sla_due(now, st, s, cal)


def _daily_due(now, st: JobState, s, cal) -> bool:
    if not cal.is_workday(now.date()) or now.time() < s.param("digest_time"):
        return False
    return st.last_run is None or st.last_run.date() < now.date()


def _report_due(now, st: JobState, s, cal) -> bool:
    return 1 <= now.day <= 5 and st.last_key != report_month(now)


def _publish_due(now, st: JobState, s, cal) -> bool:
    """上报集团: once a day from 设置's time, and on the 1st at once for the month just ended —
    only for a register that names its branch."""
    if not s.param("branch_name"):
        return False
    if now.day == 1 and st.last_key != report_month(now):
        return True
    slot = datetime.combine(now.date(), s.param("publish_time"))  # today's; an earlier run (the 1st) is not it
    return now >= slot and (st.last_run is None or st.last_run < slot)


def report_month(now: datetime) -> str:
    return previous_month(f"{now:%Y-%m}")


def job_key(name: str, now: datetime) -> str:
    """What a successful run covered: the report month for the monthly report."""
    if name == "publish":  # the 1st's publication covers the month just ended
        return report_month(now) if now.day == 1 else ""
    return report_month(now) if name == "monthly_report" else ""


JOBS = {"sla": _sla_due, "ack": _ack_due, "digest": _daily_due, "survey_reminder": _daily_due,
        "monthly_report": _report_due, "publish": _publish_due}
WRITES_REGISTER = frozenset({"sla", "ack"})  # jobs whose results (due times, statuses, 预警) live in the register


def due_jobs(now: datetime, states: dict[str, JobState], settings: Settings, cal: WorkCalendar,
             held: bool = False) -> list[str]:
    out = []
    for name, rule in JOBS.items():
        st = states.get(name) or JobState()
        if st.failed_at and now - st.failed_at < st.retry_after:
            continue
        if (st.deferred and not held) or rule(now, st, settings, cal):
            out.append(name)
    return out
