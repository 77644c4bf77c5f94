"""Adapter — safe file handling: atomic saves, rotating backups, locks.

Every file complaintdesk writes goes through `atomic_write`: a temp file in
the same folder, flushed and fsynced, renamed over the target, then the folder
fsynced. Registers keep their previous versions in `.bak/`. `register_lock`
serialises the CLI, the scheduler and the ribbon on one register.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from ..errors import WorkbookLockedError
from .holder import holder_of

LOCK_TIMEOUT = float(os.environ.get("COMPLAINTDESK_LOCK_TIMEOUT", "60"))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(target: Path, write: Callable[[Path], object], durable: bool = True) -> None:
    """Call write(temp_path), then move the finished file over target.

    `durable=False` (caches that check themselves) skips the fsyncs."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".~tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
        if durable:
            _fsync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(target: Path, data: bytes) -> None:
    atomic_write(target, lambda tmp: tmp.write_bytes(data))


def backup_dir(register: Path) -> Path:
    return register.parent / ".bak"


def make_backup(register: Path, keep: int) -> Path | None:
    """Copy the current register into .bak/ and drop all but the newest `keep`."""
    if not register.exists() or keep <= 0:
        return None
    folder = backup_dir(register)
    folder.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    copy = folder / f"{register.stem}.{stamp}{register.suffix}"
    shutil.copy2(register, copy)
    for old in list_backups(register)[keep:]:
        old.unlink(missing_ok=True)
    return copy


def list_backups(register: Path) -> list[Path]:
    """Newest first."""
    folder = backup_dir(register)
    if not folder.exists():
        return []
    found = [p for p in folder.glob(f"{register.stem}.*{register.suffix}") if p.is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def refuse_if_open_in_excel(path: Path) -> None:
    """The last guard of every save: never write a file another program holds open. (Commands do
    not get here while it is held: they read a snapshot and queue their writes, services/held.py.)"""
    holder = holder_of(Path(path))
    if holder is not None:
        raise WorkbookLockedError(
            f"“{Path(path).name}”刚被{holder.describe()}，本次更改未写入；"
            "请重新运行，更改会排队并在文件关闭后写入。")


@contextlib.contextmanager
def register_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """One writer at a time per register, across processes."""
    path = Path(path)
    lock = FileLock(str(path.parent / f".{path.name}.lock"))
    try:
        lock.acquire(timeout=LOCK_TIMEOUT if timeout is None else timeout)
    except Timeout:
        raise WorkbookLockedError(
            f"“{path.name}”正被另一个 complaintdesk 任务（按钮、调度器或命令行）使用，请稍后再试。")
    try:
        yield
    finally:
        lock.release()
