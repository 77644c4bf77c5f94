"""KPI definitions with hand-computed expectations."""
from complaintdesk.domain.kpis import last_months, monthly_kpis, previous_month


def rec(no, received, **kw):
    base = {"complaint_no": no, "received_at": received, "request_type": "投诉", "category": "产品质量",
            "channel": "电话", "department": "售后部", "priority": "P2", "handler": "王主管", "product": "电饭煲"}
    base.update(kw)
    return base


RECORDS = [
    rec("A1", "2026-10-01T09:00:00", first_response_at="2026-10-01T10:00:00", resolved_at="2026-10-02T09:00:00",
        response_status="met", resolve_status="met", score_efficiency=5, score_attitude=5, score_solution=5),
    rec("A2", "2026-10-02T09:00:00", first_response_at="2026-10-02T19:00:00", response_status="late",
        resolve_status="breached", is_repeat=True, escalated=True, last_update_at="2026-10-03T09:00:00",
        resolved_at="2026-10-20T09:00:00", score_efficiency=2, score_attitude=3, score_solution=4,
        callback_required=True, category="物流履约", department="仓储物流部", handler="刘主管"),
    rec("A3", "2026-10-31T23:59:00", response_status="open", resolve_status="open"),
    rec("A4", "2026-10-05T09:00:00", is_valid="无效", response_status="met"),
    rec("A5", "2026-10-06T09:00:00", request_type="咨询", response_status="met"),
    rec("B1", "2026-09-30T23:00:00", response_status="met", resolve_status="late"),
    rec("C1", "2026-11-01T00:00:00", response_status="breached"),
]


def test_counts_and_dimensions():
    k = monthly_kpis(RECORDS, "2026-10", hotspot_threshold=2)
    assert k["total"] == 3 and k["received_all"] == 5 and k["non_complaints"] == 1
    assert k["by_category"] == {"产品质量": 2, "物流履约": 1}
    assert k["validity_rate"] == 0.75  # 3 of 4 complaints valid


def test_on_time_rates_ignore_open_clocks():
    k = monthly_kpis(RECORDS, "2026-10")
    assert k["on_time_response"] == {"met": 1, "late": 1, "breached": 0, "rate": 0.5}
    assert k["on_time_resolution_rate"] == 0.5
    assert k["on_time_plan"]["rate"] is None  # nothing ended: no division by zero
    assert k["by_department_on_time"]["售后部"]["response"] == 1.0
    assert k["by_handler_on_time"]["刘主管"]["resolve"] == 0.0


def test_satisfaction_and_rates():
    k = monthly_kpis(RECORDS, "2026-10")
    assert k["surveyed"] == 2 and k["satisfaction_avg"] == 4.0      # (5 + 3) / 2
    assert k["csat"] == 0.5                                          # only A1 averages >= 4
    assert k["aspect_avg"] == {"score_efficiency": 3.5, "score_attitude": 4.0, "score_solution": 4.5}
    assert k["score_distribution"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 3}
    assert k["callbacks_pending"] == 1 and k["callbacks_done"] == 0
    assert k["repeat_rate"] == round(1 / 3, 4) and k["escalation_rate"] == round(1 / 3, 4)
    assert k["first_contact_resolution_rate"] == 0.5                 # A1 yes, A2 needed an update
    assert k["response_hours"] == {"avg": 5.5, "p90": 10.0, "n": 2}
    assert k["resolve_hours"]["avg"] == 228.0


def test_hotspots_trends_and_previous_month():
    k = monthly_kpis(RECORDS, "2026-10", hotspot_threshold=2)
    assert k["hotspots"] == [{"product": "电饭煲", "category": "产品质量", "count": 2, "previous": 1,
                              "examples": ["A1", "A3"]}]
    assert len(k["daily"]) == 31 and sum(k["daily"].values()) == 3  # every day, the quiet ones as 0
    assert {d: n for d, n in k["daily"].items() if n} == {"2026-10-01": 1, "2026-10-02": 1, "2026-10-31": 1}
    assert k["daily"]["2026-10-15"] == 0 and len(monthly_kpis(RECORDS, "2026-02")["daily"]) == 28
    assert k["trend_12_months"]["2026-09"] == 1 and len(k["trend_12_months"]) == 12
    assert k["previous"]["total"] == 1 and k["previous"]["on_time_resolution_rate"] == 0.0


def test_empty_and_all_invalid_months():
    empty = monthly_kpis([], "2026-10")
    assert empty["total"] == 0 and empty["csat"] is None and empty["on_time_response_rate"] is None
    assert empty["validity_rate"] is None and empty["response_hours"]["avg"] is None
    invalid = monthly_kpis([rec("X", "2026-10-01T09:00:00", is_valid="无效")], "2026-10")
    assert invalid["total"] == 0 and invalid["validity_rate"] == 0.0


def test_month_helpers():
    assert previous_month("2026-01") == "2025-12"
    assert last_months("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_invalid_is_read_as_the_register_reads_it():
    """是否有效 否 (or 无效 with spaces) makes a complaint invalid here as it does for assign."""
    marked = [rec("V1", "2026-10-01T09:00:00", is_valid="否"), rec("V2", "2026-10-02T09:00:00", is_valid=" 无效 "),
              rec("V3", "2026-10-03T09:00:00", is_valid="有效"), rec("V4", "2026-10-04T09:00:00")]
    k = monthly_kpis(marked, "2026-10")
    assert k["total"] == 2 and k["validity_rate"] == 0.5
