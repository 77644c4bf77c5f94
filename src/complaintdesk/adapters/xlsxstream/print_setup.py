"""Engine — a worksheet's print set-up in its XML, as `init` gives the register: A4 landscape,
fitted to PAGES_WIDE pages across, the header row and the first column printed on every page
(打印标题), pages numbered in the footer. Read and rewritten as bytes; every other byte is kept.

Where the pieces live: `<sheetPr><pageSetUpPr fitToPage="1"/>` in the sheet's head, `<pageMargins>`,
`<pageSetup>` and `<headerFooter>` in its tail (in that order, before any break, drawing or table
part), the titles as the defined name `_xlnm.Print_Titles` of the sheet in workbook.xml.
"""
from __future__ import annotations

import re

from . import sheet_xml as sx

PAGES_WIDE = 3  # 78 columns on A4 landscape: ~25 a page, readable; one page wide would be ~6 pt
FOOTER_TEXT = "第 &P 页，共 &N 页"  # page numbers, as Excel's header/footer codes write them
MARGINS = b'<pageMargins left="0.4" right="0.4" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
PAGE_SETUP = (f'<pageSetup paperSize="9" orientation="landscape" fitToWidth="{PAGES_WIDE}" fitToHeight="0" '
              'pageOrder="overThenDown"/>').encode()
FOOTER = f"<headerFooter><oddFooter>{sx.escape('&C' + FOOTER_TEXT)}</oddFooter></headerFooter>".encode()
TITLES = "_xlnm.Print_Titles"

_PAGE_SETUP = re.compile(rb"<pageSetup\b[^>]*/>|<pageSetup\b[^>]*>.*?</pageSetup>", re.S)
_MARGINS = re.compile(rb"<pageMargins\b[^>]*/>")
_HEADER_FOOTER = re.compile(rb"<headerFooter\b[^>]*/>|<headerFooter\b[^>]*>.*?</headerFooter>", re.S)
# what follows headerFooter in a worksheet (ECMA-376 CT_Worksheet), the first one found is where to insert
_AFTER = (b"<rowBreaks", b"<colBreaks", b"<customProperties", b"<cellWatches", b"<ignoredErrors", b"<smartTags",
          b"<drawing", b"<legacyDrawing", b"<legacyDrawingHF", b"<picture", b"<oleObjects", b"<controls",
          b"<webPublishItems", b"<tableParts", b"<extLst", b"</worksheet>")
_SHEET_PR = re.compile(rb"<sheetPr\b[^>]*?(/?)>")
_FIT = re.compile(rb"<pageSetUpPr\b[^>]*/>")
_WORKSHEET = re.compile(rb"<worksheet\b[^>]*>")


def sheet_index(workbook_xml: bytes, name: str) -> int | None:
    """The 0-based position of the sheet `name` in workbook.xml (what localSheetId counts)."""
    names = [sx.unescape(m.decode("utf-8")) for m in re.findall(rb'<sheet\b[^>]*?\bname="([^"]*)"', workbook_xml)]
    return names.index(name) if name in names else None


def printed(head: bytes, tail: bytes, workbook_xml: bytes, name: str) -> bool:
    """Whether the sheet prints landscape, fitted across, with print titles."""
    setup = _PAGE_SETUP.search(tail)
    fit = _FIT.search(head)
    return (setup is not None and b'orientation="landscape"' in setup.group(0)
            and fit is not None and b'fitToPage="1"' in fit.group(0)
            and _titles(workbook_xml, name) is not None)


def _titles(workbook_xml: bytes, name: str) -> re.Match | None:
    index = sheet_index(workbook_xml, name)
    if index is None:
        return None
    return re.search(rb'<definedName\b[^>]*\bname="' + TITLES.encode() + rb'"[^>]*\blocalSheetId="'
                     + str(index).encode() + rb'"[^>]*>.*?</definedName>', workbook_xml, re.S) or \
        re.search(rb'<definedName\b[^>]*\blocalSheetId="' + str(index).encode() + rb'"[^>]*\bname="'
                  + TITLES.encode() + rb'"[^>]*>.*?</definedName>', workbook_xml, re.S)


def with_fit_to_page(head: bytes) -> bytes:
    """The head with `<pageSetUpPr fitToPage="1"/>` in its sheetPr (made when missing)."""
    fit = _FIT.search(head)
    if fit is not None:
        tag = re.sub(rb'\s*\bfitToPage="[^"]*"', b"", fit.group(0))
        return head[:fit.start()] + tag[:-2].rstrip() + b' fitToPage="1"/>' + head[fit.end():]
    element = b'<pageSetUpPr fitToPage="1"/>'
    pr = _SHEET_PR.search(head)
    if pr is None:
        opening = _WORKSHEET.search(head)
        at = opening.end() if opening else 0
        return head[:at] + b"<sheetPr>" + element + b"</sheetPr>" + head[at:]
    if pr.group(1):  # <sheetPr .../>
        return head[:pr.start()] + pr.group(0)[:-2].rstrip() + b">" + element + b"</sheetPr>" + head[pr.end():]
    end = head.find(b"</sheetPr>", pr.end())  # pageSetUpPr comes last of sheetPr's children
    return head[:end] + element + head[end:]


def with_page_setup(tail: bytes) -> bytes:
    """The tail with the register's margins, page set-up and footer (any earlier ones replaced)."""
    for pattern in (_MARGINS, _PAGE_SETUP, _HEADER_FOOTER):
        tail = pattern.sub(b"", tail)
    at = min((i for i in (tail.find(t) for t in _AFTER) if i >= 0), default=len(tail))
    return tail[:at] + MARGINS + PAGE_SETUP + FOOTER + tail[at:]


def with_print_titles(workbook_xml: bytes, name: str) -> bytes:
    """workbook.xml with the sheet's 打印标题: its header row and first column on every page."""
    index = sheet_index(workbook_xml, name)
    if index is None:
        return workbook_xml
    quoted = "'" + name.replace("'", "''") + "'"
    element = (f'<definedName name="{TITLES}" localSheetId="{index}">'
               f"{sx.escape(quoted)}!$A:$A,{sx.escape(quoted)}!$1:$1</definedName>").encode("utf-8")
    old = _titles(workbook_xml, name)
    if old is not None:
        return workbook_xml[:old.start()] + element + workbook_xml[old.end():]
    end = workbook_xml.find(b"</definedNames>")
    if end >= 0:
        return workbook_xml[:end] + element + workbook_xml[end:]
    # definedNames follows sheets, functionGroups and externalReferences (ECMA-376 CT_Workbook)
    ends = [workbook_xml.rfind(t) + len(t) for t in (b"</sheets>", b"</functionGroups>", b"</externalReferences>")
            if workbook_xml.rfind(t) >= 0]
    at = max(ends) if ends else len(workbook_xml)
    return workbook_xml[:at] + b"<definedNames>" + element + b"</definedNames>" + workbook_xml[at:]
