"""Adapter — the styles a streaming save needs: the register's column styles, a date-time number
format, and the fills of the red/amber clock-state formatting, added to xl/styles.xml only when
used. A collaborator of FastStore."""
from __future__ import annotations

import re
import zipfile

from ...domain import labels
from ...domain.schema import COLUMNS
from ..xlsxstream import sheet_xml as sx
from ..xlsxstream import styles_xml

DATETIME_NUMFMT = "yyyy-mm-dd hh:mm"
STYLES_PART = "xl/styles.xml"
CLOCK_FILLS = (("breached", "FFC7CE"), ("at_risk", "FFEB9C"))


def column_styles(head: bytes) -> dict[int, int]:
    """column index -> style index, from the <cols> of a sheet's XML head."""
    styles = {}
    for col in re.findall(rb"<col\b[^>]*>", head):
        a = {k.decode(): v.decode() for k, v in sx.ATTR_RE.findall(col)}
        if "style" in a:
            for c in range(int(a["min"]), int(a["max"]) + 1):
                styles[c] = int(a["style"])
    return styles


class SaveStyles:
    """xl/styles.xml as the next save writes it (`changed` is None while nothing was added)."""

    def __init__(self, zf: zipfile.ZipFile, head: bytes):
        self.zip = zf
        self.columns = column_styles(head)
        self.changed: bytes | None = None
        self._datetime: int | None = None

    def attach(self, zf: zipfile.ZipFile) -> None:
        """After a save: the new package's styles.xml holds what was added."""
        self.zip, self.changed, self._datetime = zf, None, None

    def _xml(self) -> str:
        return (self.changed if self.changed is not None else self.zip.read(STYLES_PART)).decode("utf-8")

    def datetime(self) -> int:
        """The index of a date-time cell style (added at the first call)."""
        if self._datetime is None:
            xml, self._datetime = styles_xml.datetime_style(self._xml(), DATETIME_NUMFMT)
            self.changed = xml.encode("utf-8")
        return self._datetime

    @property
    def datetime_if_added(self) -> int | None:
        return self._datetime

    def for_cell(self, kind: str, column: int) -> int | None:
        """The style of a cell written into `column`: date-times keep the column's own style or get one."""
        if kind != "datetime":
            return None
        return self.columns.get(column) or self.datetime()

    def fill(self, rgb: str) -> int:
        """The index of a new differential format filling with `rgb`."""
        xml, index = styles_xml.add_fill_dxf(self._xml(), rgb)
        self.changed = xml.encode("utf-8")
        return index

    def clock_formatting(self, columns: dict[str, int], lang: str, last_row: int) -> bytes:
        """<conditionalFormatting> painting breached clock states red and at-risk ones amber."""
        letters = [sx.col_letter(columns[c.key]) for c in COLUMNS if c.key.endswith("_status") and c.key != "status"]
        ref = " ".join(f"{x}2:{x}{last_row}" for x in letters)
        rules = []
        for priority, (state, rgb) in enumerate(CLOCK_FILLS, 1):
            text = sx.escape(labels.label(labels.CLOCK_STATE, state, lang))
            rules.append(f'<cfRule type="cellIs" dxfId="{self.fill(rgb)}" priority="{priority}" operator="equal">'
                         f'<formula>"{text}"</formula></cfRule>')
        return f'<conditionalFormatting sqref="{ref}">{"".join(rules)}</conditionalFormatting>'.encode("utf-8")
