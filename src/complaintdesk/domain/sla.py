"""Domain — SLA clocks: due times and states on the working calendar.

Each clock is a row of `CLOCK_TABLE` (which columns it writes, where it
starts, where it stops); `evaluate_clocks` turns a complaint, its priority,
the rules, the calendar and `now` into due times and states.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .handling import plan_filled
from .labels import CLOCK_STATE, to_code
from .model import Complaint
from .settings import Settings, SlaRule
from .workcalendar import WorkCalendar


@dataclass(frozen=True)
class ClockSpec:
    key: str
    due_col: str
    status_col: str


CLOCK_TABLE = (
    ClockSpec("response", "response_due", "response_status"),
    ClockSpec("plan", "plan_due", "plan_status"),
    ClockSpec("update", "next_update_due", "update_status"),
    ClockSpec("resolve", "resolve_due", "resolve_status"),
    ClockSpec("survey", "survey_due", "survey_status"),
)


@dataclass
class ClockResult:
    key: str
    start: datetime | None
    due: datetime | None
    state: str  # open/at_risk/breached/met/late/na


def add_duration(start: datetime, rule: SlaRule, cal: WorkCalendar, settings: Settings) -> datetime:
    if rule.unit == "calendar_hours":
        return start + timedelta(hours=rule.amount)
    if rule.unit == "working_hours":
        return cal.add_working_hours(start, rule.amount, settings.param("work_start"), settings.param("work_end"))
    return cal.add_working_days(start, rule.amount)


def clock_state(start: datetime, due: datetime, stop: datetime | None, now: datetime, share: float) -> str:
    if stop is not None:
        return "met" if stop <= due else "late"
    if now >= due:
        return "breached"
    window = (due - start).total_seconds()
    if window > 0 and (due - now).total_seconds() < share * window:
        return "at_risk"
    return "open"


@dataclass(frozen=True)
class Approval:
    """What the plan clock needs to know of approval: whether the plan needs one, whether a person
    with the authority gave it, and the times the tool records in empty cells at this run."""
    required: bool = False
    approved: bool = False
    stamped: dict = field(default_factory=dict)


def plan_done(c: Complaint, approval: Approval) -> bool:
    return plan_filled(c) and (not approval.required or approval.approved)


def extended(due: datetime, start: datetime, spans: list[tuple[datetime, datetime]], rule: SlaRule,
             cal: WorkCalendar, settings: Settings) -> datetime:
    """A due time pushed back by the time the case waited for the customer after the clock
    started — measured in the clock's own unit (wall time for calendar hours, working time else)."""
    for a, b in spans:
        a = max(a, start)
        if b <= a or a >= due:
            continue
        if rule.unit == "calendar_hours":
            due += b - a
        else:
            hours = cal.working_hours_between(a, b, settings.param("work_start"), settings.param("work_end"))
            try:
                due = cal.add_working_hours(due, hours, settings.param("work_start"), settings.param("work_end"))
            except ValueError:  # a pause of years (a mistyped date) moves nothing
                continue
    return due


PAUSED_CLOCKS = ("update", "resolve")  # the clocks waiting for the customer stops


def evaluate_clocks(c: Complaint, priority: str, settings: Settings, cal: WorkCalendar,
                    now: datetime, approval: Approval, last_contact: datetime | None,
                    spans: list[tuple[datetime, datetime]] | None = None) -> list[ClockResult]:
    """One ClockResult per CLOCK_TABLE entry, in order. A reopened complaint's resolution runs from
    its reopening (what came before was cleared by handling.reopen)."""
    if c.received_at is None or c.invalid:
        return [ClockResult(s.key, None, None, "na") for s in CLOCK_TABLE]
    t = c.times
    share = float(settings.param("at_risk_share"))

    def run(key, start, stop):
        if start is None:
            return ClockResult(key, None, None, "na")
        rule = settings.rule(key, priority, c.text.get("channel", ""))
        due = add_duration(start, rule, cal, settings)
        if key in PAUSED_CLOCKS and spans:
            due = extended(due, start, spans, rule, cal, settings)
        return ClockResult(key, start, due, clock_state(start, due, stop, now, share))

    results = [run("response", c.received_at, t["first_response_at"])]
    results.append(_plan_clock(c, run, now, approval))
    first = t["first_response_at"]
    if first is None:
        results.append(ClockResult("update", None, None, "na"))
    else:
        results.append(run("update", _update_start(c, first, last_contact), t["resolved_at"]))
    results.append(run("resolve", t["reopened_at"] or c.received_at, t["resolved_at"]))
    results.append(run("survey", t["confirmed_at"], t["survey_sent_at"]))
    return results


def _plan_clock(c: Complaint, run, now: datetime, approval: Approval) -> ClockResult:
    """The plan clock stops when the plan is made (方案制定时间, typed or recorded by the tool at
    first sight) and, when it needs approval, approved (审批时间) — the later of the two. A register
    without those columns keeps the verdict of the first run that saw the plan done. A disputed
    resolution starts it again from the resolution."""
    t = c.times
    if bool(c.text["objection"]) and t["confirmed_at"] is None:
        return run("plan", t["resolved_at"] or c.received_at, None)
    plan = run("plan", c.received_at, None)
    done = plan_done(c, approval)
    previous = to_code(CLOCK_STATE, c.previous.get("plan_status"))
    if done and t["plan_made_at"] is None and previous in ("met", "late"):
        plan.state = previous
    elif done or t["resolved_at"]:
        stop = (t["plan_made_at"] or now) if done else (t["resolved_at"] or now)
        if done and approval.required:
            stop = max(stop, t["approved_at"] or approval.stamped.get("approved_at") or now)
        if t["resolved_at"] and t["resolved_at"] < stop:
            stop = t["resolved_at"]
        plan.state = "met" if stop <= plan.due else "late"
    return plan
def _update_start(c: Complaint, first: datetime, last_contact: datetime | None) -> datetime:
    """The progress-update clock runs from the latest contact after the first response (from the
    first response when that contact came after the resolution)."""
    t = c.times
    start = max(x for x in (first, t["last_update_at"], last_contact) if x)
    resolved = t["resolved_at"]
    return first if resolved and resolved < start else start
