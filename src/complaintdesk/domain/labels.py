"""Domain — enumerations: stable codes and their Chinese / English labels.

The workbook shows labels; exports use codes. `to_code` accepts either.
"""
from __future__ import annotations

PRIORITY = {"P0": ("P0", "P0"), "P1": ("P1", "P1"), "P2": ("P2", "P2")}
URGENCY = {"urgent": ("紧急", "Urgent"), "normal": ("一般", "Normal")}
CLOCK_STATE = {
    "open": ("正常", "Open"),
    "at_risk": ("即将超时", "At risk"),
    "breached": ("已超时", "Breached"),
    "met": ("按时完成", "Met"),
    "late": ("超时完成", "Late"),
    "na": ("不适用", "N/A"),
}
STATUS = {
    "registered": ("已登记", "Registered"),
    "processing": ("处理中", "Processing"),
    "awaiting_confirmation": ("待确认", "Awaiting confirmation"),
    "awaiting_survey": ("待回访", "Awaiting survey"),
    "closed": ("已关闭", "Closed"),
    "escalated": ("已升级", "Escalated"),
    "waiting": ("等待客户", "Waiting for customer"),
    "merged": ("已合并", "Merged"),
    "invalid": ("无效", "Invalid"),
}
BOOL = {True: ("是", "Yes"), False: ("否", "No")}

ENUMS = {"priority": PRIORITY, "urgency": URGENCY, "status": STATUS,
         "sla_status": CLOCK_STATE, "response_status": CLOCK_STATE,
         "plan_status": CLOCK_STATE, "update_status": CLOCK_STATE,
         "resolve_status": CLOCK_STATE, "survey_status": CLOCK_STATE}

# worst first: which clock state decides the row's overall SLA status
STATE_SEVERITY = ("breached", "at_risk", "late", "open", "met", "na")


def label(table: dict, code, lang: str = "zh") -> str:
    if code is None or code == "":
        return ""
    zh, en = table[code]
    return zh if lang == "zh" else en


_FOUND: dict[tuple[int, str], str | None] = {}  # (table, text) -> code: a report looks up 100,000s
_TABLES: dict[int, dict] = {}  # keeps each table looked in alive, so its id is never reused


def to_code(table: dict, value) -> str | None:
    """Code for a label or code in any language; None when unknown/empty."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    key = (id(table), text)
    if key in _FOUND:
        return _FOUND[key]
    code = next((code for code, names in table.items()
                 if text == code or text in names or text.lower() == str(code).lower()), None)
    if len(_FOUND) < 50_000:  # (free text typed into a coded column must not grow it without end)
        _TABLES.setdefault(id(table), table)
        _FOUND[key] = code
    return code
