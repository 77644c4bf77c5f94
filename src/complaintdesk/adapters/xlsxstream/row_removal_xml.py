"""xlsxstream — taking rows out of a register package as XML, for the fast store's `archive`.

`SheetRemoval` rewrites the register sheet while it streams through
`sheet_writer.stream_patch`: removed rows are dropped, later rows renumbered,
formulas follow their references (a shared formula is written out cell by
cell, as openpyxl reads it), and the sheet's tail — merged cells, validations,
conditional formats, hyperlinks, the filter — follows the rows. `shifted_parts`
does the same for the parts beside the sheet: its table, its comments (and
their VML shapes, threaded replies), the workbook's defined names. Rows before
the first removed one that hold no formula are copied as they are.
"""
from __future__ import annotations

import html
import re
import zipfile
from pathlib import PurePosixPath

from . import sheet_xml as sx
from .row_shift import RowShift, moved

ROW_START = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?(/?)>')
CELL_REF = re.compile(rb'(<c\b[^>]*?\br="[A-Z]+)(\d+)"')
CELL = re.compile(rb'<c\b([^>]*?)(/>|>(.*?)</c>)', re.S)
FORMULA = re.compile(rb'<f\b([^>]*?)(?:/>|>(.*?)</f>)', re.S)
VALUE = re.compile(rb"<v>.*?</v>|<v/>", re.S)
ATTR = re.compile(rb'\b([\w:]+)="([^"]*)"')


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8"))


def _xml(text: str) -> bytes:
    return sx.escape(text).encode("utf-8")


def _attr_sub(tag: bytes, name: bytes, value: str) -> bytes:
    return re.sub(rb'\b' + name + rb'="[^"]*"', name + b'="' + value.encode("utf-8") + b'"', tag, count=1)


class SheetRemoval:
    """The register sheet with `shift.removed` rows taken out."""

    def __init__(self, shift: RowShift):
        self.shift = shift
        self.first = shift.removed[0]
        self.masters: dict[bytes, tuple[int, int, str]] = {}  # shared formulas: si -> row, column, text
        self.shared = False  # a shared formula was written out cell by cell (its later cells now read as formulas)

    # ---- rows ----------------------------------------------------------------------------
    def rows(self, segment: bytes) -> bytes:
        if b"<f" not in segment:
            last = ROW_START.match(segment, max(segment.rfind(b"<row "), 0))
            if last is None and b"<row" not in segment or last is not None and int(last.group(1)) < self.first:
                return segment  # every row here stays where it is
        out, pos = [], 0
        while (m := ROW_START.search(segment, pos)) is not None:
            out.append(segment[pos:m.start()])
            end = m.end() if m.group(2) else segment.find(b"</row>", m.end()) + 6
            out.append(self._row(segment[m.start():end], int(m.group(1))))
            pos = end
        out.append(segment[pos:])
        return b"".join(out)

    def _row(self, xml: bytes, r: int) -> bytes:
        new = self.shift.row(r)
        if b"<f" in xml:
            xml = CELL.sub(lambda m: self._cell(m, r), xml)
        if new is None:
            return b""
        if new != r:
            xml = _attr_sub(xml[:xml.find(b">") + 1], b"r", str(new)) + xml[xml.find(b">") + 1:]
            xml = CELL_REF.sub(lambda m: m.group(1) + b"%d\"" % new, xml)
        return xml

    def _cell(self, m: re.Match, r: int) -> bytes:
        body = m.group(3)
        f = FORMULA.search(body) if body else None
        if f is None:
            return m.group(0)
        attrs = dict(ATTR.findall(f.group(1)))
        ref = re.search(rb'\br="([A-Z]+)\d*"', m.group(1))
        col = sx.col_index(ref.group(1).decode()) if ref else 0
        kind, si = attrs.get(b"t"), attrs.get(b"si")
        text = _text(f.group(2)) if f.group(2) is not None else None
        if kind == b"shared" and si is not None:
            element = self._shared_formula(si, text, r, col)
        elif kind in (None, b"normal", b"array") and text is not None:
            element = self._plain_formula(f.group(1), attrs, kind, text)
        else:
            element = None
        if element is None:
            return m.group(0)
        body = VALUE.sub(b"", body[:f.start()] + element + body[f.end():])  # the cached result is stale
        return b"<c" + m.group(1) + b">" + body + b"</c>"

    def _shared_formula(self, si: bytes, text: str | None, r: int, col: int) -> bytes | None:
        """A cell of a shared formula as its own formula, shifted (None: left as it is)."""
        self.shared = True
        if text is not None:
            self.masters[si] = (r, col, text)
        elif si in self.masters:
            mr, mc, master = self.masters[si]
            text = moved(master, r - mr, col - mc)
        if text is None:
            return None
        return b"<f>" + _xml(self.shift.formula(text)) + b"</f>"

    def _plain_formula(self, head: bytes, attrs: dict, kind: bytes | None, text: str) -> bytes | None:
        """A normal or array formula shifted (None: it does not change)."""
        new_text = self.shift.formula(text)
        if new_text == text and kind != b"array":
            return None
        if kind == b"array" and attrs.get(b"ref"):
            head = _attr_sub(head, b"ref", self.shift.ref(attrs[b"ref"].decode()) or "#REF!")
        return b"<f" + head + b">" + _xml(new_text) + b"</f>"

    # ---- the sheet after its rows --------------------------------------------------------
    def tail(self, xml: bytes) -> bytes:
        s = xml.decode("utf-8")
        s = self._elements(s, "mergeCell", "ref", single_cell_goes=True)
        s = self._elements(s, "hyperlink", "ref")
        s = re.sub(r'(<autoFilter\b[^>]*\bref=")([^"]*)"',
                   lambda m: m.group(1) + (self.shift.ref(m.group(2)) or m.group(2)) + '"', s)
        s = self._blocks(s, "conditionalFormatting", "formula")
        s = self._blocks(s, "dataValidation", "formula1|formula2")
        s = self._x14(s)
        for parent, child in (("mergeCells", "mergeCell"), ("dataValidations", "dataValidation")):
            s = _recount(s, parent, child)
        return s.encode("utf-8")

    def _elements(self, s: str, tag: str, attr: str, single_cell_goes: bool = False) -> str:
        def one(m: re.Match) -> str:
            ref = re.search(rf'\b{attr}="([^"]*)"', m.group(0)).group(1)
            new = self.shift.ref(ref)
            if new is None or (single_cell_goes and ":" not in new):
                return ""
            return m.group(0).replace(f'{attr}="{ref}"', f'{attr}="{new}"', 1)
        return re.sub(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", one, s, flags=re.S)

    def _blocks(self, s: str, tag: str, formulas: str) -> str:
        """Elements with a sqref and formulas inside: shifted, dropped when no cell is left."""
        def one(m: re.Match) -> str:
            sqref = re.search(r'\bsqref="([^"]*)"', m.group(0))
            if sqref is None:
                return m.group(0)
            new = self.shift.sqref(sqref.group(1))
            if new is None:
                return ""
            out = m.group(0).replace(sqref.group(0), f'sqref="{new}"', 1)
            return re.sub(rf"(<({formulas})>)(.*?)(</\2>)", lambda f: f.group(1) + sx.escape(
                self.shift.anchored(html.unescape(f.group(3)), sqref.group(1))) + f.group(4), out, flags=re.S)
        return re.sub(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", one, s, flags=re.S)

    def _x14(self, s: str) -> str:
        """Validations and formats Excel keeps in its extensions: <xm:sqref> lists and <xm:f>."""
        def block(m: re.Match) -> str:
            sq = re.search(r"<xm:sqref>(.*?)</xm:sqref>", m.group(0), re.S)
            if sq is None:
                return m.group(0)
            new = self.shift.sqref(sq.group(1))
            if new is None:
                return ""
            return m.group(0).replace(sq.group(0), f"<xm:sqref>{new}</xm:sqref>", 1)
        for tag in ("x14:dataValidation", "x14:conditionalFormatting"):
            s = re.sub(rf"<{tag}\b[^>]*>.*?</{tag}>", block, s, flags=re.S)
        return s


def _recount(s: str, parent: str, child: str) -> str:
    m = re.search(rf"<{parent}\b[^>]*>(.*?)</{parent}>", s, re.S)
    if m is None:
        return s
    n = len(re.findall(rf"<{child}\b", m.group(1)))
    if n == 0:
        return s[:m.start()] + s[m.end():]
    head = re.sub(r'\bcount="\d+"', f'count="{n}"', s[m.start():m.start() + m.group(0).find(">") + 1])
    return s[:m.start()] + head + s[m.start() + m.group(0).find(">") + 1:]


# ---- the parts beside the sheet ---------------------------------------------------------------
def related_parts(zf: zipfile.ZipFile, part: str) -> dict[str, str]:
    """The sheet's related parts by relationship type (comments, vmlDrawing, table, threadedComment)."""
    path = PurePosixPath(part)
    rels = f"{path.parent}/_rels/{path.name}.rels"
    out: dict[str, str] = {}
    if rels not in zf.namelist():
        return out
    for rel in re.findall(r"<Relationship\b[^>]*>", zf.read(rels).decode("utf-8")):
        kind = re.search(r'\bType="[^"]*/([^"/]+)"', rel)
        target = re.search(r'\bTarget="([^"]*)"', rel)
        if kind and target and 'TargetMode="External"' not in rel:
            t = target.group(1)
            name = t.lstrip("/") if t.startswith("/") else str(PurePosixPath(path.parent, t))
            parts = []
            for piece in name.split("/"):
                if piece == "..":
                    parts.pop()
                else:
                    parts.append(piece)
            out.setdefault(kind.group(1), "/".join(parts))
    return out


def shifted_parts(zf: zipfile.ZipFile, part: str, shift: RowShift) -> dict[str, bytes]:
    """New contents of the parts that point at the register's rows."""
    related = related_parts(zf, part)
    out: dict[str, bytes] = {}
    if related.get("table"):
        xml = zf.read(related["table"]).decode("utf-8")
        xml = re.sub(r'(<(?:table|autoFilter)\b[^>]*?\bref=")([^"]*)"',
                     lambda m: m.group(1) + shift.table_ref(m.group(2)) + '"', xml)
        out[related["table"]] = xml.encode("utf-8")
    for kind, tag in (("comments", "comment"), ("threadedComment", "threadedComment")):
        if related.get(kind):
            xml = zf.read(related[kind]).decode("utf-8")
            out[related[kind]] = _shift_refs(xml, tag, shift).encode("utf-8")
    if related.get("vmlDrawing"):
        out[related["vmlDrawing"]] = _vml(zf.read(related["vmlDrawing"]), shift)
    out["xl/workbook.xml"] = _workbook(zf.read("xl/workbook.xml").decode("utf-8"), shift)
    return out


def _shift_refs(xml: str, tag: str, shift: RowShift) -> str:
    def one(m: re.Match) -> str:
        ref = re.search(r'\bref="([^"]*)"', m.group(0))
        new = shift.ref(ref.group(1)) if ref else ref
        if new is None:
            return ""
        return m.group(0).replace(ref.group(0), f'ref="{new}"', 1) if ref else m.group(0)
    return re.sub(rf"<{tag}\b[^>]*?(?:/>|>.*?</{tag}>)", one, xml, flags=re.S)


def _vml(raw: bytes, shift: RowShift) -> bytes:
    """Note shapes: the row (0-based) and the anchor's rows follow their cell; gone with it."""
    text = raw.decode("utf-8", errors="surrogateescape")

    def shape(m: re.Match) -> str:
        s = m.group(0)
        row = re.search(r"<x:Row>(\d+)</x:Row>", s)
        if row is None or "Note" not in s:
            return s
        new = shift.row(int(row.group(1)) + 1)
        if new is None:
            return ""
        delta = new - 1 - int(row.group(1))
        s = s.replace(row.group(0), f"<x:Row>{new - 1}</x:Row>", 1)

        def anchor(a: re.Match) -> str:
            v = [p.strip() for p in a.group(1).split(",")]
            if len(v) == 8:
                v[2], v[6] = str(int(v[2]) + delta), str(int(v[6]) + delta)
            return f"<x:Anchor>{', '.join(v)}</x:Anchor>"
        return re.sub(r"<x:Anchor>(.*?)</x:Anchor>", anchor, s, flags=re.S)
    return re.sub(r"<v:shape\b.*?</v:shape>", shape, text, flags=re.S).encode("utf-8", errors="surrogateescape")


def _workbook(xml: str, shift: RowShift) -> bytes:
    def name(m: re.Match) -> str:
        new = shift.formula(html.unescape(m.group(2)), bare=False)
        return m.group(1) + sx.escape(new) + m.group(3)
    xml = re.sub(r"(<definedName\b[^>]*>)(.*?)(</definedName>)", name, xml, flags=re.S)
    # results held by formulas that moved are stale: Excel recalculates them on opening
    if re.search(r"<calcPr\b[^>]*\bfullCalcOnLoad=", xml):
        xml = re.sub(r'\bfullCalcOnLoad="[^"]*"', 'fullCalcOnLoad="1"', xml)
    elif "<calcPr" in xml:
        xml = xml.replace("<calcPr", '<calcPr fullCalcOnLoad="1"', 1)
    else:  # where the schema puts it: before whatever may follow it
        at = min((i for i in (xml.find(t) for t in _AFTER_CALC) if i >= 0), default=len(xml))
        xml = xml[:at] + '<calcPr fullCalcOnLoad="1"/>' + xml[at:]
    return xml.encode("utf-8")


_AFTER_CALC = ("<oleSize", "<customWorkbookViews", "<pivotCaches", "<smartTagPr", "<smartTagTypes",
               "<webPublishing", "<fileRecoveryPr", "<webPublishObjects", "<extLst", "</workbook>")
