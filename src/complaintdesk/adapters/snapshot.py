"""Adapter — a verified copy of a register's last saved version, for reading while it is held open.

While Excel, WPS or LibreOffice holds the register, readers never keep the live file open (on
Windows a reader holding it can make the holder's next save fail): its bytes are copied to
`.cache/<name>.saved.xlsx`, the copy is checked (the file did not change while it was copied,
every member's CRC is right, the package passes the guard), and the stores read the copy. The
copy is kept and reused while the register's size and modification time stay the same, so a
scheduler ticking every minute copies and checks a version once.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import SchemaError
from .files import atomic_write
from .package_guard import inspect_package

ATTEMPTS = 5
WAIT_BETWEEN = 0.5  # seconds: the holder may be saving the file while we copy it


@dataclass(frozen=True)
class Snapshot:
    register: Path
    copy: Path
    saved_at: datetime  # when the version read was saved

    def describe(self, now: datetime | None = None) -> str:
        same_day = now is not None and now.date() == self.saved_at.date()
        return f"{self.saved_at:%H:%M}" if same_day else f"{self.saved_at:%Y-%m-%d %H:%M}"


def _paths(register: Path) -> tuple[Path, Path]:
    folder = register.parent / ".cache"
    return folder / f"{register.name}.saved{register.suffix}", folder / f"{register.name}.saved.json"


def _stamp(register: Path) -> dict:
    st = os.stat(register)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verify(copy: Path) -> None:
    """Raise SchemaError unless `copy` is a whole, readable package."""
    inspect_package(copy)
    try:
        with zipfile.ZipFile(copy) as zf:
            bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SchemaError(f"副本无法读取（{type(exc).__name__}）")
    if bad is not None:
        raise SchemaError(f"副本中的 {bad} 校验失败")


def take_snapshot(register: Path) -> Snapshot:
    """The last saved version of `register`, copied and verified (or the kept copy of it)."""
    register = Path(register)
    copy, record = _paths(register)
    problem = ""
    for attempt in range(ATTEMPTS):
        before = _stamp(register)
        saved_at = datetime.fromtimestamp(before["mtime_ns"] / 1e9).replace(microsecond=0)
        try:
            if json.loads(record.read_text(encoding="utf-8")) == before and copy.stat().st_size == before["size"]:
                return Snapshot(register, copy, saved_at)
        except (OSError, ValueError):
            pass
        try:
            atomic_write(copy, lambda tmp: (shutil.copyfile(register, tmp), _verify(tmp)), durable=False)
        except SchemaError as exc:
            problem = str(exc)
        else:
            if _stamp(register) == before:
                atomic_write(record, lambda tmp: tmp.write_text(json.dumps(before), encoding="utf-8"),
                             durable=False)
                return Snapshot(register, copy, saved_at)
            problem = "复制时文件正在被保存"
        time.sleep(WAIT_BETWEEN * (attempt + 1))
    raise SchemaError(f"无法读取“{register.name}”已保存的版本：{problem}。请在打开它的程序中保存一次后重试。")
