"""xlsxstream — SpreadsheetML worksheet rows as bytes: fast reading of chosen cells, writing of cells.

Used by the fast store to stream a large register: rows are found by their
`<row r="N">` element and only the cells that are needed are decoded; new
values are written as inline strings (never formulas) or numbers with a style.
"""
from __future__ import annotations

import html
import re
from datetime import date, datetime
from functools import lru_cache

ROW_RE = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', re.S)
CELL_RE = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
REF_RE = re.compile(rb'\br="([A-Z]+)')
ATTR_RE = re.compile(rb'\b([a-zA-Z:]+)="([^"]*)"')
F_RE = re.compile(rb"<f\b([^>]*?)(?:/>|>(.*?)</f>)", re.S)
CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
SI_RE = re.compile(rb'\bsi="(\d+)"')
SHARED_MARK = "\0shared formula"  # first item of a shared formula's cell read before its formula is known
V_RE = re.compile(rb"<v>(.*?)</v>", re.S)
T_RE = re.compile(rb"<t\b[^>]*>(.*?)</t>|<t\b[^>]*/>", re.S)
SI_PLAIN = re.compile(rb'<si><t(?: xml:space="preserve")?>([^<]*)</t></si>|<si>(.*?)</si>|<si/>', re.S)
X_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")
INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
EPOCH = datetime(1899, 12, 30)


@lru_cache(maxsize=None)
def col_letter(col: int) -> str:
    out = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _text(raw: bytes) -> str:
    return unescape(raw.decode("utf-8"))


def unescape(text: str) -> str:
    """XML character references and Excel's _xHHHH_ escapes resolved."""
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = X_ESC.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def decode_texts(raw: list[bytes]) -> list[str]:
    """Many raw XML texts decoded and unescaped together (as _text does each): one decode and one
    split for all, escapes resolved only in the texts that hold one."""
    text = b"\0".join(raw).decode("utf-8")
    out = text.split("\0")
    if len(out) != len(raw):  # a NUL inside a text: not valid XML, but decode it text by text
        out = [t.decode("utf-8") for t in raw]
    if "&" in text or "_x" in text:
        out = [unescape(t) if "&" in t or "_x" in t else t for t in out]
    return out


def shared_strings(xml: bytes) -> list[str]:
    """The shared strings table. Plain entries (<si><t>…</t></si>, nearly all of them) are found in
    one pass and decoded together; rich text and other shapes are read one by one."""
    found = SI_PLAIN.findall(xml)
    out = decode_texts([t for t, _ in found])
    for i in [i for i, (_, body) in enumerate(found) if body]:
        out[i] = "".join(_text(t.group(1) or b"") for t in T_RE.finditer(found[i][1]))
    return out


def cell_value(attrs: bytes, body: bytes | None, strings: list[str]):
    """The Python value of one <c> element (number, text, bool or None)."""
    if not body:
        return None
    kind = b"n"
    for name, value in ATTR_RE.findall(attrs):
        if name == b"t":
            kind = value
    if kind == b"inlineStr":
        return "".join(_text(t.group(1) or b"") for t in T_RE.finditer(body))
    formula = F_RE.search(body)
    if formula:
        if formula.group(2):  # like openpyxl: a formula cell reads as its formula text
            return "=" + _text(formula.group(2))
        shared = shared_cell(attrs, formula.group(1))
        if shared is not None:
            return shared
        # a what-if table's cell: no formula of its own (as in the openpyxl store)
        if b'"dataTable"' in formula.group(1):
            return None
    v = V_RE.search(body)
    return None if v is None else fast_value(kind, v.group(1), b"", strings)


def shared_cell(attrs: bytes, f_attrs: bytes) -> tuple | None:
    """A cell of a shared formula that holds no text of its own (<f t="shared" si="0"/>: Excel's
    filled-down cells) as (SHARED_MARK, si, column, row): its formula is the first cell's moved
    here, turned into text by shared_formulas once that cell is known. None for other shapes."""
    si = SI_RE.search(f_attrs) if b"shared" in f_attrs else None
    ref = CELL_REF.search(attrs) if si else None
    return None if ref is None else (SHARED_MARK, si.group(1).decode(), _col_of(ref.group(1)), int(ref.group(2)))


FAST_CELL = re.compile(rb'<c r="([A-Z]+)\d+"(?: s="\d+")?(?: t="([a-zA-Z]+)")?(?: s="\d+")?'
                       rb'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)')


def fast_value(kind: bytes, v: bytes, text: bytes, strings: list[str]):
    """The value of a cell matched by FAST_CELL (or a needed-columns pattern of the same shape)."""
    if kind == b"inlineStr":
        return _text(text) if text else None
    if not v:
        return None
    if kind == b"s":
        return strings[int(v)]
    if kind in (b"str", b"e"):
        return _text(v)
    if kind == b"b":
        return v == b"1"
    return number_value(v)


@lru_cache(maxsize=None)
def _col_of(letters: bytes) -> int:
    return col_index(letters.decode())


SHORT_TEXT = 12           # bytes of inline text (four Chinese characters) read as one shared str
SHORT_TEXTS_HELD = 50_000  # ... for so many different texts at most
_short_texts: dict[bytes, str] = {}


def _short_text(raw: bytes) -> str:
    """An inline text; a short one (a channel, a type, a city, 是/否) is the same str object in
    every row that holds it — 200,000 rows read in full hold it once, not 200,000 times."""
    if len(raw) > SHORT_TEXT:
        return _text(raw)
    text = _short_texts.get(raw)
    if text is None:
        text = _text(raw)
        if len(_short_texts) < SHORT_TEXTS_HELD:
            _short_texts[raw] = text
    return text


def row_cells(body: bytes, strings: list[str]) -> dict[int, object]:
    """Every cell of a row body: column index -> value (one C-level scan for the usual cell shapes)."""
    body = body or b""
    cells = FAST_CELL.findall(body)
    if len(cells) != body.count(b"<c "):
        return _row_cells_slow(body, strings)
    out = {}
    col_of, short = _col_of, _short_texts
    for col, kind, v, text in cells:  # the two usual shapes (inline text, number) first
        if text:
            if kind == b"inlineStr":
                out[col_of(col)] = short.get(text) or _short_text(text)
                continue
        elif not v:
            continue
        value = fast_value(kind, v, text, strings) if kind else number_value(v)
        if value is not None and value != "":
            out[col_of(col)] = value
    return out


def number_value(v: bytes):
    """A <v> of a number cell: an int when whole (as openpyxl gives it), else a float; text it cannot read."""
    try:
        number = float(v)
    except ValueError:
        return _text(v)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _row_cells_slow(body: bytes, strings: list[str]) -> dict[int, object]:
    out = {}
    previous = 0
    for m in CELL_RE.finditer(body or b""):
        attrs = m.group(1)
        ref = REF_RE.search(attrs)
        previous = col_index(ref.group(1).decode()) if ref else previous + 1
        value = cell_value(attrs, m.group(2), strings)
        if value is not None and value != "":
            out[previous] = value
    return out


def excel_serial(moment: datetime | date) -> float:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    delta = moment - EPOCH
    return round(delta.days + delta.seconds / 86400, 10)


def escape(text: str) -> str:
    text = INVALID_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell_xml(ref: str, value, style: int | None) -> str:
    """A <c> element holding data only: strings are inline strings, never formulas."""
    s = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (datetime, date)):
        return f'<c r="{ref}"{s}><v>{excel_serial(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = escape(str(value))
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text}</t></is></c>'


def patch_row(body: bytes, r: int, changes: dict[int, tuple[object, int | None]]) -> bytes:
    """Replace or insert the changed cells of one row, keeping every other cell byte for byte (a
    changed cell keeps its own style)."""
    merged: dict[int, bytes] = {}
    attributes: dict[int, bytes] = {}
    previous = 0
    for m in CELL_RE.finditer(body or b""):
        attrs = m.group(1)
        ref = REF_RE.search(attrs)
        previous = _col_of(ref.group(1)) if ref else previous + 1  # r is optional in the format
        merged[previous], attributes[previous] = m.group(0), attrs
    for col, (value, style) in changes.items():
        if col in attributes:
            for name, own in ATTR_RE.findall(attributes[col]):
                if name == b"s":
                    style = int(own)
        merged[col] = cell_xml(f"{col_letter(col)}{r}", value, style).encode("utf-8")
    return b"".join(merged[c] for c in sorted(merged))
