"""xlsxstream — small edits of a workbook's styles.xml as text, for the fast store's saves:
a cell style with a date-time number format, a fill for conditional formatting.
"""
from __future__ import annotations

import re


def datetime_style(xml: str, number_format: str) -> tuple[str, int]:
    """(styles.xml, index of a cell style showing `number_format`), adding both when missing."""
    fmts = dict((v, k) for k, v in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', xml))
    fmt_id = fmts.get(number_format)
    if fmt_id is None:
        ids = [int(i) for i in fmts.values()] + [163]
        fmt_id = str(max(ids) + 1)
        entry = f'<numFmt numFmtId="{fmt_id}" formatCode="{number_format}"/>'
        if "<numFmts" in xml:
            xml = re.sub(r"(<numFmts\b[^>]*>)", r"\g<1>" + entry, xml, count=1)
        else:
            xml = xml.replace("<fonts", f'<numFmts count="1">{entry}</numFmts><fonts', 1)
    xfs = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", xml, re.S)
    existing = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", xfs.group(1), re.S)
    for i, xf in enumerate(existing):
        if f'numFmtId="{fmt_id}"' in xf:
            return xml, i
    new = f'<xf numFmtId="{fmt_id}" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
    xml = xml.replace("</cellXfs>", new + "</cellXfs>", 1)
    xml = re.sub(r'<cellXfs count="\d+"', f'<cellXfs count="{len(existing) + 1}"', xml, count=1)
    return xml, len(existing)


def add_fill_dxf(xml: str, rgb: str) -> tuple[str, int]:
    """(styles.xml, index of a new differential format filling cells with `rgb`)."""
    dxf = f'<dxf><fill><patternFill patternType="solid"><bgColor rgb="FF{rgb}"/></patternFill></fill></dxf>'
    if "<dxfs" not in xml or "<dxfs/>" in xml or '<dxfs count="0"/>' in xml:
        xml = re.sub(r'<dxfs[^>]*/>', "", xml)
        xml = xml.replace("</cellStyles>", '</cellStyles><dxfs count="0"></dxfs>', 1) \
            if "</cellStyles>" in xml else xml.replace("</styleSheet>", '<dxfs count="0"></dxfs></styleSheet>')
    count = len(re.findall(r"<dxf>", re.search(r"<dxfs\b[^>]*>(.*?)</dxfs>", xml, re.S).group(1)))
    xml = xml.replace("</dxfs>", dxf + "</dxfs>", 1)
    xml = re.sub(r'<dxfs count="\d+"', f'<dxfs count="{count + 1}"', xml, count=1)
    return xml, count
