"""整改 actions: reading the sheet, their clock, and which high-frequency problems have none."""
from datetime import datetime

from complaintdesk.domain.improvement import action_state, answers, read_actions, summary_of, without_action

NOW = datetime(2026, 11, 10, 9, 0)
SHEET = [
    {"action_no": "ZG-01", "problem": "智能电饭煲 MC-30 × 产品质量", "content": "更换涂层供应商", "owner": "孙强",
     "due": datetime(2026, 11, 30, 18, 0)},
    {"complaint_nos": "20261009-CS-001、20261012-AS-002", "content": "物流商考核", "owner": "周涛",
     "due": 46336.75, "done_at": datetime(2026, 11, 12, 10, 0)},          # an Excel serial: 2026-11-10 18:00
    {"problem": "办公椅", "content": "核实签收流程", "owner": "", "due": "下周"},
    {"note": "只有备注的行不是整改"},
    {"problem": "会员 App", "content": "修复支付回调", "owner": "吴迪", "due": datetime(2026, 11, 11, 9, 0)},
]


def test_the_sheet_reads_into_actions_with_messages_per_row():
    actions = read_actions(SHEET)
    assert [a.label for a in actions] == ["ZG-01", "整改第3行", "整改第4行", "整改第6行"]
    assert actions[1].complaints == ["20261009-CS-001", "20261012-AS-002"]
    assert actions[1].due == datetime(2026, 11, 10, 18, 0)
    assert any("整改期限" in p for p in actions[2].problems) and "没有负责人" in actions[2].problems


def test_each_action_has_a_clock_against_its_deadline():
    a, b, c, d = read_actions(SHEET)
    assert action_state(a, NOW) == "open"
    assert action_state(b, NOW) == "late"            # done after the deadline
    assert action_state(c, NOW) == "na"              # no readable deadline
    assert action_state(d, NOW) == "at_risk"         # due within three days
    assert action_state(d, datetime(2026, 11, 11, 9, 0)) == "breached"
    counts = summary_of([a, b, c, d], NOW)["counts"]
    assert counts == {"open": 1, "late": 1, "na": 1, "at_risk": 1}


def test_high_frequency_problems_without_an_action_are_listed():
    actions = read_actions(SHEET)
    rice = {"product": "智能电饭煲 MC-30", "category": "产品质量", "examples": ["20261101-AS-001"]}
    rice_other = {"product": "智能电饭煲 MC-30", "category": "售后", "examples": []}
    late = {"product": "冬季羽绒服", "category": "物流履约", "examples": ["20261012-AS-002"]}
    chair = {"product": "办公椅", "category": "物流履约", "examples": []}
    fresh = {"product": "生鲜礼盒", "category": "物流履约", "examples": ["20261105-WL-003"]}
    assert answers(actions[0], rice) and not answers(actions[0], rice_other)   # product × category: both
    assert answers(actions[1], late)                                           # by a source complaint
    assert answers(actions[2], chair)                                          # a product alone: any category
    assert without_action([rice, rice_other, late, chair, fresh], actions) == [rice_other, fresh]
