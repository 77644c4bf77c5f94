"""Domain — periodic satisfaction surveys (seed 002 定期满意度调查, e.g. half-yearly): which
customers a campaign may ask, the seeded draw, and a campaign's results. Pure.

A campaign asks customers whose complaints were closed in a period how satisfied they are with
the service overall — beside the per-case survey each complaint gets when it is confirmed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from .kpis import score_figures
from .model import COMPLAINT_TYPES, SCORE_KEYS
from .parsing import customer_keys, parse_datetime, parse_score, text_of


@dataclass(frozen=True)
class Candidate:
    number: str
    customer: str
    contact: str
    closed_at: datetime
    keys: frozenset[str]  # the customer's identities (id, phone, e-mail): one form per customer


def candidate(values: dict, start: datetime, end: datetime, closed: bool) -> Candidate | None:
    """A complaint that puts its customer into a campaign of [start, end]: a closed complaint
    (投诉, not 无效) closed in the period, whose customer can be reached."""
    when = parse_datetime(values.get("closed_at"))[0]
    if not closed or when is None or not start <= when <= end:
        return None
    if text_of(values.get("request_type")) not in COMPLAINT_TYPES:
        return None
    keys = frozenset(customer_keys(text_of(values.get("customer_id")), text_of(values.get("contact"))))
    contact = text_of(values.get("contact"))
    if not keys or not contact:
        return None
    return Candidate(text_of(values.get("complaint_no")), text_of(values.get("customer_name")), contact, when, keys)


def draw(candidates: list[Candidate], n: int, seed: int) -> list[Candidate]:
    """`n` customers (each once: their latest complaint of the period), drawn with `seed` — the
    same candidates and seed always give the same sample, in number order."""
    group_of: dict[str, int] = {}   # identity -> customer (a complaint with id and phone joins both)
    latest: dict[int, Candidate] = {}
    for i, c in enumerate(sorted(candidates, key=lambda c: (c.closed_at, c.number))):
        groups = {group_of[k] for k in c.keys if k in group_of}
        gid = min(groups) if groups else i
        if len(groups) > 1:  # this complaint shows two known identities are one customer
            for k, g in group_of.items():
                if g in groups:
                    group_of[k] = gid
        for g in groups:
            latest.pop(g, None)
        for k in c.keys:
            group_of[k] = gid
        latest[gid] = c
    pool = sorted(latest.values(), key=lambda c: c.number)
    picked = random.Random(seed).sample(pool, min(n, len(pool)))
    return sorted(picked, key=lambda c: c.number)


def results(rows: list[dict]) -> list[dict]:
    """Per campaign (in the order first met): forms sent, answered, the response rate, the average
    score and CSAT (share of answers whose mean score is 4 or more) — as the per-case figures."""
    by_name: dict[str, list[dict]] = {}
    for r in rows:
        name = text_of(r.get("campaign"))
        if name:
            by_name.setdefault(name, []).append(r)
    out = []
    for name, items in by_name.items():
        parsed = [{k: parse_score(r.get(k))[0] for k in SCORE_KEYS} for r in items]
        answered = [p for p in parsed if all(v is not None for v in p.values())]
        figures = score_figures(answered)
        out.append({"campaign": name, "sent": len(items), "answered": len(answered),
                    "response_rate": round(len(answered) / len(items), 4),
                    "satisfaction_avg": figures["satisfaction_avg"], "csat": figures["csat"]})
    return out
