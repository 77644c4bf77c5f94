"""One verdict for both stores: every file of the hostile corpus (tests/hostile, made by make_corpus.py)
is refused with the same message and exit 2 by the openpyxl store and the streaming store, and is left
exactly as it was; the intact register of the corpus goes through both."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from complaintdesk.adapters.xlsxstream.sheet_checks import MAX_TEXT, SheetCheck
from complaintdesk.entrypoints.cli import app
from complaintdesk.errors import SchemaError

CORPUS = Path(__file__).resolve().parent.parent / "hostile"
HOSTILE = sorted(p for p in CORPUS.glob("*.xlsx") if p.name != "完好的登记表.xlsx")


def _run(path: Path, store: str, monkeypatch, *args: str):
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    monkeypatch.setenv("COLUMNS", "400")
    return CliRunner().invoke(app, [*args[:1], str(path), *args[1:]])


def test_the_corpus_is_all_there():
    assert len(HOSTILE) >= 14


@pytest.mark.parametrize("command", [("assign", "--now", "2026-10-09T15:00"), ("export", "--out", "x.csv")],
                         ids=["assign", "export"])
@pytest.mark.parametrize("source", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_both_stores_refuse_alike(source, command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    said = {}
    for store in ("openpyxl", "fast"):
        folder = tmp_path / store
        folder.mkdir()
        path = folder / source.name
        shutil.copy(source, path)
        result = _run(path, store, monkeypatch, *command)
        assert result.exit_code == 2, (store, result.output)
        assert "Traceback" not in result.output and "Error" not in result.output
        assert path.read_bytes() == source.read_bytes()
        assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [source.name]
        assert not (folder / ".bak").exists()
        said[store] = result.output.replace(store, "")
    assert said["openpyxl"] == said["fast"]
    assert "✘" in said["fast"] and source.name in said["fast"]


def test_the_intact_register_goes_through_both_stores(tmp_path, monkeypatch):
    for store in ("openpyxl", "fast"):
        path = tmp_path / store / "登记表.xlsx"
        path.parent.mkdir()
        shutil.copy(CORPUS / "完好的登记表.xlsx", path)
        result = _run(path, store, monkeypatch, "assign", "--now", "2026-10-09T15:00")
        assert result.exit_code == 0 and "新编号 3" in result.output, result.output


def _sheet(rows: str) -> bytes:
    return f"<worksheet><sheetData>{rows}</sheetData></worksheet>".encode("utf-8")


@pytest.mark.parametrize("rows, problem", [
    ('<row r="1"/><row r="3"/><row r="2"/>', "第 2 行出现在第 3 行之后"),
    ('<row r="2"/><row r="2"/>', "第 2 行出现在第 2 行之后"),
    ('<row r="0"/>', "行号为“0”"),
    ('<row r="2"><c r="A0"><v>1</v></c></row>', "“A0”"),
    ('<row r="2"><c r="a2"><v>1</v></c></row>', "“a2”"),
    ('<row r="2"><c r="XFE2"><v>1</v></c></row>', "“XFE2”超出"),
    ('<row r="2"><c r="B1048577"><v>1</v></c></row>', "“B1048577”超出"),
    ('<row r="2"><c r="B2" t="s"><v>7</v></c></row>', "单元格 B2 引用了第 8 条共享文本"),
    ('<row r="2"><c r="B2" t="s"><v>0012</v></c></row>', "单元格 B2 引用了第 13 条共享文本"),
    ('<row r="2"><c s="1" r="A0"><v>1</v></c></row>', "“A0”"),           # the reference not first
    ('<row r="2"><c t="n" r="XFE2"><v>1</v></c></row>', "“XFE2”超出"),
    (f'<row r="2"><c r="B2" t="inlineStr"><is><t>{"字" * (MAX_TEXT + 1)}</t></is></c></row>', "超过 Excel 的上限"),
])
def test_each_check_names_what_is_wrong(rows, problem):
    with pytest.raises(SchemaError) as caught:
        SheetCheck("登记表.xlsx", "投诉登记", strings=7).piece(_sheet(rows))
    assert problem in str(caught.value) and "未做任何更改" in str(caught.value)


@pytest.mark.parametrize("rows", [
    '<row r="1"/><row r="2"><c r="XFD2"><v>1</v></c></row><row r="1048576"/>',
    f'<row r="2"><c r="B2" t="inlineStr"><is><t>{"字" * MAX_TEXT}</t></is></c></row>',
    f'<row r="2"><c r="B2" t="inlineStr"><is><t>{"&amp;" * MAX_TEXT}</t></is></c></row>',
    '<row r="2"><c r="B2" t="s"><v>6</v></c><c r="C2" t="s"><v>06</v></c><c s="1" r="D2"><v>1</v></c></row>',
])
def test_what_excel_writes_passes(rows):
    SheetCheck("登记表.xlsx", "投诉登记", strings=7).piece(_sheet(rows))


def test_a_piece_that_is_not_utf8_names_its_row():
    with pytest.raises(SchemaError, match="第 5 行附近含有不是 UTF-8 的字节"):
        SheetCheck("登记表.xlsx", "投诉登记", 0).piece(b'<row r="5"><c r="A5"><is><t>\xff</t></is></c></row>')


@pytest.mark.parametrize("name", ["行号倒序.xlsx", "声明大小不实.xlsx", "单元格超长.xlsx", "没有内容类型表.xlsx"])
def test_a_hostile_file_in_the_archive_folder_is_refused_too(name, tmp_path, monkeypatch):
    """Files in archive/ go through the same guard and sheet checks as the register."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "登记表.xlsx"
    shutil.copy(CORPUS / "完好的登记表.xlsx", path)
    (tmp_path / "archive").mkdir()
    shutil.copy(CORPUS / name, tmp_path / "archive" / "投诉归档_2025.xlsx")
    before = path.read_bytes()
    for store in ("openpyxl", "fast"):
        result = _run(path, store, monkeypatch, "export", "--out", "x.csv", "--include-archive")
        assert result.exit_code == 2 and "投诉归档_2025.xlsx" in result.output, result.output
    assert path.read_bytes() == before and not (tmp_path / "x.csv").exists()


def test_a_million_empty_rows_cost_memory_of_the_filled_ones(tmp_path):
    """A sheet a spreadsheet program saved with styled blanks down to row 1,048,576: reading keeps the
    rows holding a value only (it took 2.1 GB), and the new numbers land on the typed rows."""
    import subprocess
    import sys
    import zipfile
    path = tmp_path / "登记表.xlsx"
    with zipfile.ZipFile(CORPUS / "完好的登记表.xlsx") as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                blanks = b"".join(b'<row r="%d"><c r="A%d" s="3"/><c r="E%d" s="3"/></row>' % (r, r, r)
                                  for r in range(5, 1_048_577))
                data = data.replace(b"</sheetData>", blanks + b"</sheetData>")
            dst.writestr(info.filename, data)
    code = ("import resource, sys\nfrom complaintdesk.entrypoints.cli import app\n"
            "try:\n    app(sys.argv[1:])\nexcept SystemExit as exit:\n    code = exit.code\n"
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'EXIT', code)\n")
    done = subprocess.run([sys.executable, "-c", code, "assign", str(path), "--now", "2026-10-09T15:00"],
                          capture_output=True, text=True, env={**os.environ, "COMPLAINTDESK_STORE": "fast"})
    words = done.stdout.split()
    assert words[-1] in ("0", "None"), done.stdout + done.stderr
    assert int(words[words.index("RSS") + 1]) < 600_000, done.stdout  # KB; the filled rows are three
    assert "新编号 3" in done.stdout


@pytest.mark.parametrize("n", [0, 1, 7, 9, 10, 99, 100, 59999, 123456, 500000])
def test_the_past_the_table_pattern_matches_exactly_the_numbers_from_n(n):
    import re

    from complaintdesk.adapters.xlsxstream.sheet_checks import at_least
    pattern = re.compile(at_least(n) + b"$")
    for k in [*range(0, 1200), n - 1, n, n + 1, 10 * n, 10 * n + 9, 10**7 + 3]:
        if k >= 0:
            assert bool(pattern.match(str(k).encode())) == (k >= n), (n, k)
