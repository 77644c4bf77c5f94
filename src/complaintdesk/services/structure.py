"""Services — the register's structure as its own action: what `check` says of it, and
`check --repair`, which runs the structure step alone (every save runs it too: see common.save).

The step itself lives with the stores (adapters.register_structure plans it, each store reads and
applies it its own way); here it is only told and triggered.
"""
from __future__ import annotations

from datetime import datetime

from ..adapters.register_structure import Repair
from ..adapters.store import RegisterStore
from ..domain.schema import BY_KEY, NEWER_STAFF_KEYS, OPTIONAL_KEYS
from .common import Summary, save

REPAIR_HINT = "下次保存时自动修复，或运行 complaintdesk check 登记表 --repair"


def structure_notices(store: RegisterStore) -> list[str]:
    """What has drifted in the register's structure, said as notices (nothing: all is right)."""
    repair = store.structure()
    drift = [f"登记表结构需要修复：{'，'.join(repair.notes)}（{REPAIR_HINT}）"] if repair.notes else []
    return drift + _uncovered(repair) + _optional_missing(store)


# what the rules behind an optional automation column still do without it
STILL_DONE = {"group_event": "（群诉投诉仍升为紧急/P0 并写入预警表）",
              "callback_due": "（低分回访仍写入预警表）", "callback_owner": "（回访提醒仍发给受理人）"}


def _optional_missing(store: RegisterStore) -> list[str]:
    """Columns newer registers have and this one lacks (made by an earlier version)."""
    if not store.columns:
        return []
    missing = [(BY_KEY[k].label(store.lang), STILL_DONE.get(k, "")) for k in sorted(OPTIONAL_KEYS)
               if k not in store.columns]
    notices = [f"登记表没有“{name}”列（由较早版本创建）：相关规则照常执行{still}，"
               f"只是登记表中看不到该列；如需显示，在表格最右侧加一列，表头写“{name}”" for name, still in missing]
    newer = [BY_KEY[k].label(store.lang) for k in NEWER_STAFF_KEYS if k not in store.columns]
    if newer:
        notices.append("登记表没有较新版本的处理列（由较早版本创建）：" + "、".join(newer)
                       + "；其余功能照常。需要转派、等待客户、重新打开、合并或记录方案制定/审批时间时，"
                       "在表格最右侧加列，表头照写即可")
    return notices


def _uncovered(repair: Repair) -> list[str]:
    if not repair.uncovered:
        return []
    return ["以下列没有下拉或校验规则（无法自动补回，可对照新建的登记表在 Excel 中恢复）："
            + "、".join(repair.uncovered)]


def repair_structure(store: RegisterStore, now: datetime) -> Summary:
    """Repair the register's structure and nothing else; audited as one line when it repaired
    something (growing ranges no one would notice is done quietly)."""
    summary = Summary("repair")
    repair = store.structure()
    summary.warnings += _uncovered(repair)
    if repair.notes or repair.changes():
        save(store, summary, now)
        summary.add("repaired", len(repair.notes))
    return summary
