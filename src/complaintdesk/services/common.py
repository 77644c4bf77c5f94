"""Services — shared plumbing: summaries, audit rows, change detection, archives.

`apply_changes` is the one place that writes automation cells: it compares
with what the cell holds, writes only real changes and audits each one.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ..adapters.archive_shelf import ArchiveShelf, archives_of
from ..adapters.calendar_cn import china_calendar
from ..adapters.store import RegisterStore
from ..adapters.stores import open_store
from ..domain.model import RegisterRow
from ..domain.parsing import parse_datetime, text_of
from ..domain.schema import BY_KEY, OPTIONAL_KEYS
from ..domain.workcalendar import WorkCalendar

# what each Summary counter is called when the CLI or a message box reports it
COUNT_LABELS = {"numbered": "新编号", "updated": "更新的已有投诉", "cells": "写入单元格",
                "repeats": "重复投诉", "urgent": "紧急投诉", "imported": "导入行", "skipped": "跳过行",
                "breached": "已超时时效", "at_risk": "即将超时时效", "exported": "导出行",
                "rows": "检查行", "problems": "问题", "documents": "文档", "surveys": "回访结果",
                "callbacks": "需主管回访", "archived": "归档投诉", "audit_archived": "移出的变更记录",
                "logged": "沟通记录", "acks": "受理回复", "campaign_forms": "定期回访调查表",
                "campaign_answers": "定期回访答卷", "actions": "整改措施", "merged": "合并的重复登记", "found": "找到",
                "complaints": "计入投诉", "sent": "邮件",
                "purged": "删除的过期归档", "applied": "写入的排队更改", "repaired": "结构修复项",
                "group_events": "新群诉事件", "published": "上报投诉", "inserted": "新增", "unchanged": "未变",
                "cases": "案例", "branches": "分支机构", "sampled": "抽查投诉"}


@dataclass
class Summary:
    """What an action did: counters for the closing line and per-row messages."""
    action: str
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


STRUCTURE_COLUMN = "结构修复"  # the audit line of a save that repaired the register's structure


def save(store: RegisterStore, summary: Summary, now: datetime) -> None:
    """Save the register; a save that repairs its structure (Table range, filter, dropdowns, frozen
    header — see adapters.register_structure) says so in one audit line and one message; a sheet
    the save left near Excel's row limit is a warning of the action."""
    repair = store.structure()
    if repair.notes:
        store.append_table("audit", [audit_row(store, now, "", STRUCTURE_COLUMN, "", repair.describe())])
        summary.messages.append(repair.describe())
    store.save()
    summary.warnings.extend(w for w in store.row_notices.values() if w not in summary.warnings)


@contextmanager
def register_session(path, source: str = "命令行", kind: str | None = None):
    """Lock the register, open it with the right file store, and hand it over (the register must
    be free: sessions that work beside a held register are services.held.open_session)."""
    from ..adapters.files import register_lock
    from ..adapters.package_guard import require_register

    require_register(path)  # no lock file (nor folder) is left beside a path that is not there
    with register_lock(Path(path)):
        store = open_store(path, source, kind)
        try:
            yield store
        finally:
            close_store(store)


def close_store(store: RegisterStore) -> None:
    store.close()


def build_calendar(store: RegisterStore) -> WorkCalendar:
    return china_calendar(store.calendar_overrides())


def display(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat(" ", "minutes")  # 2026-11-20 10:00 (strftime's %Y-%m-%d %H:%M, 4× faster)
    if isinstance(value, date):
        return value.isoformat()
    return text_of(value)


def same(old, new) -> bool:
    if old == new and type(old) is type(new):
        return True
    if old in (None, "") and new in (None, ""):
        return True
    if isinstance(new, datetime) or isinstance(old, datetime):
        a, _ = parse_datetime(old)
        b, _ = parse_datetime(new)
        return a == b
    return text_of(old) == text_of(new)


FILLED_COLUMN = "（自动填写）"  # the audit line of the cells a run filled in one row, each "列=值"
FILLED_TEXT_LIMIT = 4000      # characters of that line (an Excel cell holds 32,767)


def apply_changes(store: RegisterStore, row: RegisterRow, new: dict[str, object], number: str,
                  now: datetime, audit: list[dict]) -> int:
    """Write the cells of `new` that differ from the row; return how many changed. The audit
    keeps every value: cells that were empty (a new row's first fill) in one line per row, a
    changed value in a line of its own — so that importing 50,000 rows does not write a million
    audit lines."""
    absent = OPTIONAL_KEYS - store.columns.keys() if store.columns else frozenset()  # an older register
    changed = {k: v for k, v in new.items() if k not in absent and not same(row.values.get(k), v)}
    if not changed:
        return 0
    old = {k: row.values.get(k) for k in changed}  # before the store may update the row in place
    store.set_cells(row.row_id, changed)
    filled = [f"{BY_KEY[k].label(store.lang)}={display(v)}" for k, v in changed.items() if old[k] in (None, "")]
    if filled:
        audit.append(audit_row(store, now, number, FILLED_COLUMN, "", "；".join(filled), FILLED_TEXT_LIMIT))
    for key, value in changed.items():
        if old[key] not in (None, ""):
            audit.append(audit_row(store, now, number, BY_KEY[key].label(store.lang), old[key], value))
        row.values[key] = value
    return len(changed)


def fill_stamps(store: RegisterStore, row: RegisterRow, stamped: dict[str, object], number: str,
                now: datetime, audit: list[dict]) -> int:
    """Record the times the tool notes at first sight (方案制定时间, 审批时间) in their cells when
    the register has the column and the cell is empty — never over what staff typed. Audited."""
    filled = 0
    for key, value in stamped.items():
        if (not store.columns or key in store.columns) and store.fill_empty(row.row_id, key, value):
            audit.append(audit_row(store, now, number, BY_KEY[key].label(store.lang), "", value))
            row.values[key] = value
            filled += 1
    return filled


def audit_row(store: RegisterStore, now, number, column, old, new, limit: int = 200) -> dict:
    return {"time": now, "source": store.source, "complaint_no": number,
            "column": column, "old": display(old)[:200], "new": display(new)[:limit]}


def archives(store: RegisterStore) -> ArchiveShelf:
    """The archives beside the register (none for a register without a file)."""
    return archives_of(store.path)
