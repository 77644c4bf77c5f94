"""Domain — how a case is handled after intake: who handles it (reassignment), who may approve
its plan (the 审批权限 table of 设置), when its clocks wait for the customer (pauses), and what
a reopened or a merged complaint means. Pure: the caller passes `now` and the settings.

Seeds 000/002 (责任到人、转派), 004 (处理权限), 002 4.1 (客户同意方案): a typed 处理人 / 转派部门
wins over the roster and the routing; an approval counts only from a person whose role's
authority covers the plan (cost, several departments).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..errors import RuleConflictError
from .model import Complaint
from .parsing import number_key, parse_bool, parse_datetime, text_of

if TYPE_CHECKING:
    from .settings import Settings

# 审批权限 as `init` writes it: role, the highest plan cost it may approve (blank: no limit),
# whether it may approve a plan that involves several departments
DEFAULT_AUTHORITY = (("客服专员", 0, "否"), ("客服主管", 1000, "否"), ("部门负责人", 1000, "否"),
                     ("客服经理", "不限", "是"))
HANDLER_ROLE = "supervisor"  # the role of a handler not in 人员 (the duty supervisor by default)
WAITING = ("等待客户", "waiting for customer")  # 沟通记录 下一步 values that start a pause


@dataclass(frozen=True)
class Authority:
    role: str                # key of settings.ROLES
    max_cost: float | None   # None: no limit
    cross_dept: bool

    def covers(self, cost: float | None, cross: bool) -> bool:
        within = self.max_cost is None or cost is None or cost <= self.max_cost
        return within and (self.cross_dept or not cross)


def authority_table(rows, cost_threshold: float) -> dict[str, Authority]:
    """The 审批权限 block (address, (role, max cost, cross-department)) as role -> Authority; a
    register made before the block existed gets the old rule: supervisors and department heads up
    to 经理审批成本阈值, the manager without limit."""
    from .settings import role_key
    if not rows:
        return {"agent": Authority("agent", 0, False),
                "supervisor": Authority("supervisor", cost_threshold, False),
                "dept_head": Authority("dept_head", cost_threshold, False),
                "manager": Authority("manager", None, True)}
    table: dict[str, Authority] = {}
    for addr, row in rows:
        row = tuple(row) + (None,) * 3
        role = role_key(text_of(row[0]))
        if role is None:
            raise RuleConflictError(f"设置!{addr}：审批权限中的角色“{text_of(row[0])[:20]}”未知"
                                    "（可用：客服专员/客服主管/部门负责人/客服经理）")
        table[role] = Authority(role, _max_cost(addr, row[1]), bool(parse_bool(row[2])[0]))
    return table


def _max_cost(addr: str, raw) -> float | None:
    text = text_of(raw).replace(",", "").replace("，", "")
    if text in ("", "不限", "无限", "unlimited"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise RuleConflictError(f"设置!{addr}：审批上限“{text[:20]}”应为金额（空白或“不限”表示不限）")
    if value < 0:
        raise RuleConflictError(f"设置!{addr}：审批上限不能为负数")
    return value


# ---- who handles it ----------------------------------------------------------------
def reassigned(c: Complaint, s: "Settings", code: str, dept_name: str) -> tuple[str, str, list[str]]:
    """(department code, department name, row notes) after a typed 转派部门 (a code or a name)."""
    typed = c.text.get("assignee_dept", "")
    if not typed:
        return code, dept_name, []
    for dept_code, name in s.departments.items():
        if typed.upper() == dept_code.upper() or typed == name:
            return dept_code, name, []
    return code, dept_name, [f"转派部门“{typed[:20]}”不在设置的部门表中，仍由{dept_name}处理"]


def handler_notes(c: Complaint, s: "Settings") -> list[str]:
    """A typed 处理人 not in the 人员 table (checked when the table has people)."""
    name = c.text.get("assignee", "")
    if name and s.staff and s.person(name) is None:
        return [f"处理人“{name[:20]}”不在人员表中（仍按其处理，邮件无法送达）"]
    return []


# ---- approval ----------------------------------------------------------------------
def spans_departments(c: Complaint, s: "Settings") -> bool:
    """The plan names two or more departments of 设置 (in 所需资源 or 处理措施)."""
    text = c.text["plan_resources"] + c.text["plan_measures"]
    return sum(1 for name in s.departments.values() if name and name in text) >= 2


def _role_of(name: str, s: "Settings") -> str:
    person = s.person(name) if name else None
    return person.role if person is not None else HANDLER_ROLE


def approval_needed(c: Complaint, s: "Settings", handler: str) -> bool:
    """The plan goes beyond what its handler's role may decide alone (cost or departments)."""
    authority = s.authority.get(_role_of(handler, s))
    if authority is None:
        return c.cost is not None and c.cost > 0 or spans_departments(c, s)
    return not authority.covers(c.cost, spans_departments(c, s))


def approver_problem(c: Complaint, s: "Settings") -> str | None:
    """Why the typed 审批人 cannot approve this plan (None: they can, or 人员 is empty to check)."""
    name = c.text["approved_by"]
    if not name or not s.staff:
        return None
    person = s.person(name)
    if person is None:
        return f"审批人“{name[:20]}”不在人员表中，审批无效"
    from .settings import ROLES
    role = ROLES[person.role][0]
    authority = s.authority.get(person.role)
    cross = spans_departments(c, s)
    if authority is None:
        return f"审批人“{name}”（{role}）在审批权限表中没有权限，审批无效"
    if not authority.covers(c.cost, False):
        return (f"审批人“{name}”（{role}）的审批上限为 {authority.max_cost:,.0f} 元，"
                f"本方案成本 {c.cost:,.0f} 元，审批无效，需更高权限的人审批")
    if cross and not authority.cross_dept:
        return f"审批人“{name}”（{role}）无权审批跨部门方案，审批无效"
    return None


def plan_filled(c: Complaint) -> bool:
    return bool(c.text["plan_measures"]) and c.times["plan_deadline"] is not None


def stamps(c: Complaint, now: datetime, approved: bool) -> dict[str, datetime]:
    """The times the tool records at first sight in empty cells: the plan made, the approval."""
    out = {}
    if plan_filled(c) and c.times["plan_made_at"] is None:
        out["plan_made_at"] = now
    if approved and c.times["approved_at"] is None:
        out["approved_at"] = now
    return out


# ---- the supervisor's callback after a low score (seed 000: ≤3 分回访) ----------------------
CALLBACK_DAYS = 2  # working days from the first run that sees the low score


def callback_plan(c: Complaint, s: "Settings", cal, now: datetime, handler: str, duty: str) -> tuple[str, datetime]:
    """(who calls the customer back, by when): the handler when a supervisor or manager handles the
    case, else the supervisor on duty when it came in; due two working days after the low score
    was first seen — a due time once set is kept."""
    person = s.person(handler) if handler else None
    owner = handler if person is not None and person.role in ("supervisor", "manager") else duty
    due = parse_datetime(c.previous.get("callback_due"))[0]
    return owner, due or cal.add_working_days(now, CALLBACK_DAYS)


# ---- waiting for the customer --------------------------------------------------------
Span = tuple[datetime, datetime]


def pauses(c: Complaint, now: datetime, logged=()) -> list[Span]:
    """The intervals the case waited for the customer: 等待客户开始..结束 (still running: until
    now) and the pauses of 沟通记录 (下一步 = 等待客户, until the next entry), merged where they
    overlap."""
    t = c.times
    spans = [(start, end or now) for start, end in logged]
    if t["paused_from"] is not None:
        spans.append((t["paused_from"], t["paused_until"] or now))
    merged: list[Span] = []
    for start, end in sorted((min(a, now), min(b, now)) for a, b in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def pause_problems(c: Complaint) -> list[str]:
    t = c.times
    if t["paused_until"] is not None and t["paused_from"] is None:
        return ["填了等待客户结束，但没有等待客户开始，暂停不计"]
    if t["paused_until"] is not None and t["paused_from"] is not None and t["paused_until"] < t["paused_from"]:
        return ["等待客户结束早于开始，暂停不计"]
    return []


def waiting_now(c: Complaint, now: datetime, spans: list[Span]) -> bool:
    """Waiting for the customer at `now` — a pause (`pauses`: the columns or 沟通记录) still running,
    which `pauses` ends at now — and not yet resolved."""
    return bool(spans) and spans[-1][1] >= now and c.times["resolved_at"] is None


# ---- reopen and merge ----------------------------------------------------------------
REOPEN_CLEARS = ("resolved_at", "confirmed_at", "survey_sent_at", "callback_done_at")


def reopen(c: Complaint, now: datetime) -> list[str]:
    """A reopened complaint: what happened before 重新打开时间 (resolution, confirmation, survey,
    callback, closing) no longer counts; its resolution clock starts again from the reopening.
    Returns the row's notes (a reopening before receipt or in the future does not count)."""
    when = c.times["reopened_at"]
    if when is None:
        return []
    if c.received_at is not None and when < c.received_at or when > now:
        c.times["reopened_at"] = None
        return ["重新打开时间早于接收时间，不计" if when <= now else "重新打开时间晚于现在，不计"]
    for key in REOPEN_CLEARS:
        moment = c.times[key]
        if moment is not None and moment < when:
            c.times[key] = None
    closed = parse_datetime(c.previous.get("closed_at"))[0]
    if closed is not None and closed < when:
        c.previous["closed_at"] = None
    return []


def merge_problem(c: Complaint, known: frozenset[str] | None) -> str | None:
    """Why 合并到 cannot stand (None: it may): itself, or a number the register does not hold."""
    target = number_key(c.text["merged_into"])
    if not target:
        return None
    if target == number_key(c.number):
        return "合并到填了本投诉自己的编号，未合并"
    if known is not None and target not in known:
        return f"合并到的投诉编号“{target[:30]}”在登记表中找不到，未合并"
    return None
