"""Adapter — safe file handling: atomic saves, free space, leftovers, locks.

Every file complaintdesk writes goes through `atomic_write`: a temp file in
the same folder (named after its target), flushed and fsynced, given the
target's mode and owner, renamed over the target, then the folder fsynced.
A failing write (a full disk, a read-only share) is a `SaveError` in Chinese
(exit 2) with the target untouched. `save_register` adds the free-space check
and the verified backup (adapters.backups). `register_lock` serialises the
CLI, the scheduler and the ribbon on one register and clears the temp files
a killed save left beside it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

from ..errors import ComplaintDeskError, SchemaError, WorkbookLockedError
from .holder import holder_of

LOCK_TIMEOUT = float(os.environ.get("COMPLAINTDESK_LOCK_TIMEOUT", "60"))
TEMP_PREFIX = ".~tmp-"
STALE_TEMP_SECONDS = 3600  # a temp file of another target older than this was left by a killed run
SPACE_MARGIN = 16 << 20    # bytes kept free beyond what a save writes


class SaveError(ComplaintDeskError):
    """A file could not be written (disk full, no permission, a vanished share): nothing changed."""


def save_error(target: Path, exc: OSError) -> SaveError:
    reason = "磁盘空间不足" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or type(exc).__name__)
    return SaveError(f"无法保存“{Path(target).name}”：{reason}；原文件未改动")


def ensure_space(folder: Path, needed: int) -> None:
    """Refuse before writing anything when the disk of `folder` cannot take `needed` bytes more."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # nothing to measure (a share that does not say): the write itself reports a full disk
    if free < needed + SPACE_MARGIN:
        raise SaveError(f"磁盘空间不足：保存需要约 {(needed + SPACE_MARGIN) / 2**20:.0f} MB，"
                        f"“{folder}”所在磁盘只剩 {free / 2**20:.0f} MB；未写入任何更改，请清理磁盘后重试")


def _keep_metadata(target: Path, tmp: Path) -> None:
    """The new file gets the old one's mode, owner and group (a shared register stays shared);
    a new file gets the mode the umask gives (mkstemp makes 0600)."""
    try:
        st = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        return
    shutil.copymode(target, tmp)
    if hasattr(os, "chown"):
        with contextlib.suppress(OSError):  # only root may give a file away: the owner then stays ours
            os.chown(tmp, st.st_uid, st.st_gid)


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
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=target.suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        write(tmp)
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        _keep_metadata(target, tmp)
        os.replace(tmp, target)
        if durable:
            _fsync_dir(target.parent)
    except OSError as exc:
        raise save_error(target, exc) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def temp_prefix(target: Path) -> str:
    """Temp files are named after their target, so that the run holding a register's lock knows
    which leftovers are its own."""
    return f"{TEMP_PREFIX}{Path(target).stem[:40]}-"


def remove_leftovers(register: Path) -> list[Path]:
    """Temp files a killed save left beside the register, in its .bak/ or archive/ (full copies
    holding personal data): the register's own at once (its lock is held), any other after an hour."""
    register = Path(register)
    removed = []
    now = time.time()
    own = re.compile(re.escape(temp_prefix(register)) + r"[a-z0-9_]{8}" + re.escape(register.suffix) + "$")
    for folder in (register.parent, register.parent / ".bak", register.parent / "archive"):
        for path in folder.glob(TEMP_PREFIX + "*") if folder.is_dir() else ():
            with contextlib.suppress(OSError):
                if own.match(path.name) or now - path.stat().st_mtime > STALE_TEMP_SECONDS:
                    path.unlink()
                    removed.append(path)
    return removed


def save_register(path: Path, write: Callable[[Path], object], keep: int) -> None:
    """The register's save: room for the new file and its backup checked first, the current
    version kept as a verified backup, then the atomic write."""
    from .backups import make_backup
    path = Path(path)
    size = path.stat().st_size if path.exists() else 0
    ensure_space(path.parent, 2 * size)
    make_backup(path, keep)
    atomic_write(path, write)


def atomic_write_bytes(target: Path, data: bytes) -> None:
    atomic_write(target, lambda tmp: tmp.write_bytes(data))


def refuse_if_open_in_excel(path: Path) -> None:
    """The last guard of every save: never write a file another program holds open. (Commands do
    not get here while it is held: they read a snapshot and queue their writes, services/held.py.)"""
    holder = holder_of(Path(path))
    if holder is not None:
        raise WorkbookLockedError(
            f"“{Path(path).name}”刚被{holder.describe()}，本次更改未写入；"
            "请重新运行，更改会排队并在文件关闭后写入。")


@contextlib.contextmanager
def scheduler_lock(path: Path) -> Iterator[bool]:
    """One scheduler tick at a time per register, state read to state written: yields False at once
    when another scheduler holds it (its tick is skipped, not queued: the jobs would run twice)."""
    path = Path(path)
    lock = FileLock(str(path.parent / f".{path.name}.schedule.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


@contextlib.contextmanager
def register_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """One writer at a time per register, across processes. A path that cannot be a register (a
    folder, a .csv) is refused before any lock file is made; the lock file of a register that does
    not exist (a typo) is removed again."""
    path = Path(path)
    if path.is_dir():
        raise SchemaError(f"“{path}”是一个文件夹，不是登记表：请给出登记表文件，如 {path / '客户投诉登记表.xlsx'}")
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise SchemaError(f"“{path.name}”不是 Excel 登记表（应为 .xlsx 或 .xlsm）；"
                          "渠道导出的 .csv 请用 import 导入登记表")
    lock = FileLock(str(path.parent / f".{path.name}.lock"))
    try:
        lock.acquire(timeout=LOCK_TIMEOUT if timeout is None else timeout)
    except Timeout:
        raise WorkbookLockedError(
            f"“{path.name}”正被另一个 complaintdesk 任务（按钮、调度器或命令行）使用，请稍后再试。")
    try:
        remove_leftovers(path)
        yield
    finally:
        lock.release()
        if not path.exists():
            with contextlib.suppress(OSError):
                Path(lock.lock_file).unlink()
