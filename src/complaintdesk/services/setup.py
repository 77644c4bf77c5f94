"""Services — `init` (new register), `check` (integrity) and `restore` (backups)."""
from __future__ import annotations

import shutil
from datetime import datetime
from functools import partial
from pathlib import Path

from ..adapters.backups import backup_state, list_backups, make_backup, verify_workbook
from ..adapters.files import atomic_write, register_lock
from ..adapters.holder import holder_of
from ..adapters.store import RegisterStore
from ..adapters.workbook_builder import build_register
from ..adapters.xlsxstream.sheet_xml import col_letter
from ..domain.intake import number_problem, split_number
from ..domain.parsing import text_of
from ..errors import ComplaintDeskError, WorkbookLockedError
from .common import Summary, display
from .readers import missing_archives
from .structure import structure_notices


def init_register(path: Path, lang: str = "zh", force: bool = False) -> Summary:
    path = Path(path)
    summary = Summary("init")
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise ComplaintDeskError("登记表文件名应以 .xlsx 结尾")
    if path.exists():
        if not force:
            raise ComplaintDeskError(f"“{path}”已存在，未覆盖。如需重建请加 --force（原文件会备份到 .bak 文件夹）。")
        backup = make_backup(path, 10, verify=False)  # whatever it holds: --force may replace a broken file
        summary.messages.append(f"原文件已备份为 {backup}")
    wb = build_register(lang)
    with register_lock(path):
        atomic_write(path, lambda tmp: wb.save(tmp))
    summary.files.append(path)
    return summary


STABLE_KEYS = ("complaint_no", "urgency", "priority", "is_repeat", "related_nos", "department", "handler",
               "cc", "response_due", "plan_due", "resolve_due")


class _DryRun:
    """Reads through to a store, records automation writes, writes nothing."""

    def __init__(self, store: RegisterStore):
        self._store = store
        self.lang, self.source = store.lang, store.source
        self.writes: dict[int, dict] = {}

    def __getattr__(self, name):
        return getattr(self._store, name)

    def set_cells(self, row_id, values):
        self.writes.setdefault(row_id, {}).update(values)

    def fill_empty(self, row_id, key, value):
        return False

    def release(self, row_ids):
        pass  # nothing was written: every row stays as read

    def append_table(self, role, rows):
        pass

    def replace_table(self, role, rows):
        pass

    def save(self):
        pass


def _recomputation_problems(store: RegisterStore, now, letter_of) -> list[str]:
    from ..domain.schema import BY_KEY
    from .register import refresh

    dry = _DryRun(store)
    before = {r.row_id: dict(r.values) for r in store.rows()}
    refresh(dry, now, numbering=False, action="check")
    problems = []
    for row_id, values in sorted(dry.writes.items()):
        for key in STABLE_KEYS:
            if key in values and before[row_id].get("complaint_no"):
                old, new = display(before[row_id].get(key)), display(values[key])
                problems.append(f"{letter_of(key)}{row_id}：{BY_KEY[key].zh}为“{old}”，按当前规则应为“{new}”"
                                "（运行 登记编号 更新）")
    return problems


def _to_do(rows) -> list[str]:
    """Work waiting for a click, not a fault: rows typed and not numbered yet."""
    unnumbered = sum(1 for r in rows if not r.values.get("complaint_no"))
    return [f"待办：有 {unnumbered} 行尚未编号（运行 登记编号；无法编号的原因见“校验提示”列）"] if unnumbered else []


def check_register(store: RegisterStore, now: datetime | None = None) -> Summary:
    """File-level and row-level integrity problems, with cell addresses."""
    summary = Summary("check")
    summary.warnings += store.warnings
    settings_ok = True
    try:
        summary.messages += store.settings().email_problems()
    except ComplaintDeskError as exc:
        summary.messages.append(str(exc))
        settings_ok = False
    rows = store.rows()
    letter = col_letter(store.columns.get("complaint_no", 1))
    where: dict[str, list[int]] = {}
    for row in rows:
        number = text_of(row.values.get("complaint_no"))
        if number:
            where.setdefault(number, []).append(row.row_id)
    legacy = text_of(store.settings().param("legacy_number_pattern")) if settings_ok else ""
    summary.messages += [f"{letter}{row.row_id}：{problem}" for row in rows
                         if (problem := number_problem(text_of(row.values.get("complaint_no")), legacy))
                         and row.values.get("complaint_no")]
    duplicated = {n: rs for n, rs in where.items() if len(rs) > 1}
    summary.messages += [f"投诉编号 {n} 重复：" + "、".join(f"{letter}{r}" for r in rs) for n, rs in duplicated.items()]
    summary.messages += _counter_problems(store, where)
    summary.messages += missing_archives(store)
    if settings_ok and not duplicated:  # a recomputation of duplicated numbers says nothing useful
        columns = store.columns
        summary.messages += _recomputation_problems(
            store, now or datetime.now(), lambda key: col_letter(columns.get(key, 1)))
    summary.warnings += structure_notices(store)
    summary.warnings += _to_do(rows)
    summary.counts["rows"] = len(rows)
    summary.counts["problems"] = len(summary.messages)
    return summary


def _counter_problems(store: RegisterStore, numbers) -> list[str]:
    """Prefixes whose 编号计数 lies behind a number the register holds."""
    counter = {text_of(e.get("prefix")): e.get("last") for e in store.table("counter")}
    out = []
    for number in numbers:
        parts = split_number(number)
        if parts and counter and float(counter.get(parts[0]) or 0) < parts[1]:
            out.append(f"编号计数表中 {parts[0]} 的最大流水号小于已有编号 {number}（下次登记会自动修正）")
    return out


def _verified_copy(source: Path, tmp: Path) -> None:
    shutil.copyfile(source, tmp)
    verify_workbook(tmp, source.stat().st_size)


def restore(path: Path, which: int | None) -> Summary:
    summary = Summary("restore")
    backups = list_backups(Path(path))
    summary.data["backups"] = [(b, backup_state(b)) for b in backups] if which is None else backups
    if which is None:
        return summary
    if not 1 <= which <= len(backups):
        raise ComplaintDeskError(f"没有第 {which} 份备份（共 {len(backups)} 份，用 --list 查看）")
    chosen = backups[which - 1]
    verify_workbook(chosen)  # a broken copy never replaces the register
    holder = holder_of(Path(path))
    if holder is not None:  # the one action that cannot wait: it replaces the file the holder has open
        raise WorkbookLockedError(f"恢复备份会替换整个登记表文件，而它正被 {holder.describe()}："
                                  "请先在该程序中关闭登记表，再运行恢复")
    with register_lock(Path(path)):
        make_backup(Path(path), len(backups) + 1, verify=False)  # the version being replaced, as it is
        atomic_write(Path(path), partial(_verified_copy, chosen))
    summary.messages.append(f"已从 {chosen.name} 恢复")
    return summary
