"""Entry point — what the ribbon's VBA calls: `dispatch(tag, arg_hex, active=False)`.

Runs one registered action on the workbook open in Excel (`xw.Book.caller()`,
or the active workbook when called from the add-in) through the xlwings store,
and ends with a short Chinese message box. Errors become a Chinese message
box too, never a Python traceback dialog; details go to complaintdesk.log.
"""
from __future__ import annotations

import logging
import traceback
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..errors import ComplaintDeskError
from ..services.common import COUNT_LABELS
from .actions import BY_TAG, ActionContext
from .clock import now_from

TITLE = "投诉管理"


def decode_argument(arg_hex: str) -> str:
    """VBA sends text as 4-hex-digit UTF-16 code units."""
    arg_hex = (arg_hex or "").strip()
    if len(arg_hex) % 4:
        raise ComplaintDeskError("按钮传来的参数不完整，请重试")
    units = bytes.fromhex(arg_hex)
    return units.decode("utf-16-be", errors="replace") if units else ""


def now() -> datetime:
    return now_from()


def message_for(title: str, summary) -> str:
    parts = [f"{COUNT_LABELS.get(k, k)} {v}" for k, v in summary.counts.items() if v]
    lines = [f"{title}完成" + ("：" + "，".join(parts) if parts else "")]
    lines += summary.messages[:12]
    if len(summary.messages) > 12:
        lines.append(f"…另有 {len(summary.messages) - 12} 条提示，见“校验提示”列")
    lines += summary.warnings
    lines += [f"文件：{p}" for p in summary.files[:3]]
    return "\n".join(lines)


def _selected_number(book, store) -> str:
    try:
        row = book.app.selection.row
    except Exception:
        return ""
    for r in store.rows():
        if r.row_id == row:
            return str(r.values.get("complaint_no") or "")
    return ""


def dispatch(tag: str, arg_hex: str = "", active: bool = False) -> str:
    import xlwings as xw

    from ..adapters.xlwings_store import XlwingsStore

    book = xw.books.active if active else xw.Book.caller()
    action = BY_TAG.get(tag)
    try:
        if action is None:
            raise ComplaintDeskError(f"未知的按钮“{tag}”，请重新安装投诉管理选项卡")
        store = XlwingsStore(book)
        moment = now()
        with _session(store, moment) as pending:
            ctx = ActionContext(store, moment, decode_argument(arg_hex), _selected_number(book, store),
                                store.path.parent if store.path else None,
                                open_file=lambda p: book.app.books.open(str(p)),
                                show_sheet=lambda role: store._sheet(role).activate())
            summary = action.run(ctx)
            summary.warnings[:0] = pending
            text = message_for(action.zh, summary)
    except ComplaintDeskError as exc:
        text = f"未完成：{exc}"
    except Exception as exc:  # never a traceback dialog; the details go to the log
        _log(book).error("按钮 %s 出错：%s", tag, traceback.format_exc())
        text = f"出现意外错误（{type(exc).__name__}：{exc}）。详细信息已写入 complaintdesk.log，请联系管理员。"
    try:
        book.app.alert(text, title=TITLE)
    except Exception:
        pass
    return text


@contextmanager
def _session(store, moment: datetime):
    """The book under the register lock, with the changes queued while it was held elsewhere (a
    colleague's `log` from another PC) applied to it first; yields what to tell about them."""
    if not (store.path and store.path.parent.exists()):
        yield []
        return
    from ..services.held import open_live_session
    with open_live_session(store.path, store, moment) as session:
        yield session.pending.warnings


def _log(book) -> logging.Logger:
    logger = logging.getLogger("complaintdesk.excel")
    if not logger.handlers:
        folder = Path(getattr(book, "fullname", "") or ".").parent
        try:
            handler = logging.FileHandler(folder / "complaintdesk.log", encoding="utf-8")
        except OSError:
            handler = logging.StreamHandler()
        logger.addHandler(handler)
    return logger
