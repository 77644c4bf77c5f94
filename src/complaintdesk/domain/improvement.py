"""Domain — improvement actions (整改, seed 004 限期整改): rows of the 整改 sheet staff keep, each
with its own clock, and which high-frequency problems still have no action. Pure: `now` passed in.

An action names its source complaint(s) and/or the high-frequency problem (产品/服务 × 类别) it
answers, an owner, a deadline and, when done, a completion time. The sheet is the staff's own:
the tool never writes it; it reads it for 预警, mail and the monthly report.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .parsing import number_key, parse_datetime, split_items, text_of

WARN_BEFORE = timedelta(days=3)  # an open action this close to its deadline is 即将超时


@dataclass
class Action:
    row: int                # the sheet row (2 = first under the header)
    number: str             # 整改编号 as typed ("" when none: the sheet row names it)
    complaints: list[str]   # 来源投诉编号
    problem: str            # 高频问题: "产品/服务 × 类别", or a product alone
    content: str
    owner: str
    due: datetime | None
    done_at: datetime | None
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.number or f"整改第{self.row}行"


def read_actions(rows: list[dict]) -> list[Action]:
    """The 整改 sheet's rows (by key) as actions; a row with neither content nor source is skipped,
    an unreadable date is a message of its row."""
    out = []
    for i, r in enumerate(rows, 2):
        content, problem = text_of(r.get("content")), text_of(r.get("problem"))
        complaints = split_items(r.get("complaint_nos"))
        if not (content or problem or complaints):
            continue
        action = Action(i, text_of(r.get("action_no")), complaints, problem, content, text_of(r.get("owner")),
                        None, None)
        for key, attr, zh in (("due", "due", "整改期限"), ("done_at", "done_at", "完成时间")):
            value, message = parse_datetime(r.get(key))
            setattr(action, attr, value)
            if message:
                action.problems.append(f"{zh}：{message}")
        if action.due is None and not action.problems:
            action.problems.append("没有整改期限")
        if not action.owner:
            action.problems.append("没有负责人")
        out.append(action)
    return out


def action_state(action: Action, now: datetime) -> str:
    """A clock state (labels.CLOCK_STATE code) of the action against its deadline."""
    if action.due is None:
        return "na"
    if action.done_at is not None:
        return "met" if action.done_at <= action.due else "late"
    if now >= action.due:
        return "breached"
    return "at_risk" if action.due - now < WARN_BEFORE else "open"


def answers(action: Action, hotspot: dict) -> bool:
    """Whether an action answers a high-frequency problem: it names the product (and, when it
    names one, the category), or one of the problem's complaints is among its sources."""
    text = action.problem.replace(" ", "")
    product, category = (hotspot.get("product") or "").replace(" ", ""), hotspot.get("category") or ""
    # "产品 × 类别" must match both; a product alone answers it in every category
    named = bool(product) and product in text and ("×" not in text or category in text)
    sources = {number_key(n) for n in action.complaints}
    return named or any(number_key(n) in sources for n in hotspot.get("examples", ()))


def without_action(hotspots: list[dict], actions: list[Action]) -> list[dict]:
    """The high-frequency problems no action answers."""
    return [h for h in hotspots if not any(answers(a, h) for a in actions)]


def summary_of(actions: list[Action], now: datetime) -> dict:
    """How many actions are in each state, and the list as the report shows it."""
    states = [action_state(a, now) for a in actions]
    rows = [{"action": a.label, "problem": a.problem or "、".join(a.complaints), "content": a.content,
             "owner": a.owner, "due": a.due.isoformat() if a.due else None,
             "done_at": a.done_at.isoformat() if a.done_at else None, "state": state}
            for a, state in zip(actions, states)]
    return {"actions": rows, "counts": dict(Counter(states))}
