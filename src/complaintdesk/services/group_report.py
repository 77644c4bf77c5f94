"""Services — the group's view of its branches: `group report` and `group sample` (督导抽查).

Each branch's KPIs are the branch report's own (domain.kpis.monthly_kpis over the published
facts of the month and the month before; the 12-month trend counted in SQL), so a branch's column
equals its `report --json`. One branch is held in memory at a time. Around them: the ranking and
traffic lights against each branch's 设置 targets (CSAT, average response hours), the group's
high-frequency problems, customers who complained to several branches, every 群诉事件, the case
library. The sample is drawn with a seed, so a reviewer can draw the same one again.
"""
from __future__ import annotations

import json
import os
import random
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from ..adapters.group_store import GroupStore
from ..adapters.group_tables import complaints
from ..adapters.group_workbooks import write_group_report, write_sample
from ..domain import labels
from ..domain.kpis import counted, hotspot_key, last_months, monthly_kpis, previous_month, ranked_hotspots
from ..errors import ComplaintDeskError
from .common import Summary

LIGHTS = ("红", "黄", "绿")  # by targets met: none, one, both


def check_month(month: str) -> str:
    try:
        datetime.strptime(month, "%Y-%m")
    except (TypeError, ValueError):
        raise ComplaintDeskError(f"月份“{month}”格式不对，应为 2026-10")
    return month


def light(k: dict, csat_target: float, hours_target: float) -> tuple[str, int]:
    """The traffic light of a branch's month and how many targets it met ('—' with no complaint)."""
    if not k["total"]:
        return "—", -1
    met = (k["csat"] is not None and k["csat"] >= csat_target) + \
        (k["response_hours"]["avg"] is not None and k["response_hours"]["avg"] <= hours_target)
    return LIGHTS[met], met


def _ranking(per_branch: dict[str, dict], targets: dict[str, dict]) -> list[dict]:
    rows = []
    for name, k in per_branch.items():
        t = targets[name]
        colour, met = light(k, t["csat_target"], t["response_hours_target"])
        rows.append({"branch": name, "light": colour, "targets_met": max(met, 0), "total": k["total"],
                     "csat": k["csat"], "csat_target": t["csat_target"], "satisfaction_avg": k["satisfaction_avg"],
                     "response_hours_avg": k["response_hours"]["avg"],
                     "response_hours_target": t["response_hours_target"],
                     "on_time_response_rate": k["on_time_response_rate"],
                     "on_time_resolution_rate": k["on_time_resolution_rate"], "repeat_rate": k["repeat_rate"],
                     "escalation_rate": k["escalation_rate"], "_met": met})
    rows.sort(key=lambda r: (-r["_met"], -(r["csat"] if r["csat"] is not None else -1),
                             r["response_hours_avg"] if r["response_hours_avg"] is not None else float("inf"),
                             r["branch"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank if r["_met"] >= 0 else None
        del r["_met"]
    return rows


def _hotspots(now: Counter, before: Counter, examples: dict, branches_of: dict, threshold: int) -> list[dict]:
    """The branch report's ranking over the whole group, with the branches each problem came to."""
    return [h | {"branches": sorted(branches_of[(h["product"], h["category"])])}
            for h in ranked_hotspots(now, before, examples, threshold)]


MAX_CASES = 1000  # case-library entries of a month the report lists
MAX_LISTED = 200  # customers (most complaints first) the report lists; how many there are is said


def _shared_customers(group: GroupStore, month: str) -> tuple[list[dict], int]:
    found, total = group.shared_customers(month, MAX_LISTED)
    people: dict[str, list[tuple]] = defaultdict(list)
    for key, branch, number, category, received in found:
        people[key].append((branch, number, category, received))
    ranked = sorted(people.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [{"customer": key[:12], "branches": sorted({b for b, *_ in rows}), "complaints": len(rows),
             "numbers": [f"{b} {n}" for b, n, *_ in rows][:20],
             "categories": sorted({c or "未填写" for _, _, c, _ in rows})} for key, rows in ranked], total


def _events(group: GroupStore, month: str) -> list[dict]:
    """Every 群诉事件 that began in the month or is not closed yet, with its status."""
    events: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for branch, event, number, received, status, category, product in group.event_rows():
        events[(branch, event)].append((number, received or "", status or "", category, product))
    out = []
    for (branch, event), rows in sorted(events.items()):
        first = min(r[1] for r in rows)
        statuses = Counter(r[2] for r in rows)
        done = statuses.get("closed", 0) + statuses.get("invalid", 0)
        if first[:7] != month and done == len(rows):
            continue
        out.append({"branch": branch, "event": event, "first_received": first or None, "complaints": len(rows),
                    "category": rows[0][3], "product": rows[0][4], "closed": done,
                    "status": "已关闭" if done == len(rows) else f"处理中（{len(rows) - done}/{len(rows)} 未关闭）",
                    "numbers": [r[0] for r in rows]})
    return out


CASE_FIELDS = ("complaint_no", "received_at", "category", "product", "description", "plan_measures",
               "resolution_type", "responsibility", "score_efficiency", "score_attitude", "score_solution")


def _cases(group: GroupStore, month: str) -> tuple[list[dict], int]:
    """The month's additions to the group case library (入案例库 complaints received in the month):
    the first MAX_CASES by branch and number, and how many there are."""
    out = []
    found = group.records(complaints.c.case_library & (complaints.c.month == month), MAX_CASES)
    for branch, text in found:
        r = json.loads(text)
        out.append({"branch": branch} | {k: r.get(k) for k in CASE_FIELDS})
    return out, group.count(complaints.c.case_library & (complaints.c.month == month))


EXAMPLES = 5  # example numbers of a hotspot


def _hot_counts(facts: list[dict], month: str, name: str) -> dict:
    """(product, category) -> [count this month, count the month before, the first numbers this month]."""
    hot: dict[tuple[str, str], list] = {}
    for slot, m in enumerate((month, previous_month(month))):
        for r in counted(facts, m):
            entry = hot.setdefault(hotspot_key(r), [0, 0, []])
            entry[slot] += 1
            if not slot:
                entry[2].append(f"{name} {r.get('complaint_no')}")
    for entry in hot.values():
        entry[2] = sorted(entry[2])[:EXAMPLES]
    return hot


def summarise_month(month: str, texts: list[str], threshold: int, name: str) -> tuple[str, str]:
    """What a publication stores of one month of a branch: its monthly KPIs (the trend is counted by
    the report) and its share of the group's hotspots, as JSON."""
    facts = [json.loads(text) for text in texts]
    kpis = monthly_kpis(facts, month, threshold, trend={})
    hot = [[p, c, *entry] for (p, c), entry in _hot_counts(facts, month, name).items()]
    return json.dumps(kpis, ensure_ascii=False), json.dumps(hot, ensure_ascii=False)


def branch_kpis(group: GroupStore, branch: dict, month: str, trend: dict[str, int]) -> tuple:
    """One branch's monthly KPIs (its own report's functions over its published facts) and its
    share of the group's hotspots — computed here when no publication stored them for the month."""
    facts = [json.loads(text) for text in group.facts(branch["name"], (month, previous_month(month)))]
    kpis = monthly_kpis(facts, month, branch["hotspot_threshold"], trend=trend)
    return branch["name"], kpis, _hot_counts(facts, month, branch["name"])


@lru_cache(maxsize=2)
def _worker_store(url: str) -> GroupStore:
    return GroupStore(url)


def _branch_kpis_in_worker(url: str, branch: dict, month: str, trend: dict[str, int]) -> tuple:
    return branch_kpis(_worker_store(url), branch, month, trend)


PARALLEL_FROM = 4  # branches from which two processes share the work (one branch in memory each)


def _all_branch_kpis(group: GroupStore, branches: list[dict], month: str, trend) -> list[tuple]:
    """(name, kpis, hotspot counts) of every branch: as its publications stored them, the others
    (a month no publication summarised) computed from the facts, on two processes when many."""
    months = last_months(month)
    stored = group.month_summaries(month)
    out, missing = [], []
    for b in branches:
        branch_trend = {m: trend.get((b["name"], m), 0) for m in months}
        if b["name"] in stored:
            kpis, hot = (json.loads(text) for text in stored[b["name"]])
            kpis["trend_12_months"] = branch_trend
            out.append((b["name"], kpis, {(p, c): entry for p, c, *entry in hot}))
        else:
            missing.append((b, branch_trend))
    workers = min(2, os.cpu_count() or 1)
    if len(missing) < PARALLEL_FROM or workers < 2:
        out += [branch_kpis(group, b, month, t) for b, t in missing]
    else:
        with ProcessPoolExecutor(workers) as pool:
            out += pool.map(_branch_kpis_in_worker, [group.url] * len(missing), [b for b, _ in missing],
                            [month] * len(missing), [t for _, t in missing])
    order = {b["name"]: i for i, b in enumerate(branches)}
    return sorted(out, key=lambda item: order[item[0]])


def group_kpis(group: GroupStore, month: str) -> dict:
    """Everything the group report shows for `month`, as data (what --json prints)."""
    check_month(month)
    branches = group.branches()
    trend = group.counted_by_month(last_months(month))
    per_branch: dict[str, dict] = {}
    now: Counter[tuple[str, str]] = Counter()
    before: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    branches_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for name, kpis, hot in _all_branch_kpis(group, branches, month, trend):
        per_branch[name] = kpis
        for key, (count, previous, numbers) in hot.items():
            now[key] += count
            before[key] += previous
            examples[key] += numbers
            if count:
                branches_of[key].add(name)
    threshold = max((b["hotspot_threshold"] for b in branches), default=3)
    shared, shared_total = _shared_customers(group, month)
    cases, cases_total = _cases(group, month)
    return {"month": month, "branches": per_branch,
            "ranking": _ranking(per_branch, {b["name"]: b for b in branches}),
            "hotspots": _hotspots(now, before, examples, branches_of, threshold), "hotspot_threshold": threshold,
            "shared_customers": shared, "shared_customers_total": shared_total, "group_events": _events(group, month),
            "cases": cases, "cases_total": cases_total,
            "published": {b["name"]: {"register": b["register"], "last_published_at": b["last_published_at"],
                                      "complaints": b["complaints"]} for b in branches}}


def group_report(group: GroupStore, month: str, out: Path | None, write: bool = True) -> Summary:
    data = group_kpis(group, month)
    summary = Summary("group_report", counts={"branches": len(data["branches"]),
                                              "complaints": sum(k["total"] for k in data["branches"].values())},
                      data={"group": data})
    if not data["branches"]:
        summary.warnings.append("集团数据库中还没有分支机构上报（先在各分支运行 complaintdesk publish）")
    if write:
        path = Path(out) if out else Path.cwd() / f"集团月度投诉分析_{month}.xlsx"
        write_group_report(path, data)
        summary.files.append(path)
    return summary


SAMPLE_FIELDS = ("complaint_no", "received_at", "channel", "category", "product", "priority", "department",
                 "handler", "status", "response_status", "resolve_status", "score_efficiency", "score_attitude",
                 "score_solution", "resolution_type", "description", "plan_measures", "customer_name", "contact")


def group_sample(group: GroupStore, month: str, n: int, seed: int | None, out: Path | None,
                 write: bool = True) -> Summary:
    """Draw `n` of the month's valid complaints over all branches (督导抽查); the same seed draws
    the same sample from the same store."""
    check_month(month)
    if n < 1:
        raise ComplaintDeskError("抽查数量 --n 应至少为 1")
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 10**6)
    pool = group.keys((complaints.c.month == month) & complaints.c.counted)
    chosen = sorted(random.Random(seed).sample(pool, min(n, len(pool))))
    wanted = set(chosen)
    by_branch: dict[str, list[str]] = defaultdict(list)
    for branch, number in chosen:
        by_branch[branch].append(number)
    rows = []
    for branch, numbers in sorted(by_branch.items()):
        for b, text in group.records((complaints.c.branch == branch) & complaints.c.complaint_no.in_(numbers)):
            r = json.loads(text)
            if (b, r.get("complaint_no")) in wanted:
                rows.append({"branch": b} | {k: _shown(k, r.get(k)) for k in SAMPLE_FIELDS})
    summary = Summary("group_sample", counts={"sampled": len(rows)},
                      data={"sample": {"month": month, "seed": seed, "population": len(pool), "rows": rows}})
    if len(pool) < n:
        summary.warnings.append(f"{month} 全集团只有 {len(pool)} 件计入投诉，少于要抽查的 {n} 件，已全部列出")
    if write:
        path = Path(out) if out else Path.cwd() / f"督导抽查_{month}.xlsx"
        write_sample(path, summary.data["sample"])
        summary.files.append(path)
    return summary


def _shown(key: str, value):
    """An export code as the label a reviewer reads (priority stays P0/P1/P2)."""
    table = labels.ENUMS.get(key)
    if table is not None and key != "priority" and value in table:
        return labels.label(table, value)
    return value
