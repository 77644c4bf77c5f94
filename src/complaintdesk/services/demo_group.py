"""Services — the demo's group part: a 群诉 among the sample complaints, two more branches, and
the group report from an SQLite group store beside them (seed 002: branches report up)."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from ..adapters.group_store import GroupStore
from .common import Summary, register_session
from .group_publish import publish
from .group_report import group_report
from .register import assign, check_sla
from .report import default_month
from .sample_data import sample_complaints
from .setup import init_register
from .transfer import import_rows

DEMO_BRANCH = "华东呼叫中心"
OTHER_BRANCHES = {"华南客服中心": 2026_1101, "华北项目公司": 2026_1102}
GROUP_STORE = "集团汇总.db"


def group_complaint_rows(now: datetime) -> list[dict]:
    """Six complaints about one kettle in three hours two days ago, one of them found invalid: the
    five valid ones are a 群诉事件 (设置: 5 within 24 hours)."""
    start = (now - timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    rows = []
    people = (("郑爽", "烧水时底座冒烟"), ("冯涛", "底座冒烟并有焦味"), ("何静", "加热后跳闸冒烟"),
              ("罗军", "询问保修期"), ("宋佳", "底座发烫冒烟"), ("许明", "插电后冒烟"))
    for i, (name, problem) in enumerate(people):
        rows.append({"received_at": start + timedelta(minutes=35 * i), "channel": "电话", "request_type": "投诉",
                     "customer_name": name, "contact": f"1367700{i:04d}", "member_level": "普通会员",
                     "product": "电热水壶 K1", "location": "上海", "description": problem, "demand": "退货退款",
                     "emotion": "不满", "category": "产品质量", "safety_risk": "否", "dept_code": "CS",
                     "recorded_by": "李客服", "is_valid": "无效" if i == 3 else "",
                     "invalid_reason": "咨询保修，不属投诉" if i == 3 else ""})
    return rows


def group_steps(folder: Path, now: datetime, count: int, write_csv) -> list[tuple[str, object]]:
    """The steps after the main register's: two more branches, then the group store and report."""
    branches = folder / "分支机构"
    url = f"sqlite:///{(folder / GROUP_STORE).as_posix()}"
    later = now + timedelta(minutes=20)

    def other_branches() -> Summary:
        summary = Summary("branches")
        branches.mkdir(exist_ok=True)
        for name, seed in OTHER_BRANCHES.items():
            register, source = branches / f"{name}.xlsx", branches / f"{name}_渠道导出.csv"
            init_register(register, force=True)
            write_csv(source, sample_complaints(max(count * 2 // 3, 6), now, seed=seed, bad_rows=False))
            with register_session(register, "演示") as store:
                import_rows(store, source, now)
            with register_session(register, "演示") as store:
                assign(store, now)
            with register_session(register, "演示") as store:
                check_sla(store, now + timedelta(minutes=1))
            summary.files.append(register)
            summary.add("branches")
        return summary

    def to_group() -> Summary:
        group = GroupStore(url)
        try:
            group.init()
            summary = Summary("publish")
            registers = {DEMO_BRANCH: folder / "客户投诉登记表.xlsx",
                         **{name: branches / f"{name}.xlsx" for name in OTHER_BRANCHES}}
            for name, register in registers.items():
                with register_session(register, "演示") as store:
                    done = publish(store, group, name, later)
                for key in ("published", "inserted"):
                    summary.add(key, done.counts.get(key, 0))
            summary.add("branches", len(registers))
            summary.files.append(folder / GROUP_STORE)
            return summary
        finally:
            group.close()

    def report() -> Summary:
        group = GroupStore(url)
        try:
            month = default_month(later)
            return group_report(group, month, folder / f"集团月度投诉分析_{month}.xlsx")
        finally:
            group.close()

    return [("另两个分支机构的登记表", other_branches), ("上报集团（三个分支 → SQLite 集团库）", to_group),
            ("集团月度投诉分析（上月）", report)]
