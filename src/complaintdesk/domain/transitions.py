"""Domain — the complaint status flow as data.

A complaint's status is derived from its timestamps and flags, never typed.
`STATUS_RULES` is checked top to bottom; the first predicate that holds wins.
The order *is* the flow: 已登记 → 处理中 → 待确认 → 待回访 → 已关闭, with
已升级, 等待客户, 已合并 and 无效 as side states. Customer disagreement sends it back to 处理中.
"""
from __future__ import annotations

from datetime import datetime

from . import labels
from .model import Complaint

# what a register row's 状态 reads when the complaint is closed (in either language of the workbook)
# (a merged duplicate is done too: it waits for nothing and is archived like a closed one)
CLOSED_STATUS = frozenset({*labels.STATUS["closed"], "closed", *labels.STATUS["merged"], "merged"})
# status codes of a complaint that waits for nothing more from the customer: no survey, no acknowledgement
DONE_CODES = ("closed", "invalid", "merged")


def row_closed(status, closed_at) -> bool:
    """A register row counts as closed — for numbering, repeats, archives, the light read of a large
    register — when its status reads closed and it has a closing time."""
    return status in CLOSED_STATUS and closed_at not in (None, "")


def is_closed(c: Complaint, now: datetime, reply_deadline: datetime | None, callback_required: bool) -> bool:
    """Confirmed, surveyed (or the customer let the reply window pass), callback done if needed."""
    t = c.times
    if t["confirmed_at"] is None or c.flags.get("customer_agrees") is False:
        return False
    surveyed = any(v is not None for v in c.scores.values())
    window_passed = reply_deadline is not None and now > reply_deadline
    if not (surveyed or window_passed):
        return False
    return not callback_required or t["callback_done_at"] is not None


def _disagrees(c: Complaint) -> bool:
    return c.flags.get("customer_agrees") is False or (bool(c.text["objection"]) and c.times["confirmed_at"] is None)


STATUS_RULES = (
    ("invalid", lambda c, s: c.invalid),
    ("merged", lambda c, s: s.get("merged", False)),
    ("closed", lambda c, s: s["closed"]),
    ("escalated", lambda c, s: s["escalated"] and c.times["confirmed_at"] is None),
    ("processing", lambda c, s: _disagrees(c) and c.times["resolved_at"] is not None),
    ("awaiting_survey", lambda c, s: c.times["confirmed_at"] is not None),
    ("awaiting_confirmation", lambda c, s: c.times["resolved_at"] is not None),
    ("waiting", lambda c, s: s.get("waiting", False)),
    ("processing", lambda c, s: c.times["first_response_at"] is not None),
    ("registered", lambda c, s: True),
)


def derive_status(c: Complaint, state: dict) -> str:
    for code, holds in STATUS_RULES:
        if holds(c, state):
            return code
    return "registered"
