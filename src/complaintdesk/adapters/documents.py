"""Adapter — renders case documents (HTML via jinja2, DOCX via python-docx) from templates/.

Each document is described once in `templates/<lang>/<kind>.toml` (title,
sections of label → field rows, notes, signature lines); `base.html.j2` lays
it out for print and the DOCX writer lays out the same description. Companies
edit the templates, not the code. Customer text is only ever a *value*:
it is autoescaped in HTML and written as plain runs in DOCX (no field codes).
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from .files import atomic_write

KINDS = ("assignment", "plan", "confirmation", "survey")
FONT_ZH = "Microsoft YaHei"


def templates_dir() -> Path:
    env = os.environ.get("COMPLAINTDESK_TEMPLATES")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "templates"


@dataclass
class RenderedDoc:
    title: str
    file_name: str
    masked: bool
    intro: list[str]
    sections: list[dict]
    signatures: list[str]
    labels: dict


@lru_cache(maxsize=16)
def _spec(lang: str, kind: str) -> dict:
    path = templates_dir() / lang / f"{kind}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def _labels(lang: str) -> dict:
    return tomllib.loads((templates_dir() / lang / "labels.toml").read_text(encoding="utf-8"))


_text_env = SandboxedEnvironment(autoescape=False)


REPLY_KINDS = ("ack", "progress", "result")


def render_reply(kind: str, lang: str, values: dict) -> str:
    """A canned reply to the customer (templates/<lang>/replies/<kind>.txt: plain text, jinja2 in a
    sandbox), on one line."""
    text = (templates_dir() / lang / "replies" / f"{kind}.txt").read_text(encoding="utf-8")
    return " ".join(_text_env.from_string(text).render(**values).split())


LINK_FIELDS = ("evidence",)  # fields whose web addresses stay links in every document
_LINK = re.compile(r"https?://[^\s、，,；;<>\"']+", re.IGNORECASE)


def web_links(text: str) -> list[str]:
    """The http(s) addresses in a cell, in order (no other scheme ever becomes a link)."""
    return list(dict.fromkeys(_LINK.findall(text or "")))


def _expand(text: str, record: dict) -> str:
    if "{{" not in text and "{%" not in text:
        return text
    return _text_env.from_string(text).render(c=record)


def prepare(kind: str, record: dict, lang: str = "zh") -> RenderedDoc:
    """Resolve a document description against one complaint's display values."""
    spec = _spec(lang, kind)
    labels = _labels(lang)
    sections = []
    for section in spec.get("sections", []):
        rows = []
        for label, source, *lines in section.get("rows", []):
            if "scale" in section:
                rows.append({"label": label, "hint": source})
                continue
            value = record.get(source) if source in record else _expand(source, record)
            text = str(value).strip() if value not in (None, "") else ""
            # an empty field is room to write by hand (a row's third item: how many lines), never "—"
            rows.append({"label": label, "value": text, "lines": 0 if text else int(lines[0]) if lines else 1,
                         "links": web_links(text) if source in LINK_FIELDS else []})
        sections.append({"heading": section.get("heading", ""), "rows": rows,
                         "scale": section.get("scale"),
                         "notes": [_expand(n, record) for n in section.get("notes", [])]})
    return RenderedDoc(spec.get("title", kind), spec.get("file_name", kind), bool(spec.get("masked")),
                       [_expand(p, record) for p in spec.get("intro", [])], sections,
                       list(spec.get("signatures", [])), labels)


def write_document(path: Path, kind: str, record: dict, generated: str, lang: str, masked: bool) -> None:
    """A document of `kind` for one record, as HTML or Word by the path's suffix."""
    doc = prepare(kind, record, lang)
    if path.suffix == ".html":
        write_html(path, render_html(doc, record, generated, lang, masked))
    else:
        write_docx(path, doc, record, generated, masked)


def render_html(doc: RenderedDoc, record: dict, generated: str, lang: str, masked: bool) -> str:
    env = Environment(loader=FileSystemLoader(str(templates_dir() / lang)),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    return env.get_template("base.html.j2").render(doc=doc, c=record, labels=doc.labels,
                                                   generated=generated, masked=masked)


def write_html(path: Path, html: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(html, encoding="utf-8"))


PAGE_CM = 16.0          # the text width of an A4 page with Word's margins
LABEL_CM = 4.0          # a form's label column
SCALE_LABEL_CM = 5.5    # a survey item with its hint, on two lines
WRITING_LINE_CM = 0.9   # one handwritten line


def _widths(table, widths) -> None:
    """Fixed column widths (Word and LibreOffice honour the cells' widths, not the column's)."""
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def write_docx(path: Path, doc: RenderedDoc, record: dict, generated: str, masked: bool) -> None:
    from docx import Document
    from docx.enum.table import WD_ROW_HEIGHT_RULE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()
    for section in document.sections:  # python-docx's template is US Letter: Chinese offices print A4
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin = section.bottom_margin = Cm(1.8)
        section.left_margin = section.right_margin = Cm(1.8)
    style = document.styles["Normal"]
    style.font.name = FONT_ZH
    style.font.size = Pt(10.5)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT_ZH)
    for name in ("Title", "Heading 1", "Heading 2"):
        document.styles[name].element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT_ZH)
    title = document.add_heading(doc.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta = document.add_paragraph(f"{doc.labels['number']}：{record.get('complaint_no', '')}　"
                                  f"{doc.labels['generated']}：{generated}")
    meta.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for p in doc.intro:
        document.add_paragraph(p)
    for section in doc.sections:
        document.add_heading(section["heading"], level=2)
        if section["scale"]:
            table = document.add_table(rows=1, cols=len(section["scale"]) + 1)
            table.style = "Table Grid"
            table.rows[0].cells[0].text = doc.labels["aspect"]
            for i, s in enumerate(section["scale"], 1):
                table.rows[0].cells[i].text = s
            for row in section["rows"]:
                cells = table.add_row().cells
                cells[0].text = f"{row['label']}\n{row['hint']}"
                for cell in cells[1:]:
                    cell.text = "□"
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            _widths(table, [Cm(SCALE_LABEL_CM)] + [Cm((PAGE_CM - SCALE_LABEL_CM) / len(section["scale"]))]
                    * len(section["scale"]))
        else:
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
            for row in section["rows"]:
                added = table.add_row()
                added.cells[0].text = row["label"]
                added.cells[1].text = "" if row["links"] else row["value"]
                for i, link in enumerate(row["links"]):  # a recording or a photo: a link Word opens
                    _hyperlink(added.cells[1].paragraphs[0], link, document, separator=i > 0)
                if row["lines"]:  # room to write by hand
                    added.height = Cm(WRITING_LINE_CM * row["lines"])
                    added.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
            _widths(table, [Cm(LABEL_CM), Cm(PAGE_CM - LABEL_CM)])
        for note in section["notes"]:
            document.add_paragraph(note)
    if doc.signatures:
        document.add_paragraph("")
        document.add_paragraph("　　　　".join(doc.signatures))
    if masked:
        document.add_paragraph(doc.labels["masked_note"])
    atomic_write(path, lambda tmp: document.save(str(tmp)))


def _hyperlink(paragraph, url: str, document, separator: bool) -> None:
    """A clickable link in a Word paragraph (python-docx has no call for it: the XML by hand)."""
    from docx.opc.constants import RELATIONSHIP_TYPE
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    if separator:
        paragraph.add_run("\n")
    rel = document.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    for tag, attr, value in (("w:color", "w:val", "0563C1"), ("w:u", "w:val", "single")):
        element = OxmlElement(tag)
        element.set(qn(attr), value)
        props.append(element)
    run.append(props)
    text = OxmlElement("w:t")
    text.text = url
    run.append(text)
    link.append(run)
    paragraph._p.append(link)
