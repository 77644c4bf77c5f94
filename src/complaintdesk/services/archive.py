"""Services — `archive` (move old closed complaints to yearly files), retention purge, and `find`.

The move is all-or-nothing: each archive file is written and read back before
any row leaves the register; if the run stops in between, the next run sees
the rows already archived and only removes them from the register. The 变更记录
rows of the complaints that leave go with them, to a file of that run
(archive/变更记录_<date>.xlsx, also read back first); the register keeps one
line per file written, so its audit sheet stays within Excel's row limit.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

from ..adapters.archive_shelf import ArchiveMarker
from ..adapters.faststore.archive_files import (
    ARCHIVE_PREFIX,
    AUDIT_PREFIX,
    archive_owner,
    archive_path,
    archived_numbers,
    archives_of_register,
    audit_archive_path,
    audit_rows_in,
    read_archive,
    read_audit_archive,
    remove_archive,
    write_archive,
    write_audit_archive,
)
from ..adapters.safe_paths import safe_name
from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.masking import mask_contact, mask_free_text, mask_name
from ..domain.parsing import normalise_phone, parse_datetime, text_of
from ..domain.schema import AUDIT_COLUMNS
from ..errors import ComplaintDeskError
from .common import (
    Summary,
    archives,
    audit_row,
    display,
    save,
)
from .readers import archive_record, archived_rows


def _closed_before(values: dict, cutoff: datetime) -> bool:
    closed, _ = parse_datetime(values.get("closed_at"))
    status = labels.to_code(labels.STATUS, values.get("status"))
    done = status in ("closed", "merged")  # a merged duplicate leaves with the closed complaints
    return done and closed is not None and closed < cutoff and bool(values.get("complaint_no"))


def archive(store: RegisterStore, now: datetime, older_than_days: int | None = None) -> Summary:
    summary = Summary("archive")
    folder = archives(store).folder
    if folder is None or store.path is None:
        raise ComplaintDeskError("归档需要登记表文件路径")
    days = int(older_than_days if older_than_days is not None else store.settings().param("archive_days"))
    cutoff = now - timedelta(days=days)
    register = store.rows()
    moving = [r.row_id for r in register if _closed_before(r.values, cutoff)]
    marker = ArchiveMarker(store.path)
    if not moving:
        marker.end()
        return summary
    marker.begin(now, days)
    leaving = set(moving)
    staying = {text_of(r.values.get("complaint_no")) for r in register if r.row_id not in leaving}
    leaving_rows = store.read_full(moving)  # every cell goes to the archive
    by_year = _by_year(leaving_rows, now)
    comms = store.table("comms")
    numbers = {text_of(r.values["complaint_no"]) for r in leaving_rows}
    for year, rows in sorted(by_year.items()):
        summary.files.append(_write_year_archive(archive_path(folder, year, store.path), rows, comms))
    kept_audit, audit_file, moved = _move_audit(store, folder, now, by_year, numbers, staying)
    summary.files.append(audit_file)
    store.remove_register([r.row_id for r in leaving_rows])
    store.replace_table("archives", archive_record(store, now))
    store.replace_table("comms", [c for c in comms if text_of(c.get("complaint_no")) not in numbers])
    store.replace_table("audit", kept_audit + [
        audit_row(store, now, "", ARCHIVED, "", f"{len(rows)} 条投诉 → {archive_path(folder, year, store.path).name}")
        for year, rows in sorted(by_year.items())] + [
        audit_row(store, now, "", AUDIT_ARCHIVED, "", f"{moved} 条变更记录 → {audit_file.name}")])
    save(store, summary, now)
    marker.end()
    summary.add("documents", _move_documents(store.path, folder, numbers))
    summary.add("archived", len(leaving_rows))
    summary.add("audit_archived", moved)
    return summary


DOCUMENT_FOLDERS = ("文档", "documents")  # where `docs` writes beside the register (zh / en)


def _move_documents(register: Path, folder: Path, numbers: set[str]) -> int:
    """The generated documents of archived complaints go with them: 文档/<number>_*.* →
    archive/文档/<number>/ (a file already there is kept; the newcomer gets a (2) suffix). Only the
    register's own document folders are looked at; how many files moved."""
    prefixes = {safe_name(n) + "_": n for n in numbers if n}
    moved = 0
    for name in DOCUMENT_FOLDERS:
        source = register.parent / name
        if not source.is_dir() or not prefixes:
            continue
        for path in sorted(source.iterdir()):
            number = next((n for p, n in prefixes.items() if path.name.startswith(p)), None)
            if number is None or not path.is_file():
                continue
            target_dir = folder / name / safe_name(number)
            target_dir.mkdir(parents=True, exist_ok=True)
            target, copy = target_dir / path.name, 2
            while target.exists():
                target = target_dir / f"{path.stem}({copy}){path.suffix}"
                copy += 1
            os.replace(path, target)
            moved += 1
    return moved


def _by_year(rows: list, now: datetime) -> dict[int, list]:
    """The rows by the year they were received (this year where the time cannot be read)."""
    by_year: dict[int, list] = {}
    for row in rows:
        received, _ = parse_datetime(row.values.get("received_at"))
        by_year.setdefault(received.year if received else now.year, []).append(row)
    return by_year


def _write_year_archive(path: Path, rows: list, comms: list[dict]) -> Path:
    """Add a year's leaving complaints (and their 沟通记录) to its archive file, those it does not
    hold yet (a run that stopped half-way wrote some), and check the file holds every one."""
    existing, existing_comms = read_archive(path) if path.exists() else ([], [])
    have = {text_of(r.values.get("complaint_no")) for r in existing}
    year_numbers = {text_of(r.values["complaint_no"]) for r in rows}
    new_rows = [r.values for r in rows if text_of(r.values["complaint_no"]) not in have]
    new_comms = [c for c in comms if text_of(c.get("complaint_no")) in year_numbers - have]
    if new_rows:
        write_archive(path, [r.values for r in existing] + new_rows, existing_comms + new_comms)
        if not year_numbers <= archived_numbers(path):
            raise ComplaintDeskError(f"归档文件 {path.name} 校验失败，登记表未做任何更改")
    return path


def _move_audit(store: RegisterStore, folder, now: datetime, by_year: dict[int, list], numbers: set[str],
                staying: set[str]) -> tuple[list[dict], Path, int]:
    """Write the 变更记录 rows of the complaints leaving (and of complaints archived earlier that
    the register no longer holds), then a （归档） row per complaint, to this day's audit file, and
    check it; returns the rows the register keeps, the file and how many rows it took."""
    kept, moved = _audit_split(store, numbers, staying)
    register = Path(store.path or "")
    moved += [audit_row(store, now, text_of(r.values["complaint_no"]), ARCHIVED, "",
                        archive_path(folder, year, register).name)
              for year, rows in sorted(by_year.items()) for r in rows]
    audit_file = audit_archive_path(folder, now.date(), register)
    earlier = read_audit_archive(audit_file) if audit_file.exists() else []
    seen = {_audit_key(entry) for entry in earlier}  # (a run that stopped half-way moved them already)
    moved = [entry for entry in moved if _audit_key(entry) not in seen]
    write_audit_archive(audit_file, earlier + moved)
    if audit_rows_in(audit_file) != len(earlier) + len(moved):
        raise ComplaintDeskError(f"变更记录归档 {audit_file.name} 校验失败，登记表未做任何更改")
    return kept, audit_file, len(moved)


ARCHIVED, AUDIT_ARCHIVED = "（归档）", "（变更记录归档）"


def _audit_key(entry: dict) -> tuple:
    return tuple(display(entry.get(key)) for key, _, _ in AUDIT_COLUMNS)


def _audit_split(store: RegisterStore, numbers: set[str], staying: set[str]) -> tuple[list[dict], list[dict]]:
    """The register's 变更记录 rows that stay, and those that leave with their complaints: of the
    complaints archived now and of those archived before (a register from before this rule, or
    whose run stopped half-way) — never of a number the register still holds."""
    gone = (numbers | archives(store).numbers()) - staying - {""}
    kept: list[dict] = []
    moved: list[dict] = []
    for entry in store.table("audit"):
        (moved if text_of(entry.get("complaint_no")) in gone else kept).append(entry)
    return kept, moved


def expired_archives(store: RegisterStore, now: datetime) -> list[Path]:
    """Yearly archives, and the audit archives of runs in that year, past the retention period."""
    folder = archives(store).folder
    years = int(store.settings().param("retention_years"))
    out = []
    for prefix in (ARCHIVE_PREFIX, AUDIT_PREFIX):
        for path in archives_of_register(folder, store.path, prefix) if folder and store.path else []:
            owner = archive_owner(path, prefix)
            if owner and date(int(owner[0][:4]) + 1 + years, 1, 1) <= now.date():
                out.append(path)
    return out


def finish_interrupted_archive(store: RegisterStore) -> list[str]:
    """Run again an `archive` that stopped half-way (see ArchiveMarker); what to tell the user."""
    began = ArchiveMarker(store.path).interrupted() if store.path is not None else None
    if began is None:
        return []
    at, days = began
    done = archive(store, at, days)
    return [f"已完成 {at:%m-%d %H:%M} 中断的归档：从登记表移出已归档的投诉 {done.counts.get('archived', 0)} 条"]


def purge_expired(store: RegisterStore, now: datetime, yes: bool) -> Summary:
    summary = Summary("purge")
    expired = expired_archives(store, now)
    retention = store.settings().param("retention_years")
    for path in expired:
        summary.messages.append(f"{path.name} 已超过保留期（{retention} 年）" + ("，已删除" if yes else ""))
        if yes:
            remove_archive(path)
            summary.add("purged")
    if yes and expired and store.table("archives"):  # deleted on purpose: no longer missing
        store.replace_table("archives", archive_record(store, now))
        save(store, summary, now)
    if not expired:
        summary.messages.append(f"没有超过保留期（{retention} 年）的归档")
    elif not yes:
        summary.warnings.append("以上文件未删除；确认后加 --yes 删除")
    return summary


FIND_KEYS = ("complaint_no", "customer_id", "order_no", "customer_name", "product", "description", "demand")


def find(store: RegisterStore, query: str, unmasked: bool = False) -> Summary:
    """Search register and archives by number, phone, customer id, order no or text."""
    summary = Summary("find")
    q = query.strip().lower()
    phone = normalise_phone(query)
    phone = phone if len(phone) >= 4 else ""  # a shorter one is no phone number to look for
    # a large register is not read in full: only the rows that may hold the text are compared
    asked = ([q] if q else [], [phone] if phone else [], FIND_KEYS + ("contact",))
    hits = []
    archived = archived_rows(store, archives(store).rows_mentioning(*asked))  # the register's copy wins
    for source, rows in (("登记表", store.rows_mentioning(*asked)), ("归档", archived)):
        hits += [_hit(source, row.values, unmasked) for row in rows if _mentions(row.values, q, phone)]
    summary.data["hits"] = hits
    summary.add("found", len(hits))
    return summary


def _mentions(v: dict, q: str, phone: str) -> bool:
    """Whether a row holds the text (in a searched field or its contact) or the phone number."""
    contact = text_of(v.get("contact"))
    if phone and phone in normalise_phone(contact):
        return True
    return bool(q) and (q in contact.lower() or any(q in text_of(v.get(k)).lower() for k in FIND_KEYS))


def _hit(source: str, v: dict, unmasked: bool) -> dict:
    name, contact = text_of(v.get("customer_name")), text_of(v.get("contact"))
    return {"source": source, "complaint_no": text_of(v.get("complaint_no")),
            "received_at": display(v.get("received_at")), "category": text_of(v.get("category")),
            "customer": name if unmasked else mask_name(name),
            "contact": contact if unmasked else mask_contact(contact),
            "status": text_of(v.get("status")),
            "description": (text_of(v.get("description")) if unmasked
                            else mask_free_text(text_of(v.get("description")), name))[:40]}
