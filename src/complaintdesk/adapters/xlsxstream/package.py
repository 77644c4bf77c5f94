"""xlsxstream — a workbook package's map: which part holds which worksheet."""
from __future__ import annotations

import re
import zipfile
from pathlib import PurePosixPath

from . import sheet_xml as sx


def attrs(xml: str) -> dict[str, str]:
    return dict(re.findall(r'\b([\w:]+)="([^"]*)"', xml))


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """The package's worksheets: sheet name -> part name."""
    workbook = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for rel in re.findall(r"<Relationship\b[^>]*>", rels):
        a = attrs(rel)
        target = a.get("Target", "")
        targets[a.get("Id")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    out = {}
    for sheet in re.findall(r"<sheet\b[^>]*>", workbook):
        name = sx._text(re.search(r'\bname="([^"]*)"', sheet).group(1).encode())
        rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', sheet)
        rid = rid.group(1) or rid.group(2)
        out[name] = str(PurePosixPath(targets[rid]))
    return out
