"""Domain — a register row as read, and the typed complaint the rules work on.

`RegisterRow` carries the raw cell values by field key (whatever staff typed);
`parse_complaint` reads them into a `Complaint` plus per-row problem messages.
Parsing never raises: an unreadable value becomes None and a message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from . import labels
from .parsing import parse_bool, parse_datetime, parse_money, parse_score, text_of
from .schema import BY_KEY


@dataclass
class RegisterRow:
    row_id: int               # sheet row number (or position in a fake store)
    values: dict[str, object]  # field key -> raw cell value

    def get(self, key: str):
        return self.values.get(key)


@dataclass
class Complaint:
    row_id: int
    number: str
    received_at: datetime | None
    request_type: str
    category: str
    dept_code: str
    member_level: str
    emotion: str
    safety_risk: bool
    customer_id: str
    contact: str
    customer_name: str
    description: str
    product: str
    priority_override: str | None
    invalid: bool
    times: dict[str, datetime | None] = field(default_factory=dict)
    flags: dict[str, bool | None] = field(default_factory=dict)
    scores: dict[str, int | None] = field(default_factory=dict)
    cost: float | None = None
    text: dict[str, str] = field(default_factory=dict)
    previous: dict[str, object] = field(default_factory=dict)  # current automation values
    problems: list[str] = field(default_factory=list)

    @property
    def is_complaint(self) -> bool:
        return self.request_type in COMPLAINT_TYPES


COMPLAINT_TYPES = ("", "投诉", "complaint")  # 来电类型 of a complaint (empty: nothing else was chosen)
INVALID_MARKS = ("无效", "invalid", "否")      # 是否有效 of a complaint found invalid


class Brief(NamedTuple):
    """What a command needs of every open complaint before it evaluates any (numbering order,
    repeat detection, group events): a few parsed cells, not the whole Complaint."""
    row_id: int
    number: str
    received_at: datetime | None
    request_type: str
    category: str
    customer_id: str
    contact: str
    invalid: bool

    @property
    def is_complaint(self) -> bool:
        return self.request_type in COMPLAINT_TYPES


TIME_KEYS = ("first_response_at", "plan_deadline", "last_update_at", "resolved_at",
             "confirmed_at", "survey_sent_at", "callback_done_at", "plan_made_at", "approved_at",
             "plan_agreed_at", "paused_from", "paused_until", "reopened_at")
SCORE_KEYS = ("score_efficiency", "score_attitude", "score_solution")
TEXT_KEYS = ("plan_measures", "plan_reviewed_by", "approved_by", "plan_resources", "objection",
             "resolution_type", "responsibility", "callback_note", "demand", "order_no",
             "survey_comment", "remarks", "channel", "location", "invalid_reason", "recorded_by",
             "assignee", "assignee_dept", "merged_into", "cause_analysis", "improvement", "evidence", "tags")


def _parsed(v: dict, keys, parse, problems: list[str], **context) -> dict:
    """Each key's cell through `parse` (value, message); a message is kept as a problem of its column."""
    out = {}
    for key in keys:
        value, msg = parse(v.get(key), **context)
        if msg:
            problems.append(f"{BY_KEY[key].zh}：{msg}")
        out[key] = value
    return out


def brief_of(row: RegisterRow, now: datetime | None = None) -> Brief:
    """The cells of a row a Brief holds, read as parse_complaint reads them."""
    v = row.values
    return Brief(row.row_id, text_of(v.get("complaint_no")), parse_datetime(v.get("received_at"), near=now)[0],
                 text_of(v.get("request_type")), text_of(v.get("category")), text_of(v.get("customer_id")),
                 text_of(v.get("contact")), text_of(v.get("is_valid")) in INVALID_MARKS)


def parse_complaint(row: RegisterRow, now: datetime | None = None) -> Complaint:
    """A register row as a Complaint; every cell that cannot be read becomes a problem (by column).
    A time typed without its year takes it from the row: the received time from `now`, the other
    times from the received time (the year that puts them nearest)."""
    v = row.values
    problems: list[str] = []
    received = _parsed(v, ("received_at",), parse_datetime, problems, near=now)["received_at"]
    times = _parsed(v, TIME_KEYS, parse_datetime, problems, near=received or now)
    flags: dict[str, bool | None] = _parsed(v, ("safety_risk", "customer_agrees", "case_library"), parse_bool, problems)
    for key in ("escalated", "approval_required", "callback_required", "is_repeat"):
        flags["prev_" + key] = parse_bool(v.get(key))[0]
    scores: dict[str, int | None] = _parsed(v, SCORE_KEYS, parse_score, problems)
    cost = _parsed(v, ("cost",), parse_money, problems)["cost"]
    override_raw = text_of(v.get("priority_override")).upper()
    override = override_raw if override_raw in labels.PRIORITY else None
    if override_raw and not override:
        problems.append(f"优先级调整“{override_raw[:10]}”无效，应为 P0/P1/P2")
    validity = text_of(v.get("is_valid"))
    previous = {k: v.get(k) for k in ("complaint_no", "closed_at", "plan_status", "status",
                                      "related_nos", "handler", "department", "cc", "callback_due")}
    return Complaint(
        row_id=row.row_id,
        number=text_of(v.get("complaint_no")),
        received_at=received,
        request_type=text_of(v.get("request_type")),
        category=text_of(v.get("category")),
        dept_code=text_of(v.get("dept_code")).upper(),
        member_level=text_of(v.get("member_level")),
        emotion=text_of(v.get("emotion")),
        safety_risk=bool(flags["safety_risk"]),
        customer_id=text_of(v.get("customer_id")),
        contact=text_of(v.get("contact")),
        customer_name=text_of(v.get("customer_name")),
        description=text_of(v.get("description")),
        product=text_of(v.get("product")),
        priority_override=override,
        invalid=validity in INVALID_MARKS,
        times=times, flags=flags, scores=scores, cost=cost,
        text={k: text_of(v.get(k)) for k in TEXT_KEYS},
        previous=previous,
        problems=problems,
    )
