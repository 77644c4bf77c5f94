"""Domain — reading hostile cell values into Python values.

Every parser returns (value, problem): the value is None when the cell cannot
be read, and problem is a short Chinese message for the row's validation cell.
"""
from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, time, timedelta

_EXCEL_EPOCH = datetime(1899, 12, 30)
_DT_PATTERNS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y.%m.%d %H:%M", "%Y-%m-%d", "%Y/%m/%d",
    "%Y.%m.%d", "%Y%m%d %H:%M", "%Y%m%d",
)
# The forms staff type: 2026/10/8 15:30, 2026.10.8, 2026-10-08 15点, 2026年10月8日 下午3点半, 15时30分 …
_LOOSE_DT = re.compile(
    r"^(?:(?P<y>\d{4})\s*[年/.\-]\s*)?(?P<mo>\d{1,2})\s*[月/.\-]\s*(?P<d>\d{1,2})\s*[日号]?"
    r"(?:\s*(?P<half>上午|早上|中午|下午|傍晚|晚上|凌晨)?\s*(?P<h>\d{1,2})\s*"
    r"(?:[:：时点]\s*(?:(?P<mi>\d{1,2})\s*分?|(?P<half_hour>半))?(?:\s*[:：]\s*(?P<s>\d{1,2})\s*秒?)?)?)?$"
)
_PM = {"下午", "傍晚", "晚上"}
DATETIME_FORMS = "2026/10/8 15:30、2026年10月8日下午3点半"
_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "有", "t"}
_FALSE = {"否", "n", "no", "false", "0", "×", "无", "f", ""}


def parse_datetime(value, near: datetime | None = None) -> tuple[datetime | None, str | None]:
    """Excel serials, datetime/date objects and the common Chinese text forms. A text without its
    year (10月8日下午3点半) takes the year that puts it nearest `near` — the row's received time, or
    now for the received time itself — and is refused when there is no `near`."""
    if value.__class__ is float or value.__class__ is int:  # first: closed rows keep serials (not bool)
        return _from_serial(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0), None
    if isinstance(value, date):
        return datetime.combine(value, time()), None
    if isinstance(value, bool):
        return None, f"无法识别的时间：{value}"
    if isinstance(value, (int, float)):  # a subclass of either (numpy's, Decimal-like)
        return _from_serial(value)
    return _from_text(re.sub(r"\s+", " ", str(value).strip().replace("\u3000", " ")), near)


def _from_serial(value: float) -> tuple[datetime | None, str | None]:
    if math.isfinite(value) and 1 <= value < 2958466:  # Excel's range: 1900-01-01 .. 9999-12-31
        return _round_second(_EXCEL_EPOCH + timedelta(days=float(value))), None
    return None, f"无法识别的时间：{value}"


def _from_text(text: str, near: datetime | None = None) -> tuple[datetime | None, str | None]:
    """A time written as text: the usual patterns, the forms staff type (年月日, 上午/下午, 点/半,
    full-width digits), ISO 8601. A refusal lists the forms that are read."""
    text = unicodedata.normalize("NFKC", text).strip()
    for pattern in _DT_PATTERNS:
        try:
            return datetime.strptime(text, pattern), None
        except ValueError:
            pass
    moment, problem = _from_loose(text, near)
    if moment is not None or problem:
        return moment, problem
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None), None
    except ValueError:
        pass
    shown = text if len(text) <= 30 else text[:30] + "…"
    return None, f"无法识别的时间：{shown}（可写成 {DATETIME_FORMS}）"


def _from_loose(text: str, near: datetime | None = None) -> tuple[datetime | None, str | None]:
    """(time, None) for a form of _LOOSE_DT; (None, problem) for one that lacks its year with
    nothing `near` to take it from, or names no real day or hour; (None, None) for anything else."""
    m = _LOOSE_DT.match(text)
    if not m:
        return None, None
    if not m["y"] and near is None:
        return None, f"时间“{text[:30]}”缺少年份（可写成 {DATETIME_FORMS}）"
    hour = int(m["h"] or 0)
    if m["half"] in _PM and hour < 12 or m["half"] == "中午" and hour < 11:
        hour += 12
    elif m["half"] == "凌晨" and hour == 12:
        hour = 0
    minute = 30 if m["half_hour"] else int(m["mi"] or 0)
    years = [int(m["y"])] if m["y"] else [near.year - 1, near.year, near.year + 1] if near else []
    found = []
    for year in years:
        try:
            found.append(datetime(year, int(m["mo"]), int(m["d"]), hour, minute, int(m["s"] or 0)))
        except ValueError:  # no such day (or 2月29日 in that year)
            pass
    if not found:
        return None, f"无法识别的时间：{text[:30]}（日期或钟点不存在）"
    return min(found, key=lambda moment: abs(moment - near)) if near else found[0], None


def excel_serial(moment: datetime) -> float:
    delta = moment - _EXCEL_EPOCH
    return delta.days + delta.seconds / 86400


def _round_second(moment: datetime) -> datetime:
    if moment.microsecond >= 500_000:
        moment += timedelta(seconds=1)
    return moment.replace(microsecond=0)


def parse_bool(value) -> tuple[bool | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        return value, None
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    text = str(value).strip().lower()
    if not text:
        return None, None
    if text in _TRUE:
        return True, None
    if text in _FALSE:
        return False, None
    return None, f"无法识别的是/否：{str(value)[:20]}"


def is_yes(value) -> bool:
    """A yes/no cell that says yes (是, Y, True, 1 …); empty or unreadable is no."""
    return bool(parse_bool(value)[0])


def parse_score(value) -> tuple[int | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        number = float(str(value).strip().replace("分", ""))
    except ValueError:
        return None, f"评分应为 1–5 的整数：{str(value)[:20]}"
    if not 1 <= number <= 5 or number != int(number):
        return None, f"评分应为 1–5 的整数：{str(value)[:20]}"
    return int(number), None


def parse_money(value) -> tuple[float | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, f"金额无法识别：{value}"
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None, f"金额无法识别：{value}"
        return float(value), None
    text = str(value).strip().replace(",", "").replace("，", "").replace("元", "").replace("¥", "").replace("￥", "")
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        return None, f"金额无法识别：{str(value)[:20]}"
    return number, None


# what makes a spreadsheet read a text as a formula (OWASP CSV injection), full-width forms too
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_INVISIBLE_LEAD = "\ufeff\u200b\u200c\u200d\u2060\u00a0\u3000 "  # BOM, zero-width, no-break and ideographic spaces


def looks_like_formula(text: str) -> bool:
    """Whether a program could take `text` for a formula: a trigger first, also behind characters
    nobody sees (a BOM, zero-width or no-break spaces)."""
    return text.startswith(FORMULA_TRIGGERS) or text.lstrip(_INVISIBLE_LEAD).startswith(FORMULA_TRIGGERS)


def display_width(value) -> int:
    """Columns a value takes in a spreadsheet: East Asian wide characters count double."""
    text = "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def split_items(cell) -> list[str]:
    """The items of a cell listing several (标签, 来源投诉编号 …), separated by 、 , ; or spaces —
    each once, in the order typed."""
    return list(dict.fromkeys(t for t in re.split(r"[、,，;；\s]+", text_of(cell)) if t))


def number_key(value) -> str:
    """A complaint number as typed or looked up — case, full-width forms and spaces aside
    (`20261203-cs-001`, ` 20261203-CS-001`, `２０２６…` find the same complaint)."""
    return "".join(unicodedata.normalize("NFKC", text_of(value)).split()).upper()


def text_of(value) -> str:
    """A cell as trimmed text ('' for empty); numbers without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value).strip()


PHONE_SEPARATOR = re.compile(r"[\s\-()（）]")  # what a phone number may hold between its digits


def normalise_phone(text: str) -> str:
    digits = text if text.isdigit() else PHONE_SEPARATOR.sub("", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def customer_keys(customer_id, contact) -> tuple[str, ...]:
    """Every identity of a customer repeat detection matches on: the id and the normalised phone
    (or e-mail) — a complaint with only the phone meets an earlier one with id and phone."""
    cid = customer_id.strip() if customer_id.__class__ is str else text_of(customer_id)
    other = customer_key("", contact)
    return tuple(k for k in ("id:" + cid.lower() if cid else None, other) if k)


def customer_key(customer_id, contact) -> str | None:
    """Identity for repeat detection: id, else normalised phone, else e-mail."""
    cid = customer_id.strip() if customer_id.__class__ is str else text_of(customer_id)
    if cid:
        return "id:" + cid.lower()
    text = text_of(contact)
    if not text:
        return None
    if "@" in text:
        return "mail:" + text.lower()
    phone = normalise_phone(text)
    return "tel:" + phone if phone else None
