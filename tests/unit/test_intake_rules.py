from datetime import datetime, time

import pytest

from complaintdesk.domain.intake import Counter, RepeatIndex, cc_for, duty_supervisor, priority_for, route, split_number
from complaintdesk.domain.model import RegisterRow, parse_complaint
from complaintdesk.domain.parsing import customer_key
from complaintdesk.domain.settings import Shift
from tests.conftest import complaint


def c_of(**kw):
    return parse_complaint(RegisterRow(2, complaint(**kw)))


def test_numbering_continues_after_highest_and_grows():
    counter = Counter({"20261008-CS": 7})
    counter.see("20261008-CS-012")   # supplied / archived number
    counter.see("20261008-CS-003")   # lower: ignored
    counter.see("garbage")
    assert counter.issue(datetime(2026, 10, 8, 9), "CS") == "20261008-CS-013"
    assert counter.issue(datetime(2026, 10, 8, 9), "AS") == "20261008-AS-001"
    big = Counter({"20261008-CS": 999})
    assert big.issue(datetime(2026, 10, 8), "CS") == "20261008-CS-1000"
    assert split_number("20261008-CS-1000") == ("20261008-CS", 1000)
    assert split_number("20261008-CS-12") is None


def test_repeat_window_and_identity(settings):
    index = RepeatIndex()
    key = customer_key("", "13812341234")
    index.add(key, "产品质量", datetime(2026, 7, 1, 9), "20260701-CS-001")    # > 90 days before
    index.add(key, "产品质量", datetime(2026, 9, 1, 9), "20260901-CS-001")
    index.add(key, "物流履约", datetime(2026, 9, 2, 9), "20260902-CS-001")    # other category
    index.add(key, "产品质量", datetime(2026, 10, 20, 9), "20261020-CS-001")  # later
    c = c_of(contact="+86 138-1234-1234")
    assert index.earlier(c, 90) == ["20260901-CS-001"]
    assert index.earlier(c_of(contact="13900000000"), 90) == []
    index.add(key, "产品质量", datetime(2026, 9, 1, 9), "20260901-CS-001")   # also in an archive
    index.add(key, "产品质量", datetime(2026, 9, 5, 9), "20260905-CS-001")
    assert index.earlier(c, 90) == ["20260901-CS-001", "20260905-CS-001"]


@pytest.mark.parametrize("kw,repeat,expected", [
    ({"safety_risk": "是"}, False, "P0"),
    ({}, True, "P1"),
    ({"member_level": "钻石会员"}, False, "P1"),
    ({"emotion": "愤怒"}, False, "P1"),
    ({"emotion": "不满"}, False, "P2"),
    ({}, False, "P2"),
    ({"safety_risk": "是", "member_level": "钻石会员"}, True, "P0"),
])
def test_priority_matrix(settings, kw, repeat, expected):
    assert priority_for(c_of(**kw), repeat, settings)[0] == expected


def test_emotion_rule_can_be_switched_off(settings):
    settings.params["emotion_raises"] = False
    assert priority_for(c_of(emotion="愤怒"), False, settings)[0] == "P2"


def test_routing_and_cc(settings):
    assert route(c_of(category="物流履约"), settings)[:2] == ("WL", "仓储物流部")
    assert route(c_of(category="产品质量"), settings)[:2] == ("AS", "售后部")
    code, name, problem = route(c_of(category="价格争议"), settings)
    assert (code, name) == ("CS", "客服部") and "价格争议" in problem
    assert cc_for("AS", settings) == "孙强、赵敏"
    assert cc_for("CS", settings) == "赵敏"


def test_duty_shifts(settings):
    settings.roster = [Shift("", time(8), time(20), "王主管"), Shift("", time(20), time(8), "刘主管"),
                       Shift("周六", time(8), time(20), "孙值班"),
                       Shift("2026-10-01", time(0), time(23, 59), "国庆值班")]
    assert duty_supervisor(datetime(2026, 10, 9, 10), settings) == "王主管"
    assert duty_supervisor(datetime(2026, 10, 9, 23), settings) == "刘主管"
    assert duty_supervisor(datetime(2026, 10, 10, 2), settings) == "刘主管"   # overnight from Friday
    assert duty_supervisor(datetime(2026, 10, 10, 9), settings) == "孙值班"   # Saturday day shift
    assert duty_supervisor(datetime(2026, 10, 1, 12), settings) == "国庆值班"
    settings.roster = []
    assert duty_supervisor(datetime(2026, 10, 9, 10), settings) == "王主管"  # default supervisor


def test_counter_sees_many_numbers_like_one_at_a_time():
    from complaintdesk.domain.intake import Counter
    numbers = ["20261008-CS-007", "20261008-cs-012", "20261008-CS-0001", "20261008-CS-1000", "bad", "",
               "20261009-QA-003", "20261009-QA-003\n20261009-QA-999", "20261009-QA-04x"]
    one, many = Counter({"20261009-QA": 2}), Counter({"20261009-QA": 2})
    for n in numbers:
        one.see(n)
    many.see_all(numbers)
    assert many.last == one.last == {"20261008-CS": 1000, "20261009-QA": 3}


@pytest.mark.parametrize("cells", [
    {},
    {"received_at": "10月8日下午3点", "request_type": "咨询", "is_valid": "无效", "category": " 物流 "},
    {"received_at": 45678.5, "complaint_no": " 20251203-CS-001 ", "is_valid": "否", "contact": 13912345678},
    {"received_at": "不是时间", "request_type": "", "is_valid": "有效", "customer_id": "C1"},
    {"received_at": datetime(2026, 10, 8, 9), "request_type": "complaint", "is_valid": "invalid"},
])
def test_a_brief_reads_its_cells_as_the_whole_complaint_does(cells):
    from complaintdesk.domain.model import brief_of
    row = RegisterRow(7, {k: None for k in complaint()} | cells)
    now = datetime(2026, 11, 20, 10)
    brief, whole = brief_of(row, now), parse_complaint(row, now)
    for field in brief._fields:
        assert getattr(brief, field) == getattr(whole, field), field
    assert brief.is_complaint == whole.is_complaint
