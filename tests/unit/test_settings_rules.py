import pytest

from complaintdesk.domain.settings import DEFAULT_DEPARTMENTS, DEFAULT_ROUTES, DEFAULT_SLA, build_settings
from complaintdesk.errors import RuleConflictError


def raw(**changes):
    base = {"departments": [(f"A{i}", r) for i, r in enumerate(DEFAULT_DEPARTMENTS, 3)],
            "routes": [(f"D{i}", r) for i, r in enumerate(DEFAULT_ROUTES, 3)],
            "sla": [(f"G{i}", r) for i, r in enumerate(DEFAULT_SLA, 3)]}
    base.update(changes)
    return base


def test_defaults_build():
    s = build_settings(raw())
    assert s.sla[("resolve", "P2")].unit == "working_days" and s.sla[("response", "P0")].amount == 2
    assert s.param("repeat_days") == 90 and s.param("at_risk_share") == 0.25


@pytest.mark.parametrize("change,needle", [
    ({"routes": [("D3", ("产品质量", "XX"))]}, "D3"),
    ({"routes": [("D3", ("产品质量", "AS")), ("D4", ("产品质量", "CS"))]}, "两条路由"),
    ({"sla": [(f"G{i}", r) for i, r in enumerate(DEFAULT_SLA[:-1], 3)]}, "缺少“满意度回访 P2”"),
    ({"sla": [("G3", ("响应", "P0", 2, "光年"))]}, "G3"),
    ({"sla": [("G3", ("响应", "P0", -1, "日历小时"))]}, "G3"),
    ({"departments": [("A3", ("CS", "客服部")), ("A4", ("CS", "别的"))]}, "A4"),
    ({"params": [("Z3", ("默认部门代码", "ZZ"))]}, "默认部门代码"),
    ({"params": [("Z3", ("即将超时阈值", "150%"))]}, "即将超时阈值"),
])
def test_rule_conflicts_name_the_cell(change, needle):
    with pytest.raises(RuleConflictError) as err:
        build_settings(raw(**change))
    assert needle in str(err.value)
