"""Adapter — the register open in Excel on this PC, for the scheduler to act through (Windows).

When a person has the register open in Excel on the machine where the scheduler runs, the
scheduler can write through that Excel (the live store the ribbon uses) instead of waiting for
the file — but only when the workbook has no unsaved typing (`Saved` is true), since the live
store ends with a save of the whole workbook. Excel rejects automation while a cell is being
edited or a dialog is open (COM: call rejected / VBA_E_IGNORE): each call is retried a few
times, then the scheduler falls back to the snapshot. Nothing is activated or selected, so
the person's focus stays where it is.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

BUSY_ATTEMPTS = 4
BUSY_WAIT = 2.0  # seconds between tries while Excel is busy


class ExcelBusy(Exception):
    """Excel would not answer (a cell in edit mode, a dialog), or the book has unsaved typing."""


def _same_file(a: str, b: Path) -> bool:
    try:
        return Path(a).resolve() == b.resolve() or Path(a).name.lower() == b.name.lower() and \
            Path(a).parent.resolve() == b.parent.resolve()
    except OSError:
        return False


def find_open_book(register: Path):
    """The xlwings Book of `register` open in an Excel of this session, or None (never on Linux)."""
    if sys.platform != "win32":
        return None
    try:
        import xlwings as xw
        for app in xw.apps:
            for book in app.books:
                if _same_file(book.fullname, Path(register)):
                    return book
    except Exception:  # no Excel, or Excel not answering: the snapshot path serves
        return None
    return None


def retry_busy(call: Callable, attempts: int = BUSY_ATTEMPTS, wait: float = BUSY_WAIT,
               sleep: Callable[[float], None] = time.sleep):
    """call(), retried while Excel rejects automation; ExcelBusy when it never answers."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # pywintypes.com_error and friends: Excel is busy
            last = exc
            if attempt + 1 < attempts:
                sleep(wait)
    raise ExcelBusy(f"Excel 正忙（{type(last).__name__}），本轮改用已保存的版本")


def clean_book(book, sleep: Callable[[float], None] = time.sleep):
    """The book when it has no unsaved changes of a person's (Excel's `Saved` flag); else ExcelBusy."""
    saved = retry_busy(lambda: bool(book.api.Saved), sleep=sleep)
    if not saved:
        raise ExcelBusy("Excel 中的登记表有尚未保存的修改；为不替他人保存，本轮改用已保存的版本")
    return book
