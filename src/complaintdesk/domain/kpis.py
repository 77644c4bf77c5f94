"""Domain — the monthly KPIs, computed from export records (field keys, stable codes, ISO times).

Definitions (also written into the report's 说明 sheet):
- counted complaints: request_type 投诉 (or empty) received in the month and not marked 无效;
- a clock's on-time rate: met / (met + late + breached) among counted complaints whose clock
  has ended or passed its due time;
- CSAT: share of surveyed complaints (all three scores) whose average score is ≥ 4;
- first-contact resolution: resolved complaints that needed no progress update and were
  not disputed (no objection, customer did not disagree);
- rates are fractions (None when the denominator is 0).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

CLOCKS = ("response", "plan", "update", "resolve", "survey")
SCORES = ("score_efficiency", "score_attitude", "score_solution")
DIMENSIONS = {"by_category": "category", "by_channel": "channel", "by_department": "department",
              "by_priority": "priority", "by_responsibility": "responsibility",
              "by_resolution_type": "resolution_type"}


def month_of(record: dict) -> str | None:
    received = record.get("received_at")
    return received[:7] if isinstance(received, str) and len(received) >= 7 and received[4] == "-" else None


def is_complaint(record: dict) -> bool:
    return (record.get("request_type") or "投诉") in ("投诉", "complaint")


def is_invalid(record: dict) -> bool:
    return (record.get("is_valid") or "") in ("无效", "invalid") or record.get("status") == "invalid"


def counted(records: list[dict], month: str) -> list[dict]:
    return [r for r in records if month_of(r) == month and is_complaint(r) and not is_invalid(r)]


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def on_time(rows: list[dict], clock: str) -> dict:
    states = Counter(r.get(f"{clock}_status") for r in rows)
    ended = states["met"] + states["late"] + states["breached"]
    return {"met": states["met"], "late": states["late"], "breached": states["breached"],
            "rate": rate(states["met"], ended)}


def _hours(a: str | None, b: str | None) -> float | None:
    if not a or not b:
        return None
    try:
        return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds() / 3600
    except ValueError:
        return None


def _stats(values: list[float | None]) -> dict:
    kept = sorted(v for v in values if v is not None and v >= 0)
    if not kept:
        return {"avg": None, "p90": None, "n": 0}
    index = max(0, -(-len(kept) * 9 // 10) - 1)  # nearest-rank P90
    return {"avg": round(sum(kept) / len(kept), 2), "p90": round(kept[index], 2), "n": len(kept)}


def _surveyed(r: dict) -> bool:
    return all(isinstance(r.get(k), (int, float)) for k in SCORES)


def satisfaction(rows: list[dict]) -> dict:
    surveyed = [r for r in rows if _surveyed(r)]
    averages = {k: (round(sum(r[k] for r in surveyed) / len(surveyed), 2) if surveyed else None) for k in SCORES}
    happy = sum(1 for r in surveyed if sum(r[k] for k in SCORES) / 3 >= 4)
    distribution = {str(s): sum(1 for r in surveyed for k in SCORES if r[k] == s) for s in range(1, 6)}
    callbacks = [r for r in rows if r.get("callback_required")]
    overall = round(sum(sum(r[k] for k in SCORES) / 3 for r in surveyed) / len(surveyed), 2) if surveyed else None
    return {"surveyed": len(surveyed), "satisfaction_avg": overall, "aspect_avg": averages,
            "csat": rate(happy, len(surveyed)), "score_distribution": distribution,
            "callbacks_done": sum(1 for r in callbacks if r.get("callback_done_at")),
            "callbacks_pending": sum(1 for r in callbacks if not r.get("callback_done_at"))}


def _first_contact(r: dict) -> bool:
    return not r.get("last_update_at") and not r.get("objection") and r.get("customer_agrees") is not False


def previous_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def last_months(month: str, n: int = 12) -> list[str]:
    out = [month]
    while len(out) < n:
        out.append(previous_month(out[-1]))
    return list(reversed(out))


def hotspots(records: list[dict], month: str, threshold: int) -> list[dict]:
    now = Counter((r.get("product") or "—", r.get("category") or "—") for r in counted(records, month))
    before = Counter((r.get("product") or "—", r.get("category") or "—")
                     for r in counted(records, previous_month(month)))
    examples = defaultdict(list)
    for r in counted(records, month):
        examples[(r.get("product") or "—", r.get("category") or "—")].append(r.get("complaint_no") or "")
    return [{"product": p, "category": c, "count": n, "previous": before.get((p, c), 0),
             "examples": sorted(examples[(p, c)])[:5]}
            for (p, c), n in sorted(now.items(), key=lambda kv: (-kv[1], kv[0])) if n >= threshold]


def monthly_kpis(records: list[dict], month: str, hotspot_threshold: int = 3) -> dict:
    """Every KPI of the report for `month` ('YYYY-MM'), plus the previous month's headline values."""
    monthly = defaultdict(list)  # month -> its records: every figure below looks at one or two months
    for r in records:
        monthly[month_of(r)].append(r)
    this, prev = monthly.get(month, []), previous_month(month)
    rows = counted(this, month)
    all_complaints = [r for r in this if is_complaint(r)]
    resolved = [r for r in rows if r.get("resolved_at")]
    result: dict = {"month": month, "total": len(rows), "received_all": len(this),
              "non_complaints": sum(1 for r in this if not is_complaint(r))}
    for name, key in DIMENSIONS.items():
        result[name] = dict(Counter(r.get(key) or "—" for r in rows).most_common())
    for clock in CLOCKS:
        result[f"on_time_{clock}"] = on_time(rows, clock)
    result["on_time_response_rate"] = result["on_time_response"]["rate"]
    result["on_time_resolution_rate"] = result["on_time_resolve"]["rate"]
    for group, key in (("by_department_on_time", "department"), ("by_handler_on_time", "handler")):
        grouped = defaultdict(list)
        for r in rows:
            grouped[r.get(key) or "—"].append(r)
        result[group] = {name: {clock: on_time(items, clock)["rate"] for clock in CLOCKS} | {"total": len(items)}
                         for name, items in sorted(grouped.items())}
    sat = satisfaction(rows)
    result.update(sat)
    result["repeat_rate"] = rate(sum(1 for r in rows if r.get("is_repeat")), len(rows))
    result["escalation_rate"] = rate(sum(1 for r in rows if r.get("escalated")), len(rows))
    result["first_contact_resolution_rate"] = rate(sum(1 for r in resolved if _first_contact(r)), len(resolved))
    result["validity_rate"] = rate(len(rows), len(all_complaints))
    result["response_hours"] = _stats([_hours(r.get("received_at"), r.get("first_response_at")) for r in rows])
    result["resolve_hours"] = _stats([_hours(r.get("received_at"), r.get("resolved_at")) for r in rows])
    days = Counter(r["received_at"][:10] for r in rows)
    result["daily"] = dict(sorted(days.items()))
    weeks = Counter(date.fromisoformat(r["received_at"][:10]).isocalendar()[1] for r in rows)
    result["weekly"] = {f"W{w:02d}": n for w, n in sorted(weeks.items())}
    result["trend_12_months"] = {m: sum(1 for r in monthly.get(m, ()) if is_complaint(r) and not is_invalid(r))
                                 for m in last_months(month)}
    result["hotspots"] = hotspots(this + monthly.get(prev, []), month, hotspot_threshold)
    prev_rows = counted(monthly.get(prev, []), prev)
    prev_sat = satisfaction(prev_rows)
    result["previous"] = {
        "month": prev, "total": len(prev_rows),
        "on_time_response_rate": on_time(prev_rows, "response")["rate"],
        "on_time_resolution_rate": on_time(prev_rows, "resolve")["rate"],
        "satisfaction_avg": prev_sat["satisfaction_avg"], "csat": prev_sat["csat"],
        "repeat_rate": rate(sum(1 for r in prev_rows if r.get("is_repeat")), len(prev_rows)),
        "escalation_rate": rate(sum(1 for r in prev_rows if r.get("escalated")), len(prev_rows)),
    }
    return result
