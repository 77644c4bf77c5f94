"""Services — `reply`: a canned message to the customer (seed 001: 立即致歉、告知已受理).

The text comes from templates/<lang>/replies/<kind>.txt (ack: received, with the numbers and times
the customer needs; progress: what is being done; result: how it was resolved), short enough for an
SMS or WeChat message. The command prints it and records it in 沟通记录 through `log` (so a register
held open queues it like any other entry).
"""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from ..adapters import documents
from ..adapters.files import atomic_write
from ..adapters.mailer import Mailer
from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.parsing import looks_like_formula, number_key, parse_datetime, text_of
from ..domain.settings import EMAIL_RE
from ..domain.transitions import DONE_CODES
from ..errors import ComplaintDeskError, MailError
from .casework import _rows_by_number
from .common import Summary, save

SMS_CHARS = 70  # one SMS segment of Chinese text
FALLBACK = {"zh": {"name": "客户", "sender": "客服中心", "progress": "我们正在核实情况并与相关部门协调",
                   "result": "已按您的诉求处理"},
            "en": {"name": "customer", "sender": "Customer Service", "progress": "we are looking into it",
                   "result": "it has been handled as you asked"}}


def _when(value, lang: str) -> str:
    moment, _ = parse_datetime(value)
    if moment is None:
        return "尽快" if lang == "zh" else "soon"
    return f"{moment.month}月{moment.day}日 {moment:%H:%M}" if lang == "zh" else f"{moment:%Y-%m-%d %H:%M}"


def reply_text(store: RegisterStore, number: str, kind: str, lang: str = "zh") -> Summary:
    """The reply of `kind` for the complaint `number`: data['number'] as the register writes it,
    data['text']; a warning when it is longer than two SMS segments."""
    if kind not in documents.REPLY_KINDS:
        raise ComplaintDeskError(f"未知的回复类型“{kind}”，应为 " + "、".join(documents.REPLY_KINDS))
    row = _rows_by_number(store, {number}).get(number_key(number))
    if row is None:
        raise ComplaintDeskError(f"找不到投诉编号 {number.strip()}")
    v, fallback = row.values, FALLBACK.get(lang, FALLBACK["zh"])
    name = text_of(v.get("customer_name"))
    measures = text_of(v.get("plan_measures"))
    result = "，".join(t for t in (text_of(v.get("resolution_type")), measures) if t)
    values = {"number": text_of(v.get("complaint_no")), "name": name if 0 < len(name) <= 8 else fallback["name"],
              "sender": text_of(store.settings().param("branch_name")) or fallback["sender"],
              "respond_by": _when(v.get("response_due"), lang), "resolve_by": _when(v.get("resolve_due"), lang),
              "progress": measures or fallback["progress"], "result": result or fallback["result"]}
    text = documents.render_reply(kind, lang, values)
    summary = Summary("reply", data={"number": values["number"], "text": text})
    if len(text) > 2 * SMS_CHARS:
        summary.warnings.append(f"回复共 {len(text)} 字，超过两条短信（{2 * SMS_CHARS} 字）；"
                                f"可在 templates/{lang}/replies/{kind}.txt 中精简")
    return summary


ACK_WINDOW = timedelta(days=3)  # older complaints are not acknowledged when the switch is turned on
OUTBOX = "短信待发送.csv"        # beside the register: for the SMS platform's batch import


def auto_ack(store: RegisterStore, now: datetime, mailer: Mailer | None = None) -> Summary:
    """设置 自动发送受理回复 (seed 001 立即致歉、告知已受理): every numbered complaint received in the
    last three days with no 沟通记录 entry yet gets the ack — mailed when its contact is an e-mail
    address and mail is set up, else appended to 短信待发送.csv for the SMS platform — and the
    entry in 沟通记录 (so it is sent once). A register held open waits (nothing is sent from a
    snapshot whose log entries could not be kept)."""
    summary = Summary("ack")
    if getattr(store, "snapshot", None) is not None:
        summary.warnings.append("登记表正被占用：受理回复待文件关闭后发送")
        return summary
    logged = {number_key(e.get("complaint_no")) for e in store.table("comms")}
    due = []
    for row in store.split_rows(())[0]:
        v = row.values
        received, _ = parse_datetime(v.get("received_at"))
        number = text_of(v.get("complaint_no"))
        if number and received and now - ACK_WINDOW <= received <= now and number_key(number) not in logged \
                and labels.to_code(labels.STATUS, v.get("status")) not in DONE_CODES:
            due.append((number, text_of(v.get("contact"))))
    entries, sms = [], []
    for number, contact in due:
        text = reply_text(store, number, "ack", store.lang).data["text"]
        channel = "短信（待发送）"
        if mailer is not None and EMAIL_RE.match(contact):
            try:
                mailer.send([contact], "您的投诉已受理" if store.lang == "zh" else "Your complaint was received", text)
                channel = "邮件"
            except MailError as exc:
                summary.warnings.append(f"{number}：受理回复邮件未发出（{exc}），改入短信待发送")
        if channel != "邮件":
            sms.append((number, contact, text))
        entries.append({"complaint_no": number, "time": now, "channel": channel, "who": "complaintdesk",
                        "content": text, "next_step": ""})
    if not entries:
        return summary
    if sms and store.path is not None:
        _append_outbox(store.path.parent / OUTBOX, sms, now)
        summary.files.append(store.path.parent / OUTBOX)
    store.append_table("comms", entries)
    summary.add("acks", len(entries))
    save(store, summary, now)
    return summary


def _append_outbox(path: Path, rows: list[tuple[str, str, str]], now: datetime) -> None:
    """Add lines to the SMS outbox (UTF-8 with BOM and CRLF, as Excel and SMS platforms read it;
    a text a spreadsheet would take for a formula is quoted with ')."""
    old = path.read_text(encoding="utf-8-sig") if path.exists() else ""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    if not old:
        writer.writerow(["投诉编号", "手机号", "短信内容", "生成时间"])
    for number, phone, text in rows:
        writer.writerow([number, _guarded(phone), _guarded(text), f"{now:%Y-%m-%d %H:%M}"])
    atomic_write(path, lambda tmp: tmp.write_text(old + out.getvalue(), encoding="utf-8-sig", newline=""))


def _guarded(text: str) -> str:
    return "'" + text if looks_like_formula(text) else text
