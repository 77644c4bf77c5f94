"""Services — `publish` (上报集团): a branch's complaints, masked, into the group store.

What leaves the branch: every numbered complaint of the register and of its archives, as the
export record with names, phones, ids and free text masked (domain.masking), the customer as a
salted hash of the repeat key (id, else phone, else e-mail; the salt is the group's, so one
customer is one key in every branch), the 沟通记录 summary (entries, last contact), and whether it
is in the case library. Upserted by complaint number in one transaction: a rerun changes nothing,
a changed complaint updates, an archived one stays.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime
from functools import partial
from pathlib import Path

from ..adapters.group_store import Branch, GroupStore
from ..adapters.store import RegisterStore
from ..domain.kpis import KPI_KEYS, is_complaint, is_invalid, month_of
from ..domain.masking import mask_record
from ..domain.parsing import customer_key, parse_datetime, text_of
from ..errors import ComplaintDeskError
from .common import Summary, archives
from .group_report import summarise_month
from .readers import archived_rows
from .transfer import record

MAX_BRANCH = 100  # characters of a branch name


def branch_name(text: str) -> str:
    name = " ".join(str(text or "").split())
    if not name:
        raise ComplaintDeskError("请用 --branch 给出分支机构名称（如 华东呼叫中心），或在设置表填写“分支机构名称”")
    if len(name) > MAX_BRANCH:
        raise ComplaintDeskError(f"分支机构名称太长（{len(name)} 个字符，最多 {MAX_BRANCH} 个）")
    return name


def _contacts(store: RegisterStore) -> dict[str, tuple[int, str | None]]:
    """Complaint number -> (沟通记录 entries, the last one's time), the register's and the archives'."""
    out: dict[str, tuple[int, str | None]] = {}
    for entry in store.table("comms") + archives(store).comms():
        number = text_of(entry.get("complaint_no"))
        if not number:
            continue
        when, _ = parse_datetime(entry.get("time"))
        count, last = out.get(number, (0, None))
        stamp = when.isoformat(timespec="seconds") if when else None
        out[number] = (count + 1, max(filter(None, (last, stamp)), default=None))
    return out


PUBLISH_FORMAT = 2  # what a published row holds; a new format publishes every row again


def converted(values: dict, salt: str) -> dict | None:
    """A register row as the group store keeps it, but its 沟通记录 summary, archive mark and
    fingerprint (see finished); None for a row without a number. Module-level and free of the
    store: a large register's rows are converted by a worker process too."""
    rec = record(values)
    if not rec.get("complaint_no"):
        return None
    masked = {k: v for k, v in mask_record(rec).items() if v is not None}  # a missing key reads as None
    key = customer_key(values.get("customer_id"), values.get("contact"))
    ref = hashlib.sha256((salt + key).encode("utf-8")).hexdigest()[:32] if key else None
    if ref:
        masked["customer_ref"] = ref
    body = json.dumps(masked, ensure_ascii=False, sort_keys=True, default=str)
    received = rec.get("received_at") if isinstance(rec.get("received_at"), str) else None
    return {"complaint_no": rec["complaint_no"], "received_at": received[:19] if received else None,
            "month": month_of(rec), "counted": is_complaint(rec) and not is_invalid(rec),
            "category": text_of(rec.get("category"))[:100] or None,
            "product": text_of(rec.get("product"))[:200] or None,
            "customer_key": ref, "group_event": text_of(rec.get("group_event"))[:40] or None,
            "status": text_of(rec.get("status"))[:30] or None, "case_library": rec.get("case_library") is True,
            "facts": json.dumps({k: masked[k] for k in KPI_KEYS if k in masked}, ensure_ascii=False, default=str),
            "record": body}


def finished(row: dict, archived: bool, contacts: tuple[int, str | None]) -> dict:
    """A converted row with what the branch knows beside it, and the fingerprint of it all."""
    row["contacts"], row["last_contact_at"], row["archived"] = contacts[0], contacts[1], archived
    mark = f"{PUBLISH_FORMAT}|{row['record']}|{contacts}|{archived}"
    row["fingerprint"] = hashlib.sha1(mark.encode("utf-8")).hexdigest()
    return row


def branch_rows(store: RegisterStore, salt: str) -> tuple[list[dict], int]:
    """The register's and the archives' numbered complaints as published rows, and how many rows
    have no number yet. Two rows with one number stop the publication (nothing is sent)."""
    rows: dict[str, dict] = {}
    duplicates: list[str] = []
    unnumbered = 0
    for row in store.converted_rows(partial(converted, salt=salt)):
        if row is None:
            unnumbered += 1
        elif row["complaint_no"] in rows:
            duplicates.append(row["complaint_no"])
        else:
            rows[row["complaint_no"]] = row
    if duplicates:
        raise ComplaintDeskError("登记表中投诉编号重复：" + _where(store, duplicates)
                                 + "。请先运行 complaintdesk check 登记表 核对，未上报任何数据")
    contacts = _contacts(store)
    out = [finished(row, False, contacts.get(number, (0, None))) for number, row in rows.items()]
    for archived in archived_rows(store, taken=set(rows)):
        row = converted(archived.values, salt)
        if row is not None:
            out.append(finished(row, True, contacts.get(row["complaint_no"], (0, None))))
    return out, unnumbered


def _where(store: RegisterStore, numbers: list[str]) -> str:
    """Where the repeated numbers stand: '20261008-CS-001（第 5 行和第 9 行）' for the first three."""
    wanted, at = set(numbers), dict[str, list[str]]()
    open_rows, closed = store.split_rows(("complaint_no",))
    pairs = [(r.row_id, r.values.get("complaint_no")) for r in open_rows] + list(zip(closed.rows,
                                                                                   closed.columns["complaint_no"]))
    for row_id, number in sorted(pairs):
        if text_of(number) in wanted:
            at.setdefault(text_of(number), []).append(str(row_id))
    shown = [f"{n}（第 {' 行和第 '.join(rows)} 行）" for n, rows in list(at.items())[:3]]
    return "、".join(shown) + (f" 等 {len(at)} 个编号" if len(at) > 3 else "")


def source_stamp(store: RegisterStore, salt: str, info: "Branch") -> str | None:
    """What the publication is made from — the register's bytes, its archives (name, size, time),
    the branch's targets, the format: equal stamps publish equal rows. None without a file."""
    if store.path is None or not Path(store.path).is_file():
        return None
    digest = hashlib.sha1(f"{PUBLISH_FORMAT}|{salt}|{info}".encode("utf-8"))
    with open(store.path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    for path in archives(store).files():
        stat = path.stat()
        digest.update(f"|{path.name}|{stat.st_size}|{stat.st_mtime_ns}".encode("utf-8"))
    return digest.hexdigest()


def publish(store: RegisterStore, group: GroupStore, branch: str, now: datetime) -> Summary:
    """Publish the register (and its archives) into the group store as `branch`."""
    name = branch_name(branch)
    summary = Summary("publish")
    settings = store.settings()
    register = store.path.name if store.path is not None else "(内存)"
    info = Branch(name, register, float(settings.param("csat_target")), float(settings.param("response_hours_target")),
                  int(settings.param("hotspot_threshold")))
    salt = group.salt()
    stamp = source_stamp(store, salt, info)
    summary.data.update(branch=name, store=group.shown)
    if stamp is not None and group.stamp(name) == stamp:  # the same files as last time: the same rows
        summary.data["counts"] = {}
        return summary
    rows, unnumbered = branch_rows(store, salt)
    started = time.perf_counter()
    counts = group.publish(info, rows, now.isoformat(timespec="seconds"), stamp,
                           partial(summarise_month, threshold=info.hotspot_threshold, name=name))
    summary.data["database_seconds"] = round(time.perf_counter() - started, 2)
    summary.counts.update({"published": len(rows), "inserted": counts["inserted"], "updated": counts["updated"],
                           "unchanged": counts["unchanged"]})
    summary.data["counts"] = counts
    if unnumbered:
        summary.warnings.append(f"{unnumbered} 行尚无投诉编号，未上报（先运行 complaintdesk assign 登记表）")
    return summary


def group_url(settings) -> str:
    """The group store of the scheduler's 上报集团: 设置's 集团数据库, else COMPLAINTDESK_GROUP_URL."""
    return text_of(settings.param("group_url")) or os.environ.get("COMPLAINTDESK_GROUP_URL", "")


def publish_job(store: RegisterStore, now: datetime, mailer=None, ledger=None) -> Summary:
    """The scheduler's 上报集团 (daily, and on the 1st as soon as the month ends)."""
    settings = store.settings()
    url = group_url(settings)
    if not url:
        raise ComplaintDeskError("设置表“集团数据库”为空（也可用环境变量 COMPLAINTDESK_GROUP_URL），无法上报集团")
    group = GroupStore(url)
    try:
        return publish(store, group, text_of(settings.param("branch_name")), now)
    finally:
        group.close()
