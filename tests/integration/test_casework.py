"""Documents, communication log, survey import, callbacks, case library, closure — through the CLI."""
import json
from datetime import datetime

from docx import Document

from tests.conftest import complaint, convert, read_rows, type_rows

DONE = dict(first_response_at=datetime(2026, 10, 9, 15), plan_measures="换新", plan_reviewed_by="王主管",
            plan_deadline=datetime(2026, 10, 10, 12), resolved_at=datetime(2026, 10, 10, 10),
            resolution_type="换货", responsibility="商家", customer_agrees="是",
            confirmed_at=datetime(2026, 10, 10, 16))


def setup(register, cli, **extra):
    type_rows(register, [complaint(customer_name="欧阳娜娜", contact="13812341234",
                                   description="<script>alert(1)</script> 内胆脱落", **extra)])
    cli("assign", register, "--now", "2026-10-12T09:00")
    return read_rows(register)[0]["complaint_no"]


def test_every_document_in_html_and_docx(register, cli, tmp_path):
    number = setup(register, cli, **DONE)
    out = tmp_path / "docs"
    cli("docs", register, number, "--out", out, "--now", "2026-10-12T09:00")
    cli("docs", register, number, "--out", out, "--format", "docx", "--now", "2026-10-12T09:00")
    html = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.html")}
    assert len(html) == 4 and all(name.startswith(number) for name in html)
    assignment = html[f"{number}_投诉任务分配记录表.html"]
    assert "欧阳**" in assignment and "138****1234" in assignment and "13812341234" not in assignment
    assert "&lt;script&gt;" in assignment and "<script>" not in assignment
    assert "售后部" in assignment and "孙强" in assignment and "脱敏" in assignment
    survey = html[f"{number}_客户投诉满意度调查表.html"]
    assert "欧阳娜娜" in survey and "处理效率" in survey and "5 非常满意" in survey
    confirmation = html[f"{number}_客户结果确认表.html"]
    assert "13812341234" in confirmation and "换货" in confirmation
    for path in out.glob("*.docx"):
        text = "\n".join(p.text for p in Document(path).paragraphs)
        cells = "\n".join(c.text for t in Document(path).tables for r in t.rows for c in r.cells)
        assert number in text + cells
    plan = Document(out / f"{number}_投诉处理方案表.docx")
    cells = "\n".join(c.text for t in plan.tables for r in t.rows for c in r.cells)
    assert "欧阳**" in cells and "换新" in cells and "<script>" in cells  # plain text, no markup
    unmasked = tmp_path / "unmasked"
    cli("docs", register, number, "--kind", "assignment", "--out", unmasked, "--unmasked")
    assert "欧阳娜娜" in next(unmasked.glob("*.html")).read_text(encoding="utf-8")


def test_english_documents(register, cli, tmp_path):
    number = setup(register, cli)
    cli("docs", register, number, "--kind", "assignment", "--lang", "en", "--out", tmp_path)
    text = (tmp_path / f"{number}_assignment.html").read_text(encoding="utf-8")
    assert "Complaint Assignment Record" in text and "欧阳**" in text


def test_documents_render_as_pdf(register, cli, tmp_path):
    number = setup(register, cli, **DONE)
    cli("docs", register, number, "--kind", "plan", "--out", tmp_path)
    cli("docs", register, number, "--kind", "survey", "--format", "docx", "--out", tmp_path)
    for path in (tmp_path / f"{number}_投诉处理方案表.html", tmp_path / f"{number}_客户投诉满意度调查表.docx"):
        pdf = convert(path, "pdf", tmp_path)
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000


def test_all_due_issues_surveys_and_records_sent_time(register, cli, tmp_path):
    number = setup(register, cli, **DONE)
    out = cli("docs", register, "--all-due", "--kind", "survey", "--out", tmp_path, "--now", "2026-10-12T10:00")
    assert "文档 1" in out.output
    row = read_rows(register)[0]
    assert row["survey_sent_at"] == datetime(2026, 10, 12, 10, 0)
    assert read_rows(register)[0]["plan_measures"] == "换新"
    out = cli("docs", register, "--all-due", "--kind", "survey", "--out", tmp_path, "--now", "2026-10-12T11:00")
    assert "没有需要更改的内容" in out.output                       # issued once, not again
    assert read_rows(register)[0]["survey_sent_at"] == datetime(2026, 10, 12, 10, 0)
    assert (tmp_path / f"{number}_客户投诉满意度调查表.html").exists()


def test_log_appends_and_fills_last_update(register, cli):
    number = setup(register, cli, first_response_at=datetime(2026, 10, 9, 15))
    cli("log", register, number, "--content", "已告知退货单号 SF123", "--next-step", "等待取件",
        "--now", "2026-10-10T09:00")
    from openpyxl import load_workbook
    comms = list(load_workbook(register)["沟通记录"].iter_rows(min_row=2, values_only=True))
    assert comms == [(number, datetime(2026, 10, 10, 9), "电话", "命令行", "已告知退货单号 SF123", "等待取件")]
    row = read_rows(register)[0]
    assert row["last_update_at"] == datetime(2026, 10, 10, 9)
    assert row["next_update_due"] == datetime(2026, 10, 11, 9)
    cli("log", register, "20991231-XX-001", "--content", "x", code=2)


def test_survey_import_callbacks_and_closure(register, cli, tmp_path):
    number = setup(register, cli, **DONE, case_library="是")
    cli("docs", register, "--all-due", "--kind", "survey", "--out", tmp_path, "--now", "2026-10-12T10:00")
    src = tmp_path / "surveys.csv"
    src.write_text("投诉编号,处理效率,服务态度,解决方案,意见\n"
                   f"{number},5,2,4,态度一般\n"
                   f"{number},5,5,5,重复\n"
                   "20990101-CS-001,5,5,5,\n"
                   "20261009-CS-999,7,5,5,\n", encoding="utf-8")
    out = cli("surveys", "import", register, src, "--now", "2026-10-13T09:00")
    assert "回访结果 1" in out.output and "需主管回访 1" in out.output
    assert "第 3 行" in out.output and "第 4 行" in out.output
    row = read_rows(register)[0]
    assert (row["score_efficiency"], row["score_attitude"], row["score_solution"]) == (5, 2, 4)
    assert row["callback_required"] == "是" and row["status"] == "待回访"
    out = cli("sla", register, "--now", "2026-10-13T09:30")
    from openpyxl import load_workbook
    wb = load_workbook(register)
    alerts = list(wb["预警"].iter_rows(min_row=2, values_only=True))
    assert any(a[0] == number and a[1] == "主管回访" for a in alerts)
    cases = list(wb["案例库"].iter_rows(min_row=2, values_only=True))
    assert cases[0][0] == number and cases[0][-1] == "欧阳**"
    type_callback = load_workbook(register)
    ws = type_callback["投诉登记"]
    headers = {c.value: c.column for c in ws[1]}
    ws.cell(2, headers["主管回访时间"], datetime(2026, 10, 13, 15))
    ws.cell(2, headers["回访记录"], "已致歉")
    type_callback.save(register)
    cli("sla", register, "--now", "2026-10-13T16:00")
    row = read_rows(register)[0]
    assert row["status"] == "已关闭" and row["closed_at"] == datetime(2026, 10, 13, 16)
    data = json.loads(cli("export", register).stdout)
    assert data[0]["status"] == "closed" and data[0]["callback_required"] is True


def test_reply_prints_a_short_message_and_records_it(register, cli):
    number = setup(register, cli)
    out = cli("reply", register, number.lower(), "--now", "2026-10-09T15:00").output
    assert f"编号 {number}" in out and "已受理" in out
    assert "10月9日 22:30 前与您联系" in out and "10月19日 14:30 前给出处理结果" in out  # P2: 8 h, 7 working days
    assert "回复已生成并记入沟通记录" in out
    from openpyxl import load_workbook
    comms = list(load_workbook(register)["沟通记录"].iter_rows(min_row=2, values_only=True))
    assert len(comms) == 1 and comms[0][0] == number and comms[0][2] == "短信" and "已受理" in comms[0][4]
    assert len(comms[0][4]) <= 140
    assert "未知的回复类型" in cli("reply", register, number, "--kind", "xyz", code=2).output
    assert "找不到投诉编号" in cli("reply", register, "20991231-XX-001", code=2).output
    assert len(list(load_workbook(register)["沟通记录"].iter_rows(min_row=2))) == 1  # nothing more recorded
