"""Engine — a worksheet's structure in its XML: the frozen pane in the head, the sqref of data
validations and conditional formats in the tail, and a Table part's range, filter and column
names. Read and rewritten as bytes; every other byte is kept."""
from __future__ import annotations

import re
from typing import Callable

from . import sheet_xml as sx

PANE = re.compile(rb"<pane\b[^>]*/>")
SHEET_VIEW = re.compile(rb"<sheetView\b[^>]*?(/?)>")
BLOCK_SQREF = {  # element -> its sqref attribute
    "dataValidation": re.compile(rb'(<dataValidation\b[^>]*?\bsqref=")([^"]*)(")'),
    "conditionalFormatting": re.compile(rb'(<conditionalFormatting\b[^>]*?\bsqref=")([^"]*)(")'),
}
TABLE_TAG = re.compile(rb"<table\b[^>]*>")
AUTO_FILTER = re.compile(rb"<autoFilter\b[^>]*?(/>|>.*?</autoFilter>)", re.S)
TABLE_COLUMN = re.compile(rb'(<tableColumn\b[^>]*?\bname=")([^"]*)(")')
REF = re.compile(rb'\bref="([^"]*)"')


def attribute(text: str) -> bytes:
    """Text as an XML attribute value (line breaks as Excel writes them in names: _x000a_)."""
    text = sx.escape(text).replace('"', "&quot;")
    return text.replace("\r", "_x000d_").replace("\n", "_x000a_").encode("utf-8")


def _attrs(tag: bytes) -> dict[str, str]:
    return {k.decode(): sx.unescape(v.decode("utf-8")) for k, v in sx.ATTR_RE.findall(tag)}


# ---- the frozen pane (sheet head) ----------------------------------------------------------
def header_frozen(head: bytes) -> bool:
    """Whether the first sheet view keeps at least the first row in view (a frozen pane)."""
    view = SHEET_VIEW.search(head)
    if view is None or view.group(1):
        return False
    end = head.find(b"</sheetView>", view.end())
    pane = PANE.search(head, view.end(), end if end >= 0 else len(head))
    if pane is None:
        return False
    a = _attrs(pane.group(0))
    return a.get("state") in ("frozen", "frozenSplit") and float(a.get("ySplit", "0")) >= 1


def frozen_pane(col_split: int, row_split: int) -> bytes:
    cell = f"{sx.col_letter(col_split + 1)}{row_split + 1}"
    x = f'xSplit="{col_split}" ' if col_split else ""
    active = "bottomRight" if col_split else "bottomLeft"
    return f'<pane {x}ySplit="{row_split}" topLeftCell="{cell}" activePane="{active}" state="frozen"/>'.encode()


def with_frozen_pane(head: bytes, col_split: int = 1, row_split: int = 1) -> bytes:
    """The head with its first sheet view frozen at (col_split, row_split); the selection is left
    to the program that opens it."""
    pane = frozen_pane(col_split, row_split)
    view = SHEET_VIEW.search(head)
    if view is None:
        views = b'<sheetViews><sheetView workbookViewId="0">' + pane + b"</sheetView></sheetViews>"
        at = min((i for i in (head.find(t) for t in (b"<sheetFormatPr", b"<cols", b"<sheetData")) if i >= 0),
                 default=len(head))
        return head[:at] + views + head[at:]
    if view.group(1):  # <sheetView .../>
        opening = view.group(0)[:-2] + b">"
        return head[:view.start()] + opening + pane + b"</sheetView>" + head[view.end():]
    end = head.find(b"</sheetView>", view.end())
    body = head[view.end():end]
    body = re.sub(rb"<selection\b[^>]*/>", b"", PANE.sub(b"", body))
    return head[:view.end()] + pane + body + head[end:]


# ---- validations and conditional formats (sheet tail) --------------------------------------
def sqrefs(tail: bytes, element: str) -> list[str]:
    """The sqref of each `element` (dataValidation, conditionalFormatting) in document order."""
    return [m.group(2).decode("utf-8") for m in BLOCK_SQREF[element].finditer(tail)]


def with_sqrefs(tail: bytes, element: str, changed: dict[int, str]) -> bytes:
    """The tail with the sqref of the i-th `element` replaced by changed[i]."""
    if not changed:
        return tail
    count = iter(range(1 << 30))

    def one(m: re.Match) -> bytes:
        i = next(count)
        return m.group(1) + changed[i].encode("utf-8") + m.group(3) if i in changed else m.group(0)
    return BLOCK_SQREF[element].sub(one, tail)


def edit_sqrefs(tail: bytes, element: str, plan: Callable[[list[str]], dict[int, str]]) -> bytes:
    """The tail with the sqrefs of `element` changed as `plan` (of the current ones) says."""
    return with_sqrefs(tail, element, plan(sqrefs(tail, element)))


# ---- a Table part ------------------------------------------------------------------------
def table_shape(xml: bytes) -> tuple[str, str | None, list[str]]:
    """(ref, autoFilter ref or None, column names) of a Table part."""
    tag = TABLE_TAG.search(xml)
    ref = _attrs(tag.group(0)).get("ref", "") if tag else ""
    flt = AUTO_FILTER.search(xml)
    filter_ref = None
    if flt is not None:
        m = REF.search(flt.group(0))
        filter_ref = m.group(1).decode() if m else ""
    names = [sx.unescape(m.group(2).decode("utf-8")) for m in TABLE_COLUMN.finditer(xml)]
    return ref, filter_ref, names


def table_styled(xml: bytes) -> bool:
    """Whether a Table part names a table style."""
    return b"<tableStyleInfo" in xml


def reshaped_table(xml: bytes, ref: str | None, filter_ref: str | None, names: dict[int, str],
                   style: str | None = None) -> bytes:
    """The Table part with its range, its autoFilter range (added when missing), the names of
    the columns in `names` (position -> name) changed, and `style` given when it has none (banded
    rows, as Excel writes a new Table's style info)."""
    if style is not None and not table_styled(xml):
        info = (b'<tableStyleInfo name="' + attribute(style) + b'" showFirstColumn="0" showLastColumn="0"'
                b' showRowStripes="1" showColumnStripes="0"/>')
        at = xml.find(b"<extLst")
        at = at if at >= 0 else xml.rfind(b"</table>")
        xml = xml[:at] + info + xml[at:]
    if ref is not None:
        tag = TABLE_TAG.search(xml)
        if tag is not None:
            xml = xml[:tag.start()] + REF.sub(b'ref="' + ref.encode() + b'"', tag.group(0), 1) + xml[tag.end():]
    if filter_ref is not None:
        flt = AUTO_FILTER.search(xml)
        if flt is None:
            tag = TABLE_TAG.search(xml)
            xml = xml[:tag.end()] + b'<autoFilter ref="' + filter_ref.encode() + b'"/>' + xml[tag.end():]
        else:
            new = REF.sub(b'ref="' + filter_ref.encode() + b'"', flt.group(0), 1)
            xml = xml[:flt.start()] + new + xml[flt.end():]
    if names:
        count = iter(range(1 << 30))

        def one(m: re.Match) -> bytes:
            i = next(count)
            return m.group(1) + attribute(names[i]) + m.group(3) if i in names else m.group(0)
        xml = TABLE_COLUMN.sub(one, xml)
    return xml


# ---- rows holding content ---------------------------------------------------------------------
CONTENT = re.compile(rb"<(?:v|is|f)\b")  # a cell value, an inline string or a formula


def last_row_with_content(zf, part: str) -> int:
    """The last row of a sheet part holding any value or formula, in any column — rows of empty
    styled cells (as LibreOffice and WPS save after the data) do not count. Streamed: the part
    is never held whole."""
    from .deflate_segments import CHUNK
    last, buf = 0, b""
    with zf.open(part) as raw:
        while True:
            chunk = raw.read(CHUNK)
            buf += chunk
            cut = len(buf) if not chunk else buf.rfind(b"</row>") + 6
            if cut >= 6:
                for m in sx.ROW_RE.finditer(buf, 0, cut):
                    if m.group(2) and CONTENT.search(m.group(2)):
                        last = max(last, int(m.group(1)))
                buf = buf[cut:]
            if not chunk:
                return last
