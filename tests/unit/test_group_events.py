"""群诉事件: the pure rule, hand-computed edge cases, and the register pass on the memory store."""
from datetime import datetime, timedelta

import pytest

from complaintdesk.adapters.store import MemoryStore
from complaintdesk.domain.group_events import EventCandidate, GroupRule, find_group_events
from complaintdesk.domain.intake import Counter
from complaintdesk.domain.settings import build_settings, default_settings
from complaintdesk.errors import RuleConflictError
from complaintdesk.services.notify import notify_alerts
from complaintdesk.services.register import assign, check_sla
from tests.conftest import complaint
from tests.unit.test_settings_rules import raw

T0 = datetime(2026, 10, 8, 9, 0)
RULE = GroupRule()


def cands(*hours, product="电饭煲", category="产品质量", start=0, event=""):
    return [EventCandidate(start + i, T0 + timedelta(hours=h), category, {"product": product}, event)
            for i, h in enumerate(hours)]


def run(items, rule=RULE):
    return find_group_events(items, rule, Counter().issue_event)


def test_exactly_five_within_24_hours_is_an_event_four_is_not():
    assert run(cands(0, 1, 2, 3)) == {}
    found = run(cands(0, 1, 2, 3, 24))  # the fifth exactly 24 h after the first: inside
    assert set(found) == {0, 1, 2, 3, 4} and set(found.values()) == {"QS-20261008-01"}
    assert run(cands(0, 1, 2, 3, 24.01)) == {}


def test_a_window_crossing_midnight_counts_and_the_number_is_the_first_day():
    found = run(cands(12, 13, 14, 17, 20))  # 10-08 21:00 .. 10-09 05:00
    assert len(found) == 5 and set(found.values()) == {"QS-20261008-01"}


def test_other_product_or_category_or_blank_product_does_not_count():
    items = cands(0, 1, 2, 3) + cands(4, product="吸尘器", start=10) + cands(5, category="售后", start=20)
    items += cands(6, product="", start=30)
    assert run(items) == {}
    assert set(run(cands(0, 1, 2, 3) + cands(5, category="售后", start=20), GroupRule(same_category=False))) \
        == {0, 1, 2, 3, 20}


def test_product_spelling_differs_only_in_spaces_and_case():
    items = cands(0, 1, 2, product="MC-30 电饭煲") + cands(3, 4, product="mc-30电饭煲 ", start=10)
    assert len(run(items)) == 5


def test_another_field_links_too_when_configured():
    rule = GroupRule(fields=("product", "location"))
    items = [EventCandidate(i, T0 + timedelta(hours=i), "物流履约", {"product": f"商品{i}", "location": "上海浦东仓"})
             for i in range(5)]
    assert run(items) == {} and len(run(items, rule)) == 5


def test_late_typed_complaint_joins_the_existing_event_and_keeps_its_number():
    members = cands(0, 1, 2, 3, 4, event="QS-20261008-01")
    late = cands(5, start=10)  # typed the next day, received within the window
    found = run(members + late)
    assert found[10] == "QS-20261008-01" and len(found) == 6


def test_members_stay_when_their_fellows_are_gone_and_two_events_merge_under_the_earlier():
    kept = run(cands(0, 1, event="QS-20261008-02"))  # three of five were closed and archived
    assert kept == {0: "QS-20261008-02", 1: "QS-20261008-02"}
    a = cands(0, 1, 2, 3, 4, event="QS-20261008-02")
    b = cands(30, 31, 32, 33, 34, start=10, event="QS-20261008-01")
    bridge = cands(*range(5, 30, 1), start=100)  # steady complaints between them join both
    assert set(run(a + b + bridge).values()) == {"QS-20261008-01"}


def test_new_events_take_the_next_serial_of_their_day():
    counter = Counter({"QS-20261008": 3})
    found = find_group_events(cands(0, 1, 2, 3, 4), RULE, counter.issue_event)
    assert set(found.values()) == {"QS-20261008-04"} and counter.last["QS-20261008"] == 4


def _settings(**params):
    return build_settings(raw(params=[(f"Z{i}", (k, v)) for i, (k, v) in enumerate(params.items(), 3)]))


def test_rule_fields_come_from_settings_and_a_wrong_name_names_itself():
    s = _settings(群诉归并字段="涉及产品/服务、地点", 群诉阈值=3)
    assert s.param("group_event_fields") == ("product", "location") and s.param("group_event_count") == 5
    s = _settings(**{"群诉阈值(起)": 3, "群诉归并字段": "订单号"})
    assert s.param("group_event_count") == 3 and s.param("group_event_fields") == ("order_no",)
    with pytest.raises(RuleConflictError, match="群诉归并字段“产地”"):
        _settings(群诉归并字段="产地")


def six_rows():
    """Six complaints about one product in three hours; the third is marked 无效."""
    rows = [complaint(received_at=T0 + timedelta(minutes=35 * i), contact=f"1390000000{i}", customer_name=f"客户{i}")
            for i in range(6)]
    rows[2]["is_valid"] = "无效"
    return rows


class Mailer:
    def __init__(self):
        self.sent = []

    def send(self, to, subject, body):
        self.sent.append((to, subject, body))


def test_register_pass_marks_five_urgent_escalated_one_alert_one_mail():
    store = MemoryStore(default_settings(), six_rows())
    now = T0 + timedelta(hours=4)
    summary = assign(store, now)
    values = [store.values(r) for r in range(2, 8)]
    marked = [v for v in values if v.get("group_event")]
    assert len(marked) == 5 and values[2].get("group_event") in (None, "")
    assert {v["group_event"] for v in marked} == {"QS-20261008-01"}
    assert all(v["priority"] == "P0" and v["urgency"] == "紧急" and v["escalated"] == "是" for v in marked)
    assert summary.counts["group_events"] == 1 and any("群诉事件 QS-20261008-01：5 起" in w for w in summary.warnings)
    sla = check_sla(store, now)
    events = [a for a in sla.data["alerts"] if a["clock"] == "群诉事件"]
    assert len(events) == 1 and events[0]["complaint_no"] == "QS-20261008-01"
    assert all(v["complaint_no"] in events[0]["state"] for v in marked)
    mailer = Mailer()
    notify_alerts(store, now, sla.data["alerts"], mailer)
    event_mails = [m for m in mailer.sent if "【群诉事件】" in m[2]]
    assert [m[0] for m in event_mails].count(["chen.jl@example.com"]) == 1
    # a seventh complaint joins later: same number, no second mail
    store.append_register(complaint(received_at=T0 + timedelta(hours=5), contact="13900000009"))
    again = assign(store, now + timedelta(hours=2))
    assert store.values(8)["group_event"] == "QS-20261008-01" and again.counts.get("group_events", 0) == 0
    mailer2 = Mailer()
    notify_alerts(store, now + timedelta(hours=2), check_sla(store, now + timedelta(hours=2)).data["alerts"],
                  mailer2)
    assert not [m for m in mailer2.sent if "【群诉事件】" in m[2]]


def test_staff_override_still_wins_and_invalid_rows_leave():
    rows = six_rows()
    rows[2]["is_valid"] = "有效"
    rows[0]["priority_override"] = "P1"
    store = MemoryStore(default_settings(), rows)
    assign(store, T0 + timedelta(hours=4))
    assert store.values(2)["priority"] == "P1" and store.values(2)["group_event"] == "QS-20261008-01"
    store._rows[3]["is_valid"] = "无效"
    assign(store, T0 + timedelta(hours=5))
    assert store.values(3)["group_event"] in (None, "")
    assert store.values(4)["group_event"] == "QS-20261008-01"
