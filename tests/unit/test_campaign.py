"""Periodic surveys: who may be asked, a reproducible draw of customers, a campaign's results."""
from datetime import datetime

from complaintdesk.domain.campaign import candidate, draw, results

START, END = datetime(2026, 5, 1), datetime(2026, 10, 31, 23, 59)


def closed(no, when, contact="13800000000", customer_id="", **kw):
    return {"complaint_no": no, "closed_at": when, "contact": contact, "customer_id": customer_id,
            "customer_name": "张伟", "request_type": "投诉"} | kw


def test_only_complaints_closed_in_the_period_with_a_contact_are_candidates():
    assert candidate(closed("A", datetime(2026, 6, 1)), START, END, True) is not None
    assert candidate(closed("B", datetime(2026, 6, 1)), START, END, False) is None        # not closed
    assert candidate(closed("C", datetime(2026, 11, 1)), START, END, True) is None        # after the period
    assert candidate(closed("D", datetime(2026, 6, 1), request_type="咨询"), START, END, True) is None
    assert candidate(closed("E", datetime(2026, 6, 1), contact=""), START, END, True) is None


def test_a_customer_is_asked_once_by_any_identity_about_their_latest_complaint():
    rows = [closed("N1", datetime(2026, 6, 1), "13800000001", "C1"),
            closed("N2", datetime(2026, 7, 1), "13800000001"),           # same phone
            closed("N3", datetime(2026, 8, 1), "13900000009", "C1"),     # same id, new phone
            closed("N4", datetime(2026, 8, 2), "13700000004")]
    pool = [candidate(r, START, END, True) for r in rows]
    picked = draw(pool, 10, seed=7)
    assert [c.number for c in picked] == ["N3", "N4"]


def test_the_draw_is_reproducible_by_seed_and_bounded_by_the_pool():
    pool = [candidate(closed(f"N{i:03d}", datetime(2026, 6, 1), f"1380000{i:04d}"), START, END, True)
            for i in range(100)]
    first, again = draw(pool, 20, seed=42), draw(pool, 20, seed=42)
    assert [c.number for c in first] == [c.number for c in again] and len(first) == 20
    assert [c.number for c in draw(pool, 20, seed=43)] != [c.number for c in first]
    assert len(draw(pool[:5], 20, seed=1)) == 5


def test_results_per_campaign():
    rows = [{"campaign": "2026下半年", "score_efficiency": 5, "score_attitude": 4, "score_solution": 5},
            {"campaign": "2026下半年", "score_efficiency": 3, "score_attitude": 3, "score_solution": 2},
            {"campaign": "2026下半年"},
            {"campaign": "2027上半年"}]
    first, second = results(rows)
    assert first == {"campaign": "2026下半年", "sent": 3, "answered": 2, "response_rate": 0.6667,
                     "satisfaction_avg": 3.67, "csat": 0.5}
    assert second["answered"] == 0 and second["csat"] is None
