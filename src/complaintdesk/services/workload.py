"""Services — the 工作量 sheet `sla` writes: open complaints per handler (the typed 处理人, else the
duty supervisor) by priority, how many are breached or at risk, and the soonest due time with its
complaint — where a supervisor sees who carries what before reassigning a case."""
from __future__ import annotations

from datetime import datetime

from ..domain import labels
from ..domain.parsing import parse_datetime, text_of
from ..domain.sla import CLOCK_TABLE

RUNNING = ("open", "at_risk", "breached")  # clock states still counting down (or past due)
UNASSIGNED = {"zh": "（未分配）", "en": "(unassigned)"}


def workload_rows(open_rows, lang: str) -> list[dict]:
    """One row per handler of the open, numbered, valid complaints; most breached first."""
    states = {labels.label(labels.CLOCK_STATE, k, lang): k for k in labels.CLOCK_STATE} | {
        k: k for k in labels.CLOCK_STATE}
    invalid = {labels.label(labels.STATUS, "invalid", lang), "invalid"}
    by_handler: dict[str, dict] = {}
    for row in open_rows:
        v = row.values
        number = text_of(v.get("complaint_no"))
        if not number or text_of(v.get("status")) in invalid:
            continue
        handler = text_of(v.get("handler")) or UNASSIGNED.get(lang, UNASSIGNED["en"])
        entry = by_handler.setdefault(handler, {"handler": handler, "departments": {}, "P0": 0, "P1": 0, "P2": 0,
                                                "total": 0, "breached": 0, "at_risk": 0, "due": None, "due_no": ""})
        priority = text_of(v.get("priority")).upper()
        if priority in ("P0", "P1", "P2"):
            entry[priority] += 1
        entry["total"] += 1
        entry["departments"][text_of(v.get("department"))] = None
        overall = states.get(text_of(v.get("sla_status")))
        if overall in ("breached", "at_risk"):
            entry[overall] += 1
        due = _soonest_due(v, states)
        if due is not None and (entry["due"] is None or due < entry["due"]):
            entry["due"], entry["due_no"] = due, number
    out = [{"handler": e["handler"], "department": "、".join(d for d in e["departments"] if d),
            "p0": e["P0"], "p1": e["P1"], "p2": e["P2"], "total": e["total"], "breached": e["breached"],
            "at_risk": e["at_risk"], "soonest_due": e["due"], "soonest_no": e["due_no"]}
           for e in by_handler.values()]
    out.sort(key=lambda r: (-r["breached"], -r["p0"], -r["total"], r["handler"]))
    return out


def _soonest_due(v: dict, states: dict[str, str]) -> datetime | None:
    """The earliest due time among the row's clocks still running (or breached)."""
    dues = [parse_datetime(v.get(spec.due_col))[0] for spec in CLOCK_TABLE
            if states.get(text_of(v.get(spec.status_col))) in RUNNING]
    return min((d for d in dues if d is not None), default=None)
