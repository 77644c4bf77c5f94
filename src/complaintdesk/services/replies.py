"""Services — `reply`: a canned message to the customer (seed 001: 立即致歉、告知已受理).

The text comes from templates/<lang>/replies/<kind>.txt (ack: received, with the numbers and times
the customer needs; progress: what is being done; result: how it was resolved), short enough for an
SMS or WeChat message. The command prints it and records it in 沟通记录 through `log` (so a register
held open queues it like any other entry).
"""
from __future__ import annotations

from ..adapters import documents
from ..adapters.store import RegisterStore
from ..domain.parsing import number_key, parse_datetime, text_of
from ..errors import ComplaintDeskError
from .casework import _rows_by_number
from .common import Summary

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
