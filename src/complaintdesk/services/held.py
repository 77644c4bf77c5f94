"""Services — working beside a register that is held open (Excel, WPS, LibreOffice all day).

`open_session` is how every command and scheduler run meets the register:
- free, writing: the register itself, under the lock; changes queued while it was held are
  applied first (`apply_pending`), each exactly once, in order, with an audit line;
- held (or only reading): a verified snapshot of the last saved version (or the file itself
  for a read of a free register); queued changes are shown in memory, nothing is saved.
`submit` runs a writing action: at once on a free register; on a held one it is checked against
the snapshot, shown, and queued. Queued actions are rows of `PENDING_ACTIONS`.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, cast

from ..adapters.files import register_lock
from ..adapters.holder import STALE_HOURS, Holder, holder_of, left_behind, owner_file_of
from ..adapters.package_guard import require_register
from ..adapters.pending import AlertLedger, Entry, PendingQueue
from ..adapters.register_structure import Repair
from ..adapters.snapshot import Snapshot, take_snapshot
from ..adapters.store import RegisterStore
from ..adapters.stores import open_store
from ..domain.parsing import text_of
from ..errors import ComplaintDeskError
from .common import Summary, close_store, display, save

AUDIT_COLUMN = "待写入更改"
ENTRY_ID = re.compile(r"#([0-9a-f]{12})\b")


def _log(s, a, made, now):
    from .casework import log_entry
    return log_entry(s, a["number"], made, a.get("channel", "电话"), a["content"], a.get("next_step", ""),
                     a.get("who", ""))


def _surveys(s, a, made, now):
    from .casework import import_survey_table
    return import_survey_table(s, a["headers"], a["data"], made)


def _surveys_sent(s, a, made, now):
    from .casework import mark_surveys_sent
    return mark_surveys_sent(s, a["numbers"], made)


def _campaign_rows(s, a, made, now):
    from .campaign import record_campaign
    return record_campaign(s, a["rows"], made)


def _import(s, a, made, now):
    from .transfer import import_table
    return import_table(s, a["name"], a["headers"], a["data"], made, strict=bool(a.get("strict")))


def _assign(s, a, made, now):
    from .register import assign
    return assign(s, now)


def _sla(s, a, made, now):
    from .register import check_sla
    return check_sla(s, now)


def _repair(s, a, made, now):
    from .structure import repair_structure
    return repair_structure(s, now)


def _finish_interrupted_archive(store: RegisterStore) -> list[str]:
    from .archive import finish_interrupted_archive
    return finish_interrupted_archive(store)


def _archive(s, a, made, now):
    from .archive import archive
    return archive(s, now, a.get("older_than"))


@dataclass(frozen=True)
class PendingAction:
    label: str
    apply: Callable  # (store, args, made_at, now) -> Summary
    preview: bool    # shown in memory while held (False: the action writes files of its own)


def _merge(s, a, made, now):
    from .casework import merge_complaint
    return merge_complaint(s, a["duplicate"], a["main"], made)


PENDING_ACTIONS = {
    "log": PendingAction("沟通记录", _log, True),
    "merge": PendingAction("合并重复登记", _merge, True),
    "surveys": PendingAction("回访结果", _surveys, True),
    "surveys_sent": PendingAction("回访发送时间", _surveys_sent, True),
    "campaign_rows": PendingAction("回访活动记录", _campaign_rows, True),
    "import": PendingAction("导入行", _import, True),
    "assign": PendingAction("登记编号", _assign, True),
    "sla": PendingAction("刷新时效", _sla, True),
    "archive": PendingAction("归档", _archive, False),
    "repair": PendingAction("结构修复", _repair, True),
}


class _NoSave:
    """A store whose save() waits: the queued changes are saved together, once."""

    def __init__(self, store: RegisterStore):
        self._store = store

    def __getattr__(self, name):
        return getattr(self._store, name)

    def save(self) -> None:
        pass

    def structure(self) -> Repair:
        return Repair()  # this save repairs nothing: the one after the queued changes does, once


def _no_save(store: RegisterStore) -> RegisterStore:
    return cast(RegisterStore, _NoSave(store))


@dataclass
class Session:
    store: RegisterStore
    queue: PendingQueue
    ledger: AlertLedger
    holder: Holder | None = None
    snapshot: Snapshot | None = None
    pending: Summary = field(default_factory=lambda: Summary("pending"))
    live: bool = False  # written through the Excel that holds it on this PC

    @property
    def held(self) -> bool:
        return self.holder is not None

    def notice(self, now: datetime) -> str:
        """What the user is told about the register's state ("" when it is free)."""
        if self.holder is None or self.snapshot is None:
            return ""
        return (f"登记表正被 {self.holder.describe()}；本次读取的是 "
                f"{self.snapshot.describe(now)} 保存的版本")


@contextmanager
def open_session(path, source: str, now: datetime, kind: str | None = None,
                 write: bool = True) -> Iterator[Session]:
    """The register for one command or scheduler run (see the module docstring)."""
    path = Path(path)
    require_register(path)
    with register_lock(path):
        holder = holder_of(path)
        snapshot = take_snapshot(path) if holder is not None else None
        store = open_store(path, source, kind, read_only_check=not write, snapshot=snapshot)
        session = Session(store, PendingQueue(path), AlertLedger(path), holder, snapshot)
        try:
            if write and not session.held:
                session.pending = apply_pending(session, now)
                session.pending.messages += _finish_interrupted_archive(store)
            else:
                session.pending = preview_pending(session, now)
            yield session
        finally:
            close_store(store)


@contextmanager
def open_live_session(path, store, now: datetime) -> Iterator[Session]:
    """The register open in Excel on this PC, written through Excel (adapters.live_excel): the
    queued changes are applied there first, like on a free file."""
    with register_lock(Path(path)):
        session = Session(store, PendingQueue(Path(path)), AlertLedger(Path(path)), live=True)
        session.pending = apply_pending(session, now)
        yield session


def submit(session: Session, action: str, args: dict, now: datetime) -> Summary:
    """Run a writing action now, or — the register being held — check it on the snapshot, show
    its result and queue it for the next write."""
    spec = PENDING_ACTIONS[action]
    if session.holder is None:
        return spec.apply(session.store, args, now, now)
    summary = spec.apply(_no_save(session.store), args, now, now) if spec.preview else Summary(action)
    session.queue.add(action, args, now, session.store.source)
    summary.warnings.append(f"登记表正被 {session.holder.describe()}：此{spec.label}已排队，"
                            "文件关闭后由下一次命令、调度器或按钮自动写入（只写一次）")
    return summary


def owner_notices(path: Path) -> list[str]:
    """What `check` says of an owner file beside the register that may be a crash's leftover: one
    whose program is known to be gone (ignored: the register is free), or one much older than the
    register's last save (kept: only a person can tell whether it is still open)."""
    found = owner_file_of(Path(path))
    if found is None:
        return []
    if left_behind(found):
        return [f"“{found.owner_file.name}”是 {found.program}（{found.user or '未知用户'}）退出时未删除的打开标记，"
                "该程序已不在运行：已忽略，可删除此文件"]
    hours = found.older_than_last_save(Path(path))
    if hours < STALE_HOURS:
        return []
    return [f"登记表正被 {found.describe()}，但这个打开标记比登记表最后一次保存早 {hours:.0f} 小时，可能是程序"
            f"崩溃后留下的：如确认 {found.user or '该用户'} 已关闭登记表，请删除“{found.owner_file.name}”，"
            "排队的更改随后自动写入"]


def queue_followup(session: Session, action: str, args: dict, now: datetime) -> None:
    """Queue what an action did only in memory on a snapshot (e.g. the survey sending times
    `docs --all-due` records): the documents exist, their record waits for the file."""
    if session.held:
        session.queue.add(action, args, now, session.store.source)


def preview_pending(session: Session, now: datetime) -> Summary:
    """Show the queued changes in memory (reads see them), save nothing, remove nothing."""
    summary = Summary("pending")
    entries = session.queue.entries()
    store = _no_save(session.store)
    for entry in entries:
        spec = PENDING_ACTIONS.get(entry.action)
        if spec is None or not spec.preview:
            continue
        try:
            spec.apply(store, entry.args, entry.made_at, now)
        except ComplaintDeskError as exc:
            summary.warnings.append(f"待写入的{spec.label}（{display(entry.made_at)} 提交）无法写入：{exc}")
    summary.data["waiting"] = len(entries)
    if entries:
        summary.warnings.append(f"有 {len(entries)} 项更改等待写入登记表（{session.queue.folder.name}），"
                                "已计入本次结果")
    return summary


def apply_pending(session: Session, now: datetime) -> Summary:
    """Write the queued changes and the mailed-alert record into the free register: each once,
    in order, with an audit line; then remove them from the queue."""
    summary = Summary("pending")
    store, queue = session.store, session.queue
    entries = queue.entries()
    records = session.ledger.records()
    if not entries and not records:
        return summary
    done = _applied_ids(store) if any(e.applying for e in entries) else set()
    applied: list[Entry] = []
    for entry in entries:
        if entry.id in done:  # saved by a run that stopped before removing it
            queue.remove(entry)
            continue
        spec = PENDING_ACTIONS.get(entry.action)
        queue.mark_applying(entry)
        try:
            if spec is None:
                raise ComplaintDeskError(f"未知的更改类型“{entry.action}”")
            result = spec.apply(_no_save(store), entry.args, entry.made_at, now)
        except ComplaintDeskError as exc:
            kept = queue.fail(entry, str(exc))
            summary.warnings.append(f"待写入的{spec.label if spec else entry.action}（{display(entry.made_at)} 提交，"
                                    f"{entry.source}）无法写入：{exc}；已保留在 {kept}")
            continue
        store.append_table("audit", [_audit_line(store, entry, spec.label, now, result)])
        summary.messages += result.messages
        summary.warnings += result.warnings
        summary.add("applied")
        applied.append(entry)
    merged = merge_ledger(store, records)
    if applied or merged:
        save(store, summary, now)
    for entry in applied:
        queue.remove(entry)
    session.ledger.forget({r["key"] for r in records})
    if applied:
        summary.warnings.insert(0, f"已写入登记表打开期间排队的 {len(applied)} 项更改")
    return summary


def merge_ledger(store: RegisterStore, records: list[dict]) -> bool:
    """Add to 通知记录 the mailed alerts it does not hold yet; True when there were any."""
    if not records:
        return False
    in_sheet = {text_of(r.get("key")) for r in store.table("notified")}
    new = [{"key": r["key"], "time": r.get("time"), "to": r.get("to")} for r in records if r["key"] not in in_sheet]
    if new:
        store.append_table("notified", new)
    return bool(new)


def _applied_ids(store: RegisterStore) -> set[str]:
    return {m.group(1) for line in store.table("audit") if text_of(line.get("column")) == AUDIT_COLUMN
            for m in [ENTRY_ID.search(text_of(line.get("new")))] if m}


def _audit_line(store: RegisterStore, entry: Entry, label: str, now: datetime, result: Summary) -> dict:
    number = entry.args.get("number") or "、".join(entry.args.get("numbers", []))[:60]
    return {"time": now, "source": f"{entry.source}（排队）", "complaint_no": number, "column": AUDIT_COLUMN,
            "old": f"{display(entry.made_at)} 提交：{label}",
            "new": f"{display(now)} 写入 #{entry.id}"}
