"""The command line says true things, in Chinese: parser errors and help, a command that could not
do what was asked exits non-zero without ✔, read-only commands say what they found, numbers and
times are taken as staff write them, headers as other systems name them."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from complaintdesk import __version__
from complaintdesk.domain.schema import match_headers, nearest_header
from complaintdesk.entrypoints.cli import app
from tests.conftest import complaint, read_rows, type_rows

ENGLISH = ("Usage", "Error", "Missing", "Try ", "Show this message", "Options:", "No such", "[required]")


def run(*args, code=0):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


@pytest.mark.parametrize("args, said", [
    (("log", "登记表.xlsx", "20261009-CS-001"), "缺少选项 --content"),
    (("assign",), "缺少参数 登记表"),
    (("assign", "登记表.xlsx", "--bogus"), "没有这个选项：--bogus"),
    (("nope",), "没有这个命令：nope"),
    (("assign", "a.xlsx", "b.xlsx"), "多余的参数"),
    (("archive", "登记表.xlsx", "--older-than", "abc"), "不是整数"),
])
def test_parser_errors_are_chinese(args, said):
    out = run(*args, code=2)
    assert said in out and "错误：" in out and "查看帮助：" in out, out
    assert not any(word in out for word in ENGLISH), out


def test_help_is_chinese_and_there_is_a_version():
    for args in ((), ("--help",), ("import", "--help"), ("surveys", "--help"), ("excel", "build", "--help")):
        out = CliRunner().invoke(app, list(args)).output
        assert "用法：" in out and not any(word in out for word in ENGLISH), out
    assert run("--version").strip() == f"complaintdesk {__version__}"


def test_an_unknown_document_kind_is_said_first():
    assert "未知的文档类型“xyz”" in run("docs", "登记表.xlsx", "--kind", "xyz", code=2)


def test_docs_for_an_unknown_number_fails_without_a_tick(register):
    type_rows(register, [complaint()])
    run("assign", register, "--now", "2026-10-09T15:00")
    out = run("docs", register, "20991231-CS-001", code=2)
    assert "找不到投诉编号 20991231-CS-001" in out and "✔" not in out
    assert not (register.parent / "文档").exists()
    for typed in ("20261009-cs-001", " 20261009-CS-001 ", "２０２６１００９-CS-001"):
        out = run("docs", register, typed, "--kind", "assignment")
        assert "20261009-CS-001_" in out.replace("\n", ""), out
    run("log", register, "20261009-cs-001", "--content", "已致电", "--now", "2026-10-09T16:00")
    assert read_rows(register)[0]["last_update_at"] is not None


def test_a_folder_or_a_csv_is_no_register_and_leaves_no_lock(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "渠道.csv").write_text("a,b\n", encoding="utf-8")
    assert "是一个文件夹" in run("assign", tmp_path / "demo", code=2)
    assert "不是 Excel 登记表" in run("assign", tmp_path / "渠道.csv", code=2)
    assert "找不到登记表文件" in run("sla", tmp_path / "没有这个.xlsx", code=2)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".lock")]


def test_mail_asked_for_and_not_configured_is_exit_4(register, monkeypatch):
    monkeypatch.delenv("COMPLAINTDESK_SMTP_HOST", raising=False)
    out = run("sla", register, "--notify", "--now", "2026-10-09T15:00", code=4)
    assert "✘ 预警邮件：未配置 SMTP 服务器" in out


def test_read_only_commands_say_what_they_found(register):
    assert "没有找到匹配的投诉" in run("find", register, "13999999999")
    assert "还没有备份" in run("restore", register, "--list")
    for out in (run("find", register, "13999999999"), run("restore", register, "--list")):
        assert "没有需要更改的内容" not in out


@pytest.mark.parametrize("now", ["2026/10/09 15:30", "2026-10-09 15:30", "2026年10月9日 15:30", "2026-10-09T15:30"])
def test_now_is_taken_as_cells_take_it(register, now):
    type_rows(register, [complaint()])
    run("assign", register, "--now", now)
    assert read_rows(register)[0]["complaint_no"] == "20261009-CS-001"


def test_now_that_is_no_time_lists_the_forms(register):
    out = run("assign", register, "--now", "明天", code=2)
    assert "2026/10/8 14:30" in out and "无法识别的时间“明天”" in out


def test_import_suggests_the_header_meant_and_strict_refuses(register, tmp_path):
    source = tmp_path / "渠道.csv"
    source.write_text("接受渠道,诉求类形,客户,联系电话,接收时间,问题描述\n"
                      "电话,投诉,张三,13812341234,2026-10-09 10:00,坏了\n", encoding="utf-8")
    out = run("import", register, source, "--strict", code=2)
    assert "“接受渠道”（您是不是想写“接收渠道”？）" in out and "“诉求类形”（您是不是想写“诉求类型”？）" in out
    assert read_rows(register) == []
    out = run("import", register, source)
    assert "您是不是想写“接收渠道”" in out and "导入行 1" in out
    row = read_rows(register)[0]
    assert row["customer_name"] == "张三" and str(row["contact"]) == "13812341234"  # 客户, 联系电话: aliases


def test_aliases_never_take_a_column_the_register_names():
    match = match_headers(enumerate(["联系方式", "手机", "客户姓名"]))
    assert match.columns == {0: "contact", 2: "customer_name"}
    assert match.shadowed == [(1, "手机", "contact")]
    assert nearest_header("完全无关的列") is None and nearest_header("备住") == "备注"


def test_output_to_a_file_is_never_wrapped(register, tmp_path):
    """A scheduler log or a redirected output holds each message on one line."""
    long = "很长的问题描述" * 30
    type_rows(register, [complaint(received_at="下周", description=long)])
    done = subprocess.run([str(Path(sys.executable).with_name("complaintdesk")), "assign", str(register),
                           "--now", "2026-10-09T15:00"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "80"})
    line = next(x for x in done.stdout.splitlines() if "无法识别" in x)
    assert "暂不编号" in line, done.stdout


def test_export_to_a_terminal_asks_for_a_file(register):
    master, slave = pty.openpty()
    done = subprocess.run([str(Path(sys.executable).with_name("complaintdesk")), "export", str(register)],
                          stdout=slave, stderr=slave, timeout=60)
    os.close(slave)
    out = os.read(master, 65536).decode("utf-8", "replace")
    os.close(master)
    assert done.returncode == 2 and "--out" in out and "complaint_no" not in out


def test_the_demo_wants_an_empty_folder_and_repeats_itself(tmp_path):
    first, second = tmp_path / "演示", tmp_path / "再演示"
    run("demo", first, "--now", "2026-11-20T10:00", "--count", "12")
    exported = (first / "导出_全部投诉.json").read_bytes()
    assert "不是空的" in run("demo", first, "--now", "2026-11-20T10:00", "--count", "12", code=2)
    run("demo", first, "--now", "2026-11-20T10:00", "--count", "12", "--force")
    run("demo", second, "--now", "2026-11-20T10:00", "--count", "12")
    assert (first / "导出_全部投诉.json").read_bytes() == exported == (second / "导出_全部投诉.json").read_bytes()
    other = tmp_path / "我的文件"
    other.mkdir()
    (other / "重要.xlsx").write_bytes(b"x")
    assert "为免误删" in run("demo", other, "--force", code=2)
    assert (other / "重要.xlsx").exists()


def test_a_survey_form_asks_for_an_answer_by_a_date_to_come(register):
    """The date on the form counts from the day it is issued (设置 调查表回复天数, 7), not from the
    survey clock, which had long passed for most complaints of the demo."""
    type_rows(register, [complaint()])
    run("assign", register, "--now", "2026-10-09T15:00")
    run("docs", register, "20261009-CS-001", "--kind", "survey", "--now", "2026-11-20T10:00")
    form = next((register.parent / "文档").glob("*调查表*.html")).read_text(encoding="utf-8")
    assert "请在 2026-11-27 前" in form


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_the_register_prints_landscape_with_its_titles(register, tmp_path, monkeypatch, store):
    """A4 landscape, three pages wide, header row and complaint number on every page — kept through
    the tool's saves; LibreOffice prints it so (3 pages for one complaint; 68 pages wide before)."""
    from openpyxl import load_workbook

    from tests.conftest import convert
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    type_rows(register, [complaint()])
    run("assign", register, "--now", "2026-10-09T15:00")
    ws = load_workbook(register).worksheets[0]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.page_setup.fitToWidth == 3 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$A:$A"
    wb = load_workbook(register)  # the register sheet alone (LibreOffice prints every sheet)
    for other in wb.worksheets[1:]:
        wb.remove(other)
    alone = tmp_path / "alone.xlsx"
    wb.save(alone)
    pdf = convert(alone, "pdf", tmp_path).read_bytes()
    import re
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert 1 <= pages <= 4, pages


def test_forms_leave_room_to_write(register, tmp_path):
    """Where a person is to write, a form has blank lines, not "—"; the Word survey form keeps each
    item on two lines (a wide label column) and gives the comments six lines."""
    from docx import Document
    from docx.shared import Cm

    from tests.conftest import convert
    type_rows(register, [complaint()])
    run("assign", register, "--now", "2026-10-09T15:00")
    run("docs", register, "20261009-CS-001", "--kind", "plan", "--kind", "survey", "--now", "2026-10-09T16:00")
    run("docs", register, "20261009-CS-001", "--kind", "survey", "--format", "docx", "--now", "2026-10-09T16:00")
    folder = register.parent / "文档"
    plan = next(folder.glob("*方案表.html")).read_text(encoding="utf-8")
    assert "—" not in plan and plan.count('class="write"') >= 5  # 原因分析, 处理措施, 完成时限 …
    survey = Document(str(next(folder.glob("*调查表.docx"))))
    scale, comments = survey.tables[0], survey.tables[1]
    assert scale.rows[1].cells[0].width >= Cm(5) and "\n" in scale.rows[1].cells[0].text
    assert comments.rows[0].height >= Cm(5) and comments.rows[0].cells[1].text == ""
    pdf = convert(next(folder.glob("*调查表.docx")), "pdf", tmp_path).read_bytes()
    import re
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1  # one A4 page, as a customer gets it


def test_the_read_me_sheet_rows_fit_their_text(register):
    """Row heights follow the text (the 16 pt title overlapped the intro, whose wrapped lines were cut)."""
    from openpyxl import load_workbook
    ws = load_workbook(register)["说明"]
    assert ws.row_dimensions[1].height >= 28 and ws["A1"].font.sz == 16
    for row in ws.iter_rows(min_row=2):
        text = row[0].value or ""
        wide = sum(2 if ord(ch) > 0x2E80 else 1 for ch in str(text))
        if wide > 120:  # wraps at least once in the 110-character column
            assert ws.row_dimensions[row[0].row].height >= 30, (row[0].row, text[:20])


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_a_register_without_print_setup_gets_it_at_the_next_save(register, tmp_path, monkeypatch, store):
    """Registers made before the print set-up (or whose set-up Excel users changed) print 4 of 78
    columns a page: `check` says so, and the next save sets it up as `init` does, through either
    store — the dropdowns, the Table and the data as they were."""
    from openpyxl import load_workbook
    from openpyxl.worksheet.page import PageMargins, PrintPageSetup

    from tests.conftest import convert
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    type_rows(register, [complaint()])
    wb = load_workbook(register)
    ws = wb.worksheets[0]
    ws.page_setup = PrintPageSetup(orientation="portrait")
    ws.page_margins = PageMargins()
    ws.sheet_properties.pageSetUpPr = None
    ws.print_title_rows = None
    ws.print_title_cols = None
    wb.save(register)
    out = run("check", register, "--now", "2026-10-09T15:00").replace("\n", "")
    assert "打印设置（A4 横向、每页重复表头）" in out
    run("assign", register, "--now", "2026-10-09T15:00")
    wb = load_workbook(register)
    ws = wb.worksheets[0]
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.page_setup.fitToWidth == 3 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$1" and ws.print_title_cols == "$A:$A"
    assert ws["A2"].value == "20261009-CS-001" and len(ws.data_validations.dataValidation) > 40
    assert "打印设置" not in run("check", register, "--now", "2026-10-09T15:00")
    for other in wb.worksheets[1:]:
        wb.remove(other)
    alone = tmp_path / "alone.xlsx"
    wb.save(alone)
    pdf = convert(alone, "pdf", tmp_path).read_bytes()
    import re
    assert 1 <= len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) <= 4
