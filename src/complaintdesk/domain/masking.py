"""Domain — masking of customer personal data, used by every output that leaves customer service.

张三 → 张*, 欧阳娜娜 → 欧阳**, John Smith → J***, 13812341234 → 138****1234,
alice@example.com → a***@example.com, ID numbers keep the first 3 and last 4.
"""
from __future__ import annotations

import re

from .parsing import text_of

COMPOUND_SURNAMES = frozenset((
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 独孤 南宫 "
    "西门 百里 呼延 申屠 太史 闻人 万俟 澹台 公冶 宗政 濮阳 淳于 单于 太叔 仲孙 钟离 赫连 "
    "皇甫 东郭 第五 拓跋 左丘 梁丘 谷梁 乐正 公羊 漆雕 壤驷 巫马 羊舌 微生 鲜于 闾丘").split())
_CJK = re.compile(r"[\u3400-\u9fff]")
_PHONE = re.compile(r"(?<!\d)(\+?86[\s-]?)?(1\d{2})[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[\s-]?(\d{3,4})(\d{4})(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_ID = re.compile(r"(?<!\d)(\d{3})\d{11}(\d{3}[\dXx])(?!\d)")


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    if _CJK.match(name):
        surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[:1]
        return surname + "*" * max(1, len(name) - len(surname))
    return name[0] + "***"


def mask_text(text: str) -> str:
    """Mask phones, e-mails and ID numbers wherever they occur in free text."""
    if not text:
        return text or ""
    text = _ID.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
    text = _PHONE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    text = _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)


def mask_free_text(text: str, customer_name: str = "") -> str:
    """Free text as it may leave customer service: phones, e-mails and ID numbers masked, and the
    row's own customer name (staff often write "张伟女士来电…") masked as mask_name does."""
    text = mask_text(text)
    name = (customer_name or "").strip()
    if len(name) >= 2 and name in text:
        text = text.replace(name, mask_name(name))
    return text


def mask_contact(contact: str) -> str:
    contact = (contact or "").strip()
    if not contact:
        return ""
    masked = mask_text(contact)
    if masked == contact and len(contact) > 4:  # something we do not recognise: keep only the end
        return "*" * (len(contact) - 4) + contact[-4:]
    return masked


def mask_id(value: str) -> str:
    value = (value or "").strip()
    if len(value) <= 4:
        return value[:1] + "*" * (len(value) - 1) if value else ""
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


PII_MASKS = {"customer_name": mask_name, "contact": mask_contact, "customer_id": mask_id}
FREE_TEXT = ("description", "demand", "remarks", "survey_comment", "callback_note", "objection",
             "plan_measures", "plan_resources", "invalid_reason", "location", "cause_analysis", "improvement",
             "tags")


def mask_record(record: dict) -> dict:
    """The record with its personal data masked — of any type: a phone typed into a spreadsheet
    is often stored as a number (13912345678), an ID number as a float."""
    out = dict(record)
    name = text_of(record.get("customer_name"))
    masks = dict(PII_MASKS, **{key: lambda text: mask_free_text(text, name) for key in FREE_TEXT})
    for key, fn in masks.items():
        value = out.get(key)
        if isinstance(value, str):
            out[key] = fn(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = fn(text_of(value))
    return out
