"""Domain — the monthly KPIs, computed from export records (field keys, stable codes, ISO times).

Definitions (also written into the report's 说明 sheet):
- counted complaints: request_type 投诉 (or empty) received in the month, not marked 无效 (or 否) and not
  merged into another complaint (合并到);
- a clock's on-time rate: met / (met + late + breached) among counted complaints whose clock
  has ended or passed its due time;
- CSAT: share of surveyed complaints (all three scores) whose average score is ≥ 4;
- first-contact resolution: resolved complaints that needed no progress update and were
  not disputed (no objection, customer did not disagree);
- rates are fractions (None when the denominator is 0).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from .model import COMPLAINT_TYPES, INVALID_MARKS
from .parsing import split_items, text_of

CLOCKS = ("response", "plan", "update", "resolve", "survey")
SCORES = ("score_efficiency", "score_attitude", "score_solution")
# every field of a record the functions below read (a group store keeps just these per complaint)
KPI_KEYS = ("complaint_no", "received_at", "request_type", "is_valid", "status", "category", "channel",
            "department", "priority", "responsibility", "resolution_type", "handler", "product",
            *(f"{clock}_status" for clock in CLOCKS), *SCORES, "callback_required", "callback_done_at",
            "is_repeat", "escalated", "resolved_at", "last_update_at", "objection", "customer_agrees",
            "first_response_at", "validation", "merged_into", "reopened_at", "paused_from", "paused_until",
            "plan_made_at", "plan_agreed_at", "tags")
DIMENSIONS = {"by_category": "category", "by_channel": "channel", "by_department": "department",
              "by_priority": "priority", "by_responsibility": "responsibility",
              "by_resolution_type": "resolution_type"}


def month_of(record: dict) -> str | None:
    received = record.get("received_at")
    return received[:7] if isinstance(received, str) and len(received) >= 7 and received[4] == "-" else None


def is_complaint(record: dict) -> bool:
    return (record.get("request_type") or "") in COMPLAINT_TYPES


def is_invalid(record: dict) -> bool:
    """Marked invalid (是否有效 无效 or 否, as the register's rules read it) or closed as invalid."""
    return text_of(record.get("is_valid")) in INVALID_MARKS or record.get("status") == "invalid"


def is_merged(record: dict) -> bool:
    """A duplicate merged into its main complaint (合并到): counted once, as the main one."""
    return record.get("status") == "merged"


def counted(records: list[dict], month: str) -> list[dict]:
    return [r for r in records if month_of(r) == month and is_complaint(r) and not is_invalid(r)
            and not is_merged(r)]


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
    """Survey figures (averages, CSAT: mean score 4 and up, the distribution of scores) and callbacks."""
    surveyed = [r for r in rows if _surveyed(r)]
    return {"surveyed": len(surveyed)} | score_figures(surveyed) | _callbacks(rows)


def score_figures(surveyed: list[dict]) -> dict:
    """Averages, CSAT (mean score 4 and up) and the score distribution of answers with all three
    scores — the per-case survey's figures, and a periodic campaign's."""
    n = len(surveyed)
    means = [sum(r[k] for k in SCORES) / 3 for r in surveyed]
    return {"satisfaction_avg": round(sum(means) / n, 2) if n else None,
            "aspect_avg": {k: round(sum(r[k] for r in surveyed) / n, 2) if n else None for k in SCORES},
            "csat": rate(sum(1 for m in means if m >= 4), n),
            "score_distribution": {str(s): sum(1 for r in surveyed for k in SCORES if r[k] == s) for s in range(1, 6)}}


def _callbacks(rows: list[dict]) -> dict:
    callbacks = [r for r in rows if r.get("callback_required")]
    done = sum(1 for r in callbacks if r.get("callback_done_at"))
    return {"callbacks_done": done, "callbacks_pending": len(callbacks) - done}


def _first_contact(r: dict) -> bool:
    return not r.get("last_update_at") and not r.get("objection") and r.get("customer_agrees") is not False


def previous_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def next_month(month: str) -> str:
    y, m = int(month[:4]), int(month[5:7])
    return f"{y + 1}-01" if m == 12 else f"{y}-{m + 1:02d}"


def last_months(month: str, n: int = 12) -> list[str]:
    out = [month]
    while len(out) < n:
        out.append(previous_month(out[-1]))
    return list(reversed(out))


def hotspot_key(r: dict) -> tuple[str, str]:
    """The (product, category) a complaint counts under among the high-frequency problems."""
    return r.get("product") or "—", r.get("category") or "—"


def hotspots_of(rows: list[dict], before_rows: list[dict], threshold: int) -> list[dict]:
    """Product × category pairs with at least `threshold` of the month's counted complaints (`rows`),
    beside their count the month before (`before_rows`) and up to five example numbers."""
    examples = defaultdict(list)
    for r in rows:
        examples[hotspot_key(r)].append(r.get("complaint_no") or "")
    return ranked_hotspots(Counter(map(hotspot_key, rows)), Counter(map(hotspot_key, before_rows)),
                           examples, threshold)


def ranked_hotspots(now: Counter, before: Counter, examples: dict, threshold: int) -> list[dict]:
    """The pairs counted `threshold` times or more this month, most first, with last month's count
    and the first five example numbers (sorted)."""
    return [{"product": p, "category": c, "count": n, "previous": before.get((p, c), 0),
             "examples": sorted(examples[(p, c)])[:5]}
            for (p, c), n in sorted(now.items(), key=lambda kv: (-kv[1], kv[0])) if n >= threshold]


def monthly_kpis(records: list[dict], month: str, hotspot_threshold: int = 3,
                 trend: dict[str, int] | None = None) -> dict:
    """Every KPI of the report for `month` ('YYYY-MM'), plus the previous month's headline values:
    one function per family below (volume, timeliness, satisfaction and quality, durations, trend).
    `trend`: the valid complaints of each of the 12 months when counted elsewhere (the records
    then need to cover only `month` and the month before)."""
    monthly = defaultdict(list)  # month -> its records: every figure below looks at one or two months
    for r in records:
        monthly[month_of(r)].append(r)
    this, prev = monthly.get(month, []), previous_month(month)
    rows = counted(this, month)
    result: dict = {"month": month}
    result |= _volume(this, rows)
    result |= _timeliness(rows)
    result |= satisfaction(rows)
    result |= _quality(rows, this)
    result |= _durations(rows)
    result |= _by_day_and_week(rows, month)
    result["trend_12_months"] = {m: trend.get(m, 0) if trend is not None else
                                 sum(1 for r in monthly.get(m, ()) if is_complaint(r) and not is_invalid(r))
                                 for m in last_months(month)}
    before_rows = counted(monthly.get(prev, []), prev)
    result["hotspots"] = hotspots_of(rows, before_rows, hotspot_threshold)
    result["previous"] = _headline(before_rows, prev)
    return result


UNFILLED = "未填写"  # the label of a dimension a complaint leaves empty


def no_complaints(k: dict) -> bool:
    """A month's KPIs (monthly_kpis) that count nothing: no complaint, nor any request of another type."""
    return not k["total"] and not k["non_complaints"]


def _volume(this: list[dict], rows: list[dict]) -> dict:
    """How many complaints, split by every dimension."""
    result: dict = {"total": len(rows), "received_all": len(this),
                    "non_complaints": sum(1 for r in this if not is_complaint(r)),
                    "merged": sum(1 for r in this if is_merged(r))}
    for name, key in DIMENSIONS.items():
        result[name] = dict(Counter(r.get(key) or UNFILLED for r in rows).most_common())
    # a complaint counts under each of its 标签 (several, separated by 、 , ; or spaces)
    result["by_tag"] = dict(Counter(tag for r in rows for tag in split_items(r.get("tags"))).most_common())
    return result


def _by_day_and_week(rows: list[dict], month: str) -> dict:
    """Complaints per day — every day of the month, 0 where none came (a chart must show the quiet
    days) — and per ISO week."""
    first = date.fromisoformat(month + "-01")
    days = [first + timedelta(days=i) for i in range(31) if (first + timedelta(days=i)).month == first.month]
    per_day = Counter(r["received_at"][:10] for r in rows)
    weeks = Counter(date.fromisoformat(r["received_at"][:10]).isocalendar()[1] for r in rows)
    return {"daily": {d.isoformat(): per_day.get(d.isoformat(), 0) for d in days},
            "weekly": {f"W{w:02d}": n for w, n in sorted(weeks.items())}}


def _timeliness(rows: list[dict]) -> dict:
    """On-time rates of every clock, overall and by department and by handler."""
    result: dict = {f"on_time_{clock}": on_time(rows, clock) for clock in CLOCKS}
    result["on_time_response_rate"] = result["on_time_response"]["rate"]
    result["on_time_resolution_rate"] = result["on_time_resolve"]["rate"]
    for group, key in (("by_department_on_time", "department"), ("by_handler_on_time", "handler")):
        grouped = defaultdict(list)
        for r in rows:
            grouped[r.get(key) or "—"].append(r)
        result[group] = {name: {clock: on_time(items, clock)["rate"] for clock in CLOCKS} | {"total": len(items)}
                         for name, items in sorted(grouped.items())}
    return result


def _quality(rows: list[dict], this: list[dict]) -> dict:
    """Repeats, escalations, first-contact resolution and the share of complaints found valid."""
    resolved = [r for r in rows if r.get("resolved_at")]
    return {"repeat_rate": rate(sum(1 for r in rows if r.get("is_repeat")), len(rows)),
            "escalation_rate": rate(sum(1 for r in rows if r.get("escalated")), len(rows)),
            "first_contact_resolution_rate": rate(sum(1 for r in resolved if _first_contact(r)), len(resolved)),
            "validity_rate": rate(len(rows), sum(1 for r in this if is_complaint(r))),
            # made urgent by a 设置 安全词 (the row's 校验提示 says which word)
            "suspected_safety": sum(1 for r in rows if "疑似安全问题" in (r.get("validation") or "")),
            "reopen_rate": rate(sum(1 for r in rows if r.get("reopened_at")), len(rows)),
            "plan_agreed_rate": rate(sum(1 for r in rows if r.get("plan_agreed_at")),
                                     sum(1 for r in rows if r.get("plan_made_at")))}


def _durations(rows: list[dict]) -> dict:
    """Response and resolution times, and the hours complaints waited for their customer (the
    pauses ended: 等待客户开始..结束)."""
    paused = [_hours(r.get("paused_from"), r.get("paused_until")) for r in rows if r.get("paused_until")]
    return {"response_hours": _stats([_hours(r.get("received_at"), r.get("first_response_at")) for r in rows]),
            "resolve_hours": _stats([_hours(r.get("received_at"), r.get("resolved_at")) for r in rows]),
            "paused_hours": _stats(paused) | {"total": round(sum(h for h in paused if h and h > 0), 2)}}


def _headline(rows: list[dict], month: str) -> dict:
    """The previous month's figures the report compares with."""
    sat = satisfaction(rows)
    return {"month": month, "total": len(rows),
            "on_time_response_rate": on_time(rows, "response")["rate"],
            "on_time_resolution_rate": on_time(rows, "resolve")["rate"],
            "satisfaction_avg": sat["satisfaction_avg"], "csat": sat["csat"],
            "repeat_rate": rate(sum(1 for r in rows if r.get("is_repeat")), len(rows)),
            "escalation_rate": rate(sum(1 for r in rows if r.get("escalated")), len(rows))}
