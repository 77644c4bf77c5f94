"""Case handling rules, each with a hand-computed case: reassignment, plan made / approved by
someone with the authority, waiting for the customer, reopen, merge."""
from datetime import datetime, timedelta

import pytest

from complaintdesk.adapters.calendar_cn import china_calendar
from complaintdesk.domain.engine import Context, evaluate
from complaintdesk.domain.handling import authority_table
from complaintdesk.domain.intake import Counter, RepeatIndex
from complaintdesk.domain.model import RegisterRow, parse_complaint
from complaintdesk.domain.settings import default_settings
from complaintdesk.errors import RuleConflictError
from tests.conftest import complaint

T0 = datetime(2026, 10, 9, 14, 30)  # Friday; 10-10 is a make-up workday (调休)
NUMBER = "20261009-AS-001"


def run(now, settings=None, pauses=None, known=None, **kw):
    kw.setdefault("complaint_no", NUMBER)
    c = parse_complaint(RegisterRow(2, complaint(received_at=kw.pop("received_at", T0), **kw)))
    ctx = Context(settings or default_settings(), china_calendar(), now, Counter(), RepeatIndex(), {},
                  pauses=pauses or {}, known_numbers=known)
    return evaluate(c, ctx)


# ---- reassignment -----------------------------------------------------------------------
def test_a_typed_assignee_and_department_win_over_roster_and_routing():
    v = run(T0 + timedelta(hours=1), category="产品质量")
    assert v["handler"] == "王主管" and v["department"] == "售后部" and v["cc"].startswith("孙强")
    v = run(T0 + timedelta(hours=1), category="产品质量", assignee="李客服", assignee_dept="WL")
    assert v["handler"] == "李客服" and v["department"] == "仓储物流部"
    assert v["cc"].split("、")[0] == "周涛"  # the new department's head is copied
    v = run(T0 + timedelta(hours=1), category="产品质量", assignee_dept="质量部")  # a name works too
    assert v["department"] == "质量部" and v["handler"] == "王主管"


def test_an_unknown_department_or_person_is_said_and_routing_kept():
    v = run(T0 + timedelta(hours=1), category="产品质量", assignee="路人甲", assignee_dept="XX")
    assert v["department"] == "售后部" and v["handler"] == "路人甲"
    assert "转派部门“XX”不在设置的部门表中" in v["validation"]
    assert "处理人“路人甲”不在人员表中" in v["validation"]


# ---- plan made at 21:00 against a 22:00 deadline ----------------------------------------
PLAN = dict(first_response_at=T0 + timedelta(minutes=30), plan_measures="换新",
            plan_deadline=T0 + timedelta(days=2))


def test_a_plan_typed_at_21_against_22_is_on_time_though_seen_at_23():
    received = datetime(2026, 10, 9, 20, 0)  # P0: the plan is due 2 h later, 22:00
    v = run(datetime(2026, 10, 9, 23, 0), received_at=received, safety_risk="是",
            plan_made_at=datetime(2026, 10, 9, 21, 0), **PLAN)
    assert v["plan_due"] == datetime(2026, 10, 9, 22, 0)
    assert v["plan_status"] == "met"
    assert "plan_made_at" not in v  # typed by staff: never overwritten
    v = run(datetime(2026, 10, 9, 23, 0), received_at=received, safety_risk="是", **PLAN)
    assert v["plan_status"] == "late" and v["plan_made_at"] == datetime(2026, 10, 9, 23, 0)  # first sight


def test_the_first_sight_verdict_is_kept_by_a_register_without_the_column():
    late = run(T0 + timedelta(days=3), plan_status="按时完成", **PLAN)
    assert late["plan_status"] == "met"  # the verdict of the run that saw the plan made
    typed = run(T0 + timedelta(days=3), plan_status="按时完成", plan_made_at=T0 + timedelta(days=2), **PLAN)
    assert typed["plan_status"] == "late"  # a typed time is the truth (due 10-10 14:30)


# ---- approval by authority --------------------------------------------------------------
def test_a_non_manager_approval_does_not_stop_the_clock():
    base = dict(PLAN, cost=1500, plan_made_at=T0 + timedelta(hours=2))
    v = run(T0 + timedelta(hours=3), approved_by="刘主管", **base)
    assert v["approval_required"] is True
    assert "审批人“刘主管”（客服主管）的审批上限为 1,000 元，本方案成本 1,500 元" in v["validation"]
    assert v["plan_status"] == "open" and "approved_at" not in v
    v = run(T0 + timedelta(hours=5), approved_by="陈经理", **base)
    assert v["plan_status"] == "met" and v["approved_at"] == T0 + timedelta(hours=5)
    assert "审批" not in v["validation"]


def test_the_clock_stops_at_the_later_of_made_and_approved():
    base = dict(PLAN, cost=1500, plan_made_at=T0 + timedelta(hours=2), approved_by="陈经理")
    # P2 plan due one working day later: 10-10 14:30 (make-up Saturday)
    v = run(T0 + timedelta(days=5), approved_at=datetime(2026, 10, 10, 15, 0), **base)
    assert v["plan_status"] == "late"
    v = run(T0 + timedelta(days=5), approved_at=datetime(2026, 10, 10, 14, 0), **base)
    assert v["plan_status"] == "met"


def test_a_supervisor_handles_up_to_his_limit_and_an_agent_needs_approval():
    v = run(T0 + timedelta(hours=3), cost=800, **PLAN)  # the duty supervisor may decide 800
    assert v["approval_required"] is False
    v = run(T0 + timedelta(hours=3), cost=800, assignee="李客服", **PLAN)  # an agent may not
    assert v["approval_required"] is True and v["plan_status"] == "open"
    v = run(T0 + timedelta(hours=3), cost=800, assignee="李客服", approved_by="王主管", **PLAN)
    assert v["plan_status"] == "met"


def test_two_departments_need_someone_who_may_approve_across_them():
    two = dict(PLAN, plan_resources="售后部上门检测，仓储物流部补发")
    v = run(T0 + timedelta(hours=3), approved_by="赵敏", **two)  # a department head: one department only
    assert v["approval_required"] is True and "无权审批跨部门方案" in v["validation"]
    assert run(T0 + timedelta(hours=3), approved_by="陈经理", **two)["plan_status"] == "met"


def test_the_authority_table_reads_limits_and_refuses_unknown_roles():
    table = authority_table([("AD3", ("客服主管", "2,000", "否")), ("AD4", ("客服经理", "不限", "是"))], 1000)
    assert table["supervisor"].max_cost == 2000 and table["manager"].max_cost is None
    assert table["manager"].cross_dept and not table["supervisor"].cross_dept
    with pytest.raises(RuleConflictError, match="AD3.*角色“组长”未知"):
        authority_table([("AD3", ("组长", 100, "否"))], 1000)
    with pytest.raises(RuleConflictError, match="AD3.*审批上限“很多”"):
        authority_table([("AD3", ("客服主管", "很多", "否"))], 1000)
    old = authority_table([], 500)  # a register made before the table: the single threshold
    assert old["supervisor"].max_cost == 500 and old["manager"].max_cost is None


# ---- waiting for the customer -----------------------------------------------------------
def test_a_paused_case_has_its_resolution_and_update_due_moved_by_the_pause():
    urgent = dict(safety_risk="是", first_response_at=T0 + timedelta(hours=1))
    v = run(T0 + timedelta(hours=20), **urgent)
    assert v["resolve_due"] == T0 + timedelta(hours=24)
    pause = dict(paused_from=T0 + timedelta(hours=2), paused_until=T0 + timedelta(hours=12))
    v = run(T0 + timedelta(hours=30), **urgent, **pause)
    assert v["resolve_due"] == T0 + timedelta(hours=34)            # 24 h + 10 h waited
    assert v["next_update_due"] == T0 + timedelta(hours=19)        # 8 h after the response + 10 h
    assert v["response_due"] == T0 + timedelta(hours=2)            # the response clock never waits
    assert v["resolve_status"] == "at_risk"


def test_a_running_pause_shows_waiting_and_a_working_day_clock_moves_by_working_time():
    v = run(T0 + timedelta(days=3), first_response_at=T0 + timedelta(hours=1),
            paused_from=datetime(2026, 10, 12, 9, 0))
    assert v["status"] == "waiting"
    # P2: 7 working days -> 10-19 14:30; waited 10-12 09:00..10-12 14:30 = 5.5 working hours
    assert v["resolve_due"] == datetime(2026, 10, 20, 11, 0)
    v = run(T0 + timedelta(days=3), first_response_at=T0 + timedelta(hours=1),
            paused_until=datetime(2026, 10, 12, 9, 0))
    assert "没有等待客户开始" in v["validation"] and v["status"] == "processing"


def test_pauses_from_the_communication_log_add_up():
    urgent = dict(safety_risk="是", first_response_at=T0 + timedelta(hours=1))
    logged = {NUMBER: [(T0 + timedelta(hours=2), T0 + timedelta(hours=4)),
                       (T0 + timedelta(hours=3), T0 + timedelta(hours=6))]}  # overlapping: 4 h in all
    v = run(T0 + timedelta(hours=10), pauses=logged, **urgent)
    assert v["resolve_due"] == T0 + timedelta(hours=28)
    still = {NUMBER: [(T0 + timedelta(hours=2), None)]}   # 下一步 等待客户, no later entry yet
    v = run(T0 + timedelta(hours=10), pauses=still, **urgent)
    assert v["status"] == "waiting" and v["resolve_due"] == T0 + timedelta(hours=32)


# ---- reopen -------------------------------------------------------------------------------
DONE = dict(first_response_at=T0 + timedelta(hours=1), plan_measures="换新", plan_deadline=T0 + timedelta(days=1),
            plan_made_at=T0 + timedelta(hours=2), resolved_at=T0 + timedelta(days=1), customer_agrees="是",
            confirmed_at=T0 + timedelta(days=2), survey_sent_at=T0 + timedelta(days=2),
            score_efficiency=5, score_attitude=5, score_solution=5)


def test_a_reopened_case_runs_its_resolution_clock_again():
    closed = run(T0 + timedelta(days=4), **DONE)
    assert closed["status"] == "closed"
    reopened_at = datetime(2026, 10, 20, 10, 0)
    v = run(datetime(2026, 10, 21, 10, 0), reopened_at=reopened_at, closed_at=closed["closed_at"],
            status="已关闭", **DONE)
    assert v["status"] == "processing" and v["closed_at"] is None
    assert v["resolve_due"] == datetime(2026, 10, 29, 10, 0)  # 7 working days from the reopening
    assert v["resolve_status"] == "open" and v["survey_status"] == "na"
    again = dict(DONE, resolved_at=datetime(2026, 10, 22, 10, 0), confirmed_at=datetime(2026, 10, 22, 11, 0),
                 survey_sent_at=datetime(2026, 10, 22, 12, 0))
    v = run(datetime(2026, 10, 23, 10, 0), reopened_at=reopened_at, **again)
    assert v["status"] == "closed" and v["resolve_status"] == "met"
    assert v["closed_at"] == datetime(2026, 10, 23, 10, 0)
    v = run(T0 + timedelta(days=1), reopened_at=T0 - timedelta(days=1))
    assert "重新打开时间早于接收时间" in v["validation"]
    v = run(T0 + timedelta(days=4), reopened_at=T0 + timedelta(days=9), **DONE)   # a typo: next week
    assert "重新打开时间晚于现在" in v["validation"] and v["status"] == "closed"


# ---- merge --------------------------------------------------------------------------------
def test_a_merged_duplicate_keeps_its_number_and_stops_its_clocks():
    main = "20261009-AS-002"
    v = run(T0 + timedelta(days=3), merged_into=main, known=frozenset({NUMBER, main}))
    assert v["complaint_no"] == NUMBER and v["status"] == "merged"
    assert v["sla_status"] == "na" and v["resolve_due"] is None and v["escalated"] is False
    assert v["closed_at"] == T0 + timedelta(days=3)  # done: archived like a closed complaint
    v = run(T0 + timedelta(days=3), merged_into="20261009-AS-099", known=frozenset({NUMBER, main}))
    assert v["status"] != "merged" and "在登记表中找不到，未合并" in v["validation"]
    v = run(T0 + timedelta(days=3), merged_into=NUMBER.lower(), known=frozenset({NUMBER}))
    assert v["status"] != "merged" and "本投诉自己的编号" in v["validation"]


# ---- callback, cc, channel limits --------------------------------------------------------
def test_a_low_score_gets_a_callback_owner_and_a_due_two_working_days_later():
    scored = dict(DONE, score_attitude=2)
    now = datetime(2026, 10, 16, 17, 0)  # Friday
    v = run(now, **scored)
    assert v["callback_required"] is True and v["callback_owner"] == "王主管"
    assert v["callback_due"] == datetime(2026, 10, 20, 17, 0)          # Mon, Tue
    kept = run(now + timedelta(days=3), callback_due=v["callback_due"], **scored)
    assert kept["callback_due"] == v["callback_due"]                    # once set, kept
    by_agent = run(now, assignee="李客服", **scored)
    assert by_agent["callback_owner"] == "王主管"                        # an agent's case: the supervisor
    by_manager = run(now, assignee="陈经理", **scored)
    assert by_manager["callback_owner"] == "陈经理"
    assert not run(now, **DONE)["callback_owner"]                       # no low score: nobody


def test_the_supervisor_on_duty_is_copied_when_someone_else_handles_the_case():
    assert "王主管" not in run(T0 + timedelta(hours=1))["cc"].split("、")   # he handles it
    cc = run(T0 + timedelta(hours=1), assignee="李客服")["cc"].split("、")
    assert "王主管" in cc and "李客服" not in cc


def test_a_channel_response_limit_wins_over_the_priority_limit():
    from complaintdesk.domain.settings import SlaRule
    s = default_settings()
    s.channel_sla = {("社交媒体", ""): SlaRule(1, "calendar_hours"), ("邮件", "P2"): SlaRule(1, "working_days")}
    assert run(T0 + timedelta(minutes=5), settings=s, channel="社交媒体")["response_due"] == T0 + timedelta(hours=1)
    assert run(T0 + timedelta(minutes=5), settings=s, channel="邮件")["response_due"] == datetime(2026, 10, 10, 14, 30)
    assert run(T0 + timedelta(minutes=5), settings=s, channel="电话")["response_due"] == T0 + timedelta(hours=8)


def test_the_channel_limit_table_refuses_what_it_cannot_read():
    from complaintdesk.domain.settings import _channel_sla
    rules = _channel_sla([("AF3", ("社交媒体", "", 1, "日历小时")), ("AF4", ("邮件", "p1", 2, "工作小时"))])
    assert rules[("社交媒体", "")].amount == 1 and rules[("邮件", "P1")].unit == "working_hours"
    with pytest.raises(RuleConflictError, match="AF3.*未知的时限单位"):
        _channel_sla([("AF3", ("邮件", "", 1, "分钟"))])
    with pytest.raises(RuleConflictError, match="AF4.*重复"):
        _channel_sla([("AF3", ("邮件", "", 1, "日历小时")), ("AF4", ("邮件", "", 2, "日历小时"))])


def test_tags_count_once_each_in_the_breakdown():
    from complaintdesk.domain.kpis import monthly_kpis
    from complaintdesk.domain.parsing import split_items
    assert split_items("物流、破损, 物流；直播") == ["物流", "破损", "直播"]
    records = [{"complaint_no": f"N{i}", "received_at": "2026-10-09T10:00:00", "tags": tags}
               for i, tags in enumerate(("物流、破损", "物流", "", None))]
    assert monthly_kpis(records, "2026-10")["by_tag"] == {"物流": 2, "破损": 1}


def test_a_closed_complaint_keeps_no_clock_running():
    """Scores typed without a 回访发送时间 (a survey by phone): the case closes and its survey clock
    ends — late when its due time had passed, never 'breached' for ever on a closed row."""
    phoned = {k: v for k, v in DONE.items() if k != "survey_sent_at"}
    v = run(T0 + timedelta(days=10), **phoned)
    assert v["status"] == "closed" and v["survey_status"] == "late" and v["sla_status"] == "late"
    v = run(datetime(2026, 10, 12, 9, 0), **phoned)       # answered within the survey window
    assert v["status"] == "closed" and v["survey_status"] == "met"
