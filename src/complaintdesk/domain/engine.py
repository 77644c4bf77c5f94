"""Domain — computes every automation column of one complaint.

`evaluate` applies the intake rules, the SLA clocks, escalation, closure and
the status flow, and returns the automation values as *codes* (see labels);
`to_cells` turns them into what the workbook shows. Pure: the caller passes
`now`, the calendar, the counter and the repeat index.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import handling, labels
from .intake import (
    Counter,
    RepeatIndex,
    cc_for,
    duty_supervisor,
    number_dept,
    number_problem,
    priority_for,
    route,
)
from .model import Complaint
from .parsing import text_of
from .settings import Settings
from .sla import CLOCK_TABLE, Approval, ClockResult, add_duration, evaluate_clocks
from .transitions import derive_status, is_closed
from .workcalendar import WorkCalendar, uncovered_message

ENDED = {"open": "met", "at_risk": "met", "breached": "late"}  # a clock still running when the case closes
SUSPECTED = "疑似安全问题"  # the reason priority_for gives a complaint made urgent by a 安全词
CHOICE_CHECKS = (("channel", "channel", "接收渠道"), ("request_type", "request_type", "诉求类型"),
                 ("resolution_type", "resolution_type", "解决方式"),
                 ("responsibility", "responsibility", "责任方"))


@dataclass
class Context:
    settings: Settings
    calendar: WorkCalendar
    now: datetime
    counter: Counter
    repeats: RepeatIndex
    last_contact: dict[str, datetime] = field(default_factory=dict)
    numbering: bool = True  # False: only refresh rows that already have a number
    # archives the register recorded are missing: complaints found earlier in them stay related
    # (repeat flag, related numbers, the priority a repeat raised are never lowered for that)
    archives_missing: bool = False
    group_events: dict[int, str] = field(default_factory=dict)  # row -> 群诉编号 (find_group_events)
    # number -> the pauses 沟通记录 shows (下一步 = 等待客户 until the next entry; None: still waiting)
    pauses: dict[str, list[tuple[datetime, datetime | None]]] = field(default_factory=dict)
    known_numbers: frozenset[str] | None = None  # the numbers 合并到 may name (None: not checked)


def input_problems(c: Complaint, s: Settings) -> list[str]:
    """What is wrong with what staff typed: cells that cannot be read, a missing description or
    contact, a value outside its dropdown list, a reviewer or approver without the role."""
    problems = list(c.problems)
    if not c.description:
        problems.append("缺少问题描述")
    if not c.contact and not c.customer_id:
        problems.append("缺少联系方式或客户ID，无法联系客户")
    return problems + _choice_problems(c, s) + _signer_problems(c, s)


def _choice_problems(c: Complaint, s: Settings) -> list[str]:
    problems = []
    for key, list_name, zh in CHOICE_CHECKS:
        value = c.text.get(key) if key in c.text else getattr(c, key, "")
        if value and value not in s.choices(list_name):
            problems.append(f"{zh}“{value[:20]}”不在设置的选项中")
    if c.member_level and c.member_level not in s.member_levels:
        problems.append(f"会员等级“{c.member_level[:20]}”不在设置的选项中")
    if c.emotion and c.emotion not in s.emotions:
        problems.append(f"情绪状态“{c.emotion[:20]}”不在设置的选项中")
    return problems


# who may sign the plan as its reviewer (an approver's authority is the 审批权限 table: handling)
SIGNERS = (("plan_reviewed_by", ("supervisor", "manager"), "方案审核人“{}”不是人员表中的客服主管"),)


def _signer_problems(c: Complaint, s: Settings) -> list[str]:
    """A reviewer not in the 人员 table with that role (checked when the table has people)."""
    problems = []
    for key, roles, message in SIGNERS:
        name = c.text[key]
        if name and s.staff:
            person = s.person(name)
            if person is None or person.role not in roles:
                problems.append(message.format(name[:20]))
    return problems


def evaluate(c: Complaint, ctx: Context) -> dict[str, object] | None:
    """Automation values (codes) for the row, or None when it must be left alone."""
    problems = input_problems(c, ctx.settings)
    if c.received_at is None:
        if not c.number:
            problems.insert(0, "接收时间为空或无法识别，暂不编号")
        return {"validation": "；".join(problems)}
    if not c.number and not ctx.numbering:
        return None
    return _evaluated(c, c.received_at, ctx, problems)


def _evaluated(c: Complaint, received: datetime, ctx: Context, problems: list[str]) -> dict[str, object]:
    """The steps of a row received at a known time: number, repeats, priority, routing, duty
    supervisor, approval, clocks, escalation, closing, status."""
    s, cal = ctx.settings, ctx.calendar
    cal.uncovered_used = set()
    problems += handling.reopen(c, ctx.now)
    number = _number(c, received, ctx, problems)
    earlier = ctx.repeats.earlier(c, int(s.param("repeat_days")))
    if ctx.archives_missing:
        earlier = list(dict.fromkeys([*split_numbers(c.previous.get("related_nos")), *earlier]))
    computed, reason = priority_for(c, bool(earlier), s)
    if reason.startswith(SUSPECTED):
        problems.append(f"{reason}，已按紧急/P0 处理（不涉及安全时在“涉及安全/重大损失”填“否”）")
    event = ctx.group_events.get(c.row_id, "")
    if event:  # a group complaint is urgent, whatever each complaint alone would be
        computed = "P0"
    priority = c.priority_override or computed
    code, dept_name, msg = route(c, s)
    if msg:
        problems.append(msg)
    code, dept_name, notes = handling.reassigned(c, s, code, dept_name)
    problems += notes + handling.handler_notes(c, s) + handling.pause_problems(c)
    duty = duty_supervisor(received, s)
    handler = c.text["assignee"] or duty
    approval = handling.approval_needed(c, s, handler)
    refused = handling.approver_problem(c, s) if approval else None
    approved = approval and bool(c.text["approved_by"]) and refused is None
    stamped = handling.stamps(c, ctx.now, approved)
    spans = handling.pauses(c, ctx.now, ctx.pauses.get(number, []))
    clocks = evaluate_clocks(c, priority, s, cal, ctx.now, Approval(approval, approved, stamped),
                             ctx.last_contact.get(number), spans)
    merge = handling.merge_problem(c, ctx.known_numbers)
    merged = bool(c.text["merged_into"]) and merge is None
    if merge:
        problems.append(merge)
    if merged:  # a duplicate keeps its number; its main complaint carries the clocks
        clocks = [ClockResult(r.key, None, None, "na") for r in clocks]
    by_key = {r.key: r for r in clocks}
    callback = any(v is not None and v <= 3 for v in c.scores.values())
    callback_owner, callback_due = handling.callback_plan(c, s, cal, ctx.now, handler, duty) if callback else ("", None)
    escalated = bool(c.flags.get("prev_escalated") or by_key["resolve"].state == "breached" or c.text["objection"]
                     or event) and not merged
    if approval and not approved:
        problems.append(refused or "方案超出处理人的审批权限（成本或跨部门），需有权限的人审批")
    closed = merged or _closed(c, ctx, priority, callback)
    if closed and not merged:  # a closed complaint waits for nothing: its clocks end with it
        clocks = [ClockResult(r.key, r.start, r.due, ENDED.get(r.state, r.state)) for r in clocks]
        by_key = {r.key: r for r in clocks}
    status = derive_status(c, {"closed": closed, "escalated": escalated, "merged": merged,
                               "waiting": handling.waiting_now(c, ctx.now, spans)})
    if cal.uncovered_used:
        problems.append(uncovered_message(cal.uncovered_used))
    values: dict[str, object] = {
        "complaint_no": number,
        "urgency": "urgent" if priority == "P0" else "normal",
        "priority": priority,
        "is_repeat": bool(earlier),
        "related_nos": "、".join(earlier),
        "group_event": event,
        "department": dept_name,
        "handler": handler,
        "cc": "、".join(dict.fromkeys(n for n in (*cc_for(code, s).split("、"), duty) if n and n != handler)),
        "sla_status": _worst_state(clocks),
        "status": status,
        "escalated": escalated,
        "approval_required": approval,
        "callback_required": callback,
        "callback_owner": callback_owner,
        "callback_due": callback_due,
        "closed_at": (c.previous.get("closed_at") or ctx.now) if closed else None,
        "validation": "；".join(dict.fromkeys(problems)),
    }
    for spec in CLOCK_TABLE:
        values[spec.due_col] = by_key[spec.key].due
        values[spec.status_col] = by_key[spec.key].state
    return values | stamped


def _number(c: Complaint, received: datetime, ctx: Context, problems: list[str]) -> str:
    """The complaint's number: the one it has, or the next of its prefix (received date and the
    department code numbering uses), which it keeps from now on."""
    dept_code, msg = number_dept(c, ctx.settings)
    if msg:
        problems.append(msg)
    refused = number_problem(c.number, text_of(ctx.settings.param("legacy_number_pattern"))) if c.number else None
    if refused:  # typed into the grey column: kept (it may be known outside), said on the row
        problems.append(refused)
    if not c.number:
        c.number = ctx.counter.issue(received, dept_code)
    return c.number


def _closed(c: Complaint, ctx: Context, priority: str, callback: bool) -> bool:
    """Closed: confirmed and surveyed (or the survey's reply window passed) and, if needed, called back."""
    s, sent = ctx.settings, c.times["survey_sent_at"]
    reply_deadline = add_duration(sent, s.sla[("survey", priority)], ctx.calendar, s) if sent else None
    return is_closed(c, ctx.now, reply_deadline, callback) and not c.invalid


def _worst_state(clocks) -> str:
    """The most severe state among the clocks that apply (na when none does)."""
    states = [r.state for r in clocks if r.state != "na"]
    return min(states, key=labels.STATE_SEVERITY.index) if states else "na"


def split_numbers(cell) -> list[str]:
    """The complaint numbers a 关联投诉编号 cell lists (joined by 、 as the tool writes them)."""
    text = cell if isinstance(cell, str) else ""
    return [n.strip() for n in text.replace(",", "、").replace("，", "、").split("、") if n.strip()]


def to_cells(values: dict[str, object], lang: str = "zh") -> dict[str, object]:
    """Codes -> what the workbook cells show."""
    out: dict[str, object] = {}
    for key, value in values.items():
        table = labels.ENUMS.get(key)
        if table is not None and key != "priority":
            out[key] = labels.label(table, value, lang) if value else None
        elif isinstance(value, bool):
            out[key] = labels.label(labels.BOOL, value, lang)
        elif value == "":
            out[key] = None
        else:
            out[key] = value
    return out
