"""Adapter — what waits beside a held register: queued changes and the record of mailed alerts.

`PendingQueue`: one JSON file per change in `.<register name>.pending/`, written atomically (an
entry is there whole or not at all), named so that sorting the names gives the order they were
made in. An entry being applied is first marked (`applying`), so a run that dies between saving
the register and removing the entry can tell, from the audit line the save carried, that it was
applied (services/held.py). Entries that cannot be applied move to `failed/` and are reported.

`AlertLedger`: the alerts mailed (one JSON line each, flushed and fsynced before the mail goes),
kept outside the workbook, merged into 通知记录 at the next write of the register.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Protocol

from .files import atomic_write


def encode(value):
    """JSON for cell values: times and dates tagged so they come back as they were."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, dt_time):
        return {"$t": value.isoformat()}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value):
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$t" in value:
            return dt_time.fromisoformat(value["$t"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@dataclass
class Entry:
    id: str
    action: str
    made_at: datetime       # the moment the change was made (the action's `now`)
    source: str             # who made it: 命令行, 调度器, 按钮
    args: dict = field(default_factory=dict)
    applying: bool = False  # a run started applying it (see the module docstring)
    path: Path | None = None

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "action": self.action, "made_at": self.made_at.isoformat(),
                           "source": self.source, "args": encode(self.args), "applying": self.applying},
                          ensure_ascii=False)

    @classmethod
    def from_file(cls, path: Path) -> "Entry":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["id"], data["action"], datetime.fromisoformat(data["made_at"]), data.get("source", ""),
                   decode(data.get("args") or {}), bool(data.get("applying")), path)


class PendingQueue:
    def __init__(self, register: Path):
        self.folder = Path(register).parent / f".{Path(register).name}.pending"

    def add(self, action: str, args: dict, made_at: datetime, source: str) -> Entry:
        entry = Entry(uuid.uuid4().hex[:12], action, made_at, source, args)
        path = self.folder / f"{time.time_ns():020d}-{entry.id}.json"
        atomic_write(path, lambda tmp: tmp.write_text(entry.to_json(), encoding="utf-8"))
        entry.path = path
        return entry

    def entries(self) -> list[Entry]:
        """The queued changes, oldest first; an unreadable file is left for `damaged()`."""
        out = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
            try:
                out.append(Entry.from_file(path))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return out

    def damaged(self) -> list[Path]:
        good = {e.path for e in self.entries()}
        return [p for p in sorted(self.folder.glob("*.json")) if p not in good] if self.folder.is_dir() else []

    def mark_applying(self, entry: Entry) -> None:
        entry.applying = True
        atomic_write(entry.path, lambda tmp: tmp.write_text(entry.to_json(), encoding="utf-8"))

    def remove(self, entry: Entry) -> None:
        if entry.path is not None:
            entry.path.unlink(missing_ok=True)

    def fail(self, entry: Entry, reason: str) -> Path:
        """Keep an entry that cannot be applied, with the reason, in failed/."""
        target = self.folder / "failed" / entry.path.name
        data = json.loads(entry.to_json()) | {"reason": reason}
        atomic_write(target, lambda tmp: tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8"))
        self.remove(entry)
        return target

    def failed(self) -> list[Path]:
        folder = self.folder / "failed"
        return sorted(folder.glob("*.json")) if folder.is_dir() else []


class Ledger(Protocol):
    """Where mailed alerts are recorded before the mail goes (AlertLedger; notify's MemoryLedger)."""

    def keys(self) -> set[str]: ...
    def add(self, records: list[dict]) -> None: ...
    def forget(self, keys: set[str]) -> None: ...


class AlertLedger:
    """Alerts mailed, by key, outside the workbook (JSON lines; a line cut by a crash is skipped)."""

    def __init__(self, register: Path):
        self.path = Path(register).parent / f".{Path(register).name}.notified.jsonl"

    def records(self) -> list[dict]:
        try:
            lines = self.path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                record = decode(json.loads(line))
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("key"):
                out.append(record)
        return out

    def keys(self) -> set[str]:
        return {r["key"] for r in self.records()}

    def add(self, records: list[dict]) -> None:
        """Append and make durable before the mail they describe is sent."""
        if not records:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = b"".join(json.dumps(encode(r), ensure_ascii=False).encode("utf-8") + b"\n" for r in records)
        with open(self.path, "ab") as handle:
            if handle.tell():  # a line cut short by a crash must not swallow the first new one
                handle.write(b"\n")
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    def forget(self, keys: set[str]) -> None:
        """Drop the records now kept in 通知记录."""
        kept = [r for r in self.records() if r["key"] not in keys]
        if not kept:
            self.path.unlink(missing_ok=True)
            return
        text = "".join(json.dumps(encode(r), ensure_ascii=False) + "\n" for r in kept)
        atomic_write(self.path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
