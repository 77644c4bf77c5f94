"""Adapter — the register's previous versions in `.bak/`: each copy written under a temp name,
fsynced, verified (the same size as the register, a zip whose every part reads back with its
CRC, a workbook inside) and only then named as a backup; `restore` verifies again before the copy
replaces anything. A backup that cannot be verified is never listed as one to restore."""
from __future__ import annotations

import shutil
import zipfile
from datetime import datetime
from functools import partial
from pathlib import Path

from ..errors import ComplaintDeskError
from .files import atomic_write


class BrokenBackupError(ComplaintDeskError):
    """A backup that does not read back as a workbook."""


def backup_dir(register: Path) -> Path:
    return register.parent / ".bak"


def verify_workbook(path: Path, size: int | None = None) -> None:
    """Raise BrokenBackupError unless `path` is a whole workbook (and `size` bytes long when given)."""
    name = Path(path).name
    try:
        actual = Path(path).stat().st_size
        if size is not None and actual != size:
            raise BrokenBackupError(f"备份“{name}”不完整（{actual:,} 字节，应为 {size:,}）")
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError) as exc:
        raise BrokenBackupError(f"备份“{name}”已损坏，无法作为工作簿打开（{type(exc).__name__}）")
    if bad is not None:
        raise BrokenBackupError(f"备份“{name}”已损坏：{bad} 校验失败")
    if "xl/workbook.xml" not in names:
        raise BrokenBackupError(f"备份“{name}”不是 Excel 工作簿")


def make_backup(register: Path, keep: int, verify: bool = True) -> Path | None:
    """Copy the current register into .bak/ (verified before it is named, unless the copy is of
    a file that may be broken itself: `init --force`, the version `restore` replaces) and drop all
    but the newest `keep`."""
    if not register.exists() or keep <= 0:
        return None
    folder = backup_dir(register)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    copy = folder / f"{register.stem}.{stamp}{register.suffix}"
    size = register.stat().st_size
    atomic_write(copy, partial(_copy, register, size if verify else None))
    for old in list_backups(register)[keep:]:
        old.unlink(missing_ok=True)
    return copy


def _copy(register: Path, size: int | None, tmp: Path) -> None:
    shutil.copyfile(register, tmp)
    if size is not None:
        verify_workbook(tmp, size)


def list_backups(register: Path) -> list[Path]:
    """Newest first."""
    folder = backup_dir(register)
    if not folder.exists():
        return []
    found = [p for p in folder.glob(f"{register.stem}.*{register.suffix}") if p.is_file()
             and not p.name.startswith(".")]
    return sorted(found, key=lambda p: p.name, reverse=True)


def backup_state(path: Path) -> str:
    """"" for a sound backup, else why it cannot be restored."""
    try:
        verify_workbook(path)
    except BrokenBackupError as exc:
        return str(exc)
    return ""
