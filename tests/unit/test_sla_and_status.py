from datetime import datetime, timedelta

import pytest

from complaintdesk.adapters.calendar_cn import china_calendar
from complaintdesk.domain.engine import Context, evaluate
from complaintdesk.domain.intake import Counter, RepeatIndex
from complaintdesk.domain.model import RegisterRow, parse_complaint
from complaintdesk.domain.sla import clock_state
from tests.conftest import complaint

T0 = datetime(2026, 10, 9, 14, 30)  # Friday


def run(settings, now, last_contact=None, **kw):
    c = parse_complaint(RegisterRow(2, complaint(received_at=T0, **kw)))
    ctx = Context(settings, china_calendar(), now, Counter(), RepeatIndex(), last_contact or {})
    return evaluate(c, ctx)


def test_clock_state_thresholds():
    start, due = datetime(2026, 1, 1, 0), datetime(2026, 1, 1, 8)
    assert clock_state(start, due, None, datetime(2026, 1, 1, 5), 0.25) == "open"
    assert clock_state(start, due, None, datetime(2026, 1, 1, 6, 1), 0.25) == "at_risk"
    assert clock_state(start, due, None, due, 0.25) == "breached"
    assert clock_state(start, due, due, datetime(2026, 2, 1), 0.25) == "met"
    assert clock_state(start, due, due + timedelta(seconds=1), due, 0.25) == "late"


def test_new_p2_complaint_due_times(settings):
    v = run(settings, T0 + timedelta(hours=1))
    assert v["priority"] == "P2" and v["urgency"] == "normal"
    assert v["response_due"] == T0 + timedelta(hours=8)
    assert v["plan_due"] == datetime(2026, 10, 10, 14, 30)       # make-up Saturday is a workday
    assert v["resolve_due"] == datetime(2026, 10, 19, 14, 30)    # 10(Sat),12..16,19
    assert v["response_status"] == "open" and v["update_status"] == "na"
    assert v["survey_status"] == "na" and v["status"] == "registered"
    assert v["sla_status"] == "open"


def test_p0_breach_escalates(settings):
    v = run(settings, T0 + timedelta(hours=25), safety_risk="是", first_response_at=T0 + timedelta(hours=1))
    assert v["priority"] == "P0" and v["urgency"] == "urgent"
    assert v["response_status"] == "met" and v["resolve_status"] == "breached"
    assert v["update_status"] == "breached"  # 8 h after the first response
    assert v["escalated"] is True and v["status"] == "escalated" and v["sla_status"] == "breached"


def test_update_clock_follows_latest_contact(settings):
    first = T0 + timedelta(hours=1)
    contact = T0 + timedelta(hours=20)
    v = run(settings, T0 + timedelta(hours=30), {"": contact}, first_response_at=first)
    assert v["next_update_due"] == first + timedelta(hours=24)
    v = run(settings, T0 + timedelta(hours=30), first_response_at=first, last_update_at=contact)
    assert v["next_update_due"] == contact + timedelta(hours=24) and v["update_status"] == "open"


def test_plan_clock_met_when_seen_complete(settings):
    v = run(settings, T0 + timedelta(hours=3), first_response_at=T0 + timedelta(hours=1),
            plan_measures="换新", plan_deadline=T0 + timedelta(days=2))
    assert v["plan_status"] == "met"
    v = run(settings, T0 + timedelta(days=5), first_response_at=T0 + timedelta(hours=1),
            plan_measures="换新", plan_deadline=T0 + timedelta(days=2), cost=5000)
    assert v["approval_required"] is True and v["plan_status"] == "breached"  # waits for the manager


def test_full_flow_to_closed(settings):
    base = dict(first_response_at=T0 + timedelta(hours=1), plan_measures="换新",
                plan_deadline=T0 + timedelta(days=1), resolved_at=T0 + timedelta(days=1))
    assert run(settings, T0 + timedelta(days=2), **base)["status"] == "awaiting_confirmation"
    base.update(customer_agrees="是", confirmed_at=T0 + timedelta(days=2))
    v = run(settings, T0 + timedelta(days=3), **base)
    assert v["status"] == "awaiting_survey" and v["survey_status"] == "open"
    base.update(survey_sent_at=T0 + timedelta(days=3), score_efficiency=5, score_attitude=3, score_solution=5)
    v = run(settings, T0 + timedelta(days=4), **base)
    assert v["callback_required"] is True and v["status"] == "awaiting_survey"
    base.update(callback_done_at=T0 + timedelta(days=4))
    v = run(settings, T0 + timedelta(days=4, hours=1), **base)
    assert v["status"] == "closed" and v["closed_at"] == T0 + timedelta(days=4, hours=1)
    assert v["survey_status"] == "met"


def test_disagreement_and_objection(settings):
    base = dict(first_response_at=T0 + timedelta(hours=1), resolved_at=T0 + timedelta(days=1))
    v = run(settings, T0 + timedelta(days=2), customer_agrees="否", **base)
    assert v["status"] == "processing"
    v = run(settings, T0 + timedelta(days=2), objection="补偿太少", **base)
    assert v["escalated"] is True and v["status"] == "escalated"
    assert v["plan_due"] > T0 + timedelta(days=1)  # re-opened from the disputed result


@pytest.mark.parametrize("kw,needle", [
    ({"description": ""}, "缺少问题描述"), ({"contact": "", "customer_id": ""}, "缺少联系方式"),
    ({"channel": "飞鸽传书"}, "接收渠道"), ({"plan_reviewed_by": "路人甲"}, "方案审核人"),
    ({"priority_override": "P9"}, "优先级调整"),
])
def test_row_messages(settings, kw, needle):
    assert needle in run(settings, T0 + timedelta(hours=1), **kw)["validation"]


def test_unreadable_received_at_gets_no_number(settings):
    c = parse_complaint(RegisterRow(2, complaint(received_at="上周三")))
    out = evaluate(c, Context(settings, china_calendar(), T0, Counter(), RepeatIndex()))
    assert set(out) == {"validation"} and "暂不编号" in out["validation"]


def test_deadline_in_2027_warns(settings):
    late = datetime(2026, 12, 28, 10, 0)
    c = parse_complaint(RegisterRow(2, complaint(received_at=late)))
    out = evaluate(c, Context(settings, china_calendar(), late, Counter(), RepeatIndex()))
    assert "2027 年节假日安排未发布，请在 节假日 表中补充" in out["validation"]
    assert out["resolve_due"] == datetime(2027, 1, 6, 10, 0)  # Mon-Fri, 1 Jan counted as a workday
