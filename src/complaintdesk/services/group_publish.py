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
from datetime import datetime

from ..adapters.group_store import Branch, GroupStore
from ..adapters.store import RegisterStore
from ..domain.kpis import KPI_KEYS, is_complaint, is_invalid, month_of
from ..domain.masking import mask_record
from ..domain.parsing import customer_key, parse_datetime, text_of
from ..errors import ComplaintDeskError
from .case_library import in_case_library
from .common import Summary, archives
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


def published_row(values: dict, archived: bool, contacts: tuple[int, str | None], salt: str) -> dict:
    """One complaint as the group store keeps it (the complaints table's columns but branch)."""
    rec = record(values)
    masked = mask_record(rec)
    key = customer_key(values.get("customer_id"), values.get("contact"))
    masked["customer_ref"] = hashlib.sha256((salt + key).encode("utf-8")).hexdigest()[:32] if key else None
    body = json.dumps(masked, ensure_ascii=False, sort_keys=True, default=str)
    facts = json.dumps({k: masked.get(k) for k in KPI_KEYS}, ensure_ascii=False, default=str)
    fingerprint = hashlib.sha1(f"{body}|{contacts}|{archived}".encode("utf-8")).hexdigest()
    received = rec.get("received_at") if isinstance(rec.get("received_at"), str) else None
    return {"complaint_no": rec["complaint_no"], "received_at": received[:19] if received else None,
            "month": month_of(rec), "counted": is_complaint(rec) and not is_invalid(rec),
            "category": text_of(rec.get("category"))[:100] or None,
            "product": text_of(rec.get("product"))[:200] or None,
            "customer_key": masked["customer_ref"], "group_event": text_of(rec.get("group_event"))[:40] or None,
            "status": text_of(rec.get("status"))[:30] or None, "case_library": in_case_library(values),
            "contacts": contacts[0], "last_contact_at": contacts[1], "archived": archived,
            "facts": facts, "record": body, "fingerprint": fingerprint}


def branch_rows(store: RegisterStore, salt: str) -> tuple[list[dict], int]:
    """The register's and the archives' numbered complaints as published rows, and how many rows
    have no number yet. Two rows with one number stop the publication (nothing is sent)."""
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    unnumbered = 0
    register = []
    for row in store.full_rows():
        number = text_of(row.values.get("complaint_no"))
        if not number:
            unnumbered += any(v not in (None, "") for v in row.values.values())
            continue
        if number in seen:
            duplicates.append(f"{number}（第 {seen[number]} 行和第 {row.row_id} 行）")
            continue
        seen[number] = row.row_id
        register.append(row.values)
    if duplicates:
        more = f" 等 {len(duplicates)} 处" if len(duplicates) > 3 else ""
        raise ComplaintDeskError("登记表中投诉编号重复：" + "、".join(duplicates[:3]) + more
                                 + "。请先运行 complaintdesk check 登记表 核对，未上报任何数据")
    contacts = _contacts(store)
    rows = [published_row(v, False, contacts.get(text_of(v.get("complaint_no")), (0, None)), salt) for v in register]
    for row in archived_rows(store, taken=set(seen)):
        number = text_of(row.values.get("complaint_no"))
        if number:
            rows.append(published_row(row.values, True, contacts.get(number, (0, None)), salt))
    return rows, unnumbered


def publish(store: RegisterStore, group: GroupStore, branch: str, now: datetime) -> Summary:
    """Publish the register (and its archives) into the group store as `branch`."""
    name = branch_name(branch)
    summary = Summary("publish")
    rows, unnumbered = branch_rows(store, group.salt())
    settings = store.settings()
    register = store.path.name if store.path is not None else "(内存)"
    info = Branch(name, register, float(settings.param("csat_target")), float(settings.param("response_hours_target")),
                  int(settings.param("hotspot_threshold")))
    counts = group.publish(info, rows, now.isoformat(timespec="seconds"))
    summary.counts.update({"published": len(rows), "inserted": counts["inserted"], "updated": counts["updated"],
                           "unchanged": counts["unchanged"]})
    summary.data.update(counts=counts, branch=name, store=group.shown)
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
