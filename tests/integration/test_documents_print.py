"""The four documents print on A4 as a person gets them: the HTML forms through a browser (headless
Chromium, as staff print them from Edge or Chrome), the Word forms through LibreOffice. Each is one
A4 portrait page with its title and the complaint number in its text (the customer masked on the
forms that leave customer service), and a
picture of the page shows the form's ruled lines. (LibreOffice's HTML import ignores the forms' CSS:
HTML is for browsers.)"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require_soffice
from tests.integration.test_casework import DONE, setup

TITLES = {"assignment": "投诉任务分配记录表", "plan": "投诉处理方案表", "confirmation": "客户结果确认表",
          "survey": "客户投诉满意度调查表"}
A4 = (595.3, 841.9)  # points


def poppler(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is required in CI (.ci/run installs poppler-utils)")
        pytest.skip(f"{tool} (poppler-utils) is not installed on this machine")
    return exe


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (.ci/run installs the chromium package)")
        pytest.skip("headless Chromium is not installed on this machine")
    return exe


def browser_pdfs(files: list[Path], outdir: Path) -> list[Path]:
    """Each HTML form printed to PDF by headless Chromium (A4 from the form's @page rule)."""
    exe, out = chromium(), []
    for f in files:
        pdf = outdir / (f.stem + ".pdf")
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        f"--user-data-dir={outdir / 'chromium-profile'}", "--no-pdf-header-footer",
                        f"--print-to-pdf={pdf}", f.as_uri()], check=True, capture_output=True, timeout=120)
        out.append(pdf)
    return out


def to_pdfs(files: list[Path], outdir: Path) -> list[Path]:
    """All files through one LibreOffice run (as a user prints them), the PDFs in the same order."""
    exe = require_soffice()
    subprocess.run([exe, f"-env:UserInstallation=file://{outdir / 'lo-profile'}", "--headless", "--convert-to",
                    "pdf", "--outdir", str(outdir), *map(str, files)], check=True, capture_output=True, timeout=300)
    return [outdir / (f.stem + ".pdf") for f in files]


def ruled_lines(pgm: bytes) -> int:
    """Rows of a greyscale page picture (binary PGM) that are mostly dark: a table's ruled lines."""
    m = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert m, pgm[:20]
    width, height = int(m.group(1)), int(m.group(2))
    pixels = pgm[m.end():]
    return sum(1 for y in range(height)
               if sum(1 for x in range(width) if pixels[y * width + x] < 160) > width * 0.4)


def test_every_document_prints_on_one_a4_page_with_its_title_and_lines(register, cli, tmp_path):
    totext, toppm = poppler("pdftotext"), poppler("pdftoppm")
    number = setup(register, cli, **DONE)
    out = tmp_path / "docs"
    for fmt in ("html", "docx"):
        cli("docs", register, number, *[a for kind in TITLES for a in ("--kind", kind)], "--format", fmt,
            "--out", out, "--now", "2026-10-12T10:00")
    files = sorted(out.glob(f"{number}_*"))
    assert len(files) == 8, files
    printed = []
    for fmt, printer in (("html", browser_pdfs), ("docx", to_pdfs)):  # a form's HTML and Word share a name
        (tmp_path / fmt).mkdir()
        kind = [f for f in files if f.suffix == "." + fmt]
        printed += zip(printer(kind, tmp_path / fmt), kind)
    for pdf, source in printed:
        data = pdf.read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
        box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
        assert pages == 1, (source.name, pages)
        assert box and abs(float(box.group(1)) - A4[0]) < 2 and abs(float(box.group(2)) - A4[1]) < 2, source.name
        text = subprocess.run([totext, "-layout", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
        title = next(t for t in TITLES.values() if t in source.name)
        assert title in text.replace(" ", "") and number in text, source.name
        if title in ("投诉任务分配记录表", "投诉处理方案表"):  # they go to other departments: masked on paper too
            assert "欧阳娜娜" not in text and "欧阳**" in text.replace(" ", ""), source.name
        base = pdf.parent / pdf.stem
        subprocess.run([toppm, "-gray", "-r", "30", "-f", "1", "-l", "1", str(pdf), str(base)],
                       check=True, capture_output=True)
        picture = next(pdf.parent.glob(f"{pdf.stem}*.pgm")).read_bytes()
        assert ruled_lines(picture) >= 3, source.name  # the form's table borders are drawn
