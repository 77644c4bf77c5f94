"""No lost row, no broken file, no leaked data: crash, concurrency, injection, hostile files, check, restore."""
import json
import os
import random
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter as _letter

from complaintdesk.domain.schema import COLUMNS as _COLUMNS
from tests.conftest import complaint, convert, kill_after, read_rows, type_rows

LAST = _letter(len(_COLUMNS))  # the register's last column

EXE = [sys.executable, "-m", "complaintdesk.entrypoints.cli"]
PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


def many(n, start=datetime(2026, 10, 1, 9)):
    return [complaint(received_at=start + timedelta(hours=3 * i), contact=f"139{i:08d}") for i in range(n)]


def test_sigkill_during_saves_never_breaks_the_register(register, cli):
    type_rows(register, many(120))
    cli("assign", register, "--now", "2026-10-01T09:00")
    numbers = sorted(r["complaint_no"] for r in read_rows(register))
    rng = random.Random(7)
    killed = 0
    for i in range(30):
        now = (datetime(2026, 10, 1, 10) + timedelta(hours=7 * i)).isoformat()
        proc = subprocess.Popen(EXE + ["sla", str(register), "--now", now],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killed += kill_after(proc, rng.uniform(0.3, 2.5))
        rows = read_rows(register)  # opens, every time
        assert sorted(r["complaint_no"] for r in rows) == numbers
        assert all(r["description"] == "内胆涂层脱落" for r in rows)
    assert killed >= 5
    cli("check", register, "--now", "2026-10-30T10:00", code=0)


def test_racing_writers_lose_no_change(register, cli):
    type_rows(register, [complaint()])
    cli("assign", register, "--now", "2026-10-09T15:00")
    number = read_rows(register)[0]["complaint_no"]
    script = ("import sys, subprocess\n"
              "for i in range(int(sys.argv[2])):\n"
              "    subprocess.run(sys.argv[3:] + ['--content', f'{sys.argv[1]}-{i}'], check=True,"
              " stdout=subprocess.DEVNULL)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, who, "12", *EXE, "log", str(register), number,
                               "--now", "2026-10-10T09:00"]) for who in ("button", "scheduler")]
    sla = subprocess.Popen([sys.executable, "-c", "import subprocess,sys\nfor i in range(6): subprocess.run("
                            f"{EXE!r} + ['sla', {str(register)!r}, '--now', '2026-10-10T1%d:00' % i], check=True,"
                            " stdout=subprocess.DEVNULL)"])
    assert all(p.wait(timeout=300) == 0 for p in procs + [sla])
    comms = [r[4] for r in load_workbook(register)["沟通记录"].iter_rows(min_row=2, values_only=True)]
    assert sorted(comms) == sorted([f"button-{i}" for i in range(12)] + [f"scheduler-{i}" for i in range(12)])
    assert len(read_rows(register)) == 1


def test_formula_payloads_stay_text_everywhere(register, cli, tmp_path):
    src = tmp_path / "payloads.csv"
    lines = ["接收时间,客户姓名/昵称,联系方式,问题描述,投诉类别,备注"]
    for i, p in enumerate(PAYLOADS):
        q = p.replace('"', '""')
        lines.append(f'2026-10-09 1{i}:00,"{q}",1390000000{i},"{q}",产品质量,"{q}"')
    src.write_text("\n".join(lines), encoding="utf-8")
    cli("import", register, src)
    cli("assign", register, "--now", "2026-10-09T20:00")
    ws = load_workbook(register)["投诉登记"]
    headers = {c.value: c.column for c in ws[1]}
    for r in range(2, 2 + len(PAYLOADS)):
        cell = ws.cell(r, headers["问题描述"])
        assert cell.data_type == "s" and cell.value in PAYLOADS
    out = convert(register, "csv", tmp_path)   # LibreOffice shows the literal text, nothing evaluated
    text = out.read_text(encoding="utf-8")
    assert "=HYPERLINK" in text and "@SUM(A1)" in text
    csv = tmp_path / "e.csv"
    cli("export", register, "--format", "csv", "--out", csv)
    body = csv.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in body and "'+1+1" in body and "'@SUM(A1)" in body
    report = tmp_path / "r.xlsx"
    cli("report", register, "--month", "2026-10", "--out", report)
    details = load_workbook(report)["明细"]
    for row in details.iter_rows(min_row=2):
        assert all(c.data_type != "f" for c in row)
    docs = tmp_path / "docs"
    cli("docs", register, "--all-due", "--kind", "assignment", "--out", docs, "--unmasked")  # names = payloads
    html = " ".join(p.read_text(encoding="utf-8") for p in docs.glob("*.html"))
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in html or "=HYPERLINK(&quot;" in html


def test_backup_and_restore_round_trip(register, cli):
    type_rows(register, [complaint()])
    first = register.read_bytes()
    cli("assign", register, "--now", "2026-10-09T15:00")
    assert read_rows(register)[0]["complaint_no"]
    listing = cli("restore", register, "--list").output
    assert "1. " in listing
    cli("restore", register, "--backup", "1")
    assert register.read_bytes() == first and read_rows(register)[0]["complaint_no"] is None
    cli("restore", register, "--backup", "99", code=2)


def test_backups_rotate(register, cli):
    type_rows(register, [complaint(received_at=datetime(2026, 10, 9, 9))])
    cli("assign", register, "--now", "2026-10-09T09:00")
    for day in range(10, 20):                                       # states change every day: a save each time
        cli("sla", register, "--now", f"2026-10-{day}T10:00")
    assert 1 <= len(list((register.parent / ".bak").iterdir())) <= 5


def test_check_catches_corruptions(register, cli):
    type_rows(register, [complaint(), complaint(contact="13900000000")])
    cli("assign", register, "--now", "2026-10-09T15:00")
    cli("check", register, "--now", "2026-10-09T15:00")
    wb = load_workbook(register)
    ws = wb["投诉登记"]
    headers = {c.value: c.column for c in ws[1]}
    ws.cell(3, headers["优先级"], "P0")                          # someone typed into a grey column
    wb.save(register)
    out = cli("check", register, "--now", "2026-10-09T15:00", code=1).output
    assert "3：优先级为“P0”，按当前规则应为“P2”" in out
    ws.cell(3, headers["投诉编号"], ws.cell(2, headers["投诉编号"]).value)  # duplicate number
    wb.save(register)
    out = cli("check", register, code=1).output
    assert "重复" in out and "A2" in out and "A3" in out
    wb["编号计数"]["B2"] = 0                                        # broken counter
    ws.cell(1, headers["受理人"], "处理部门")                       # duplicated header
    wb.save(register)
    assert "出现两次" in cli("check", register, code=1).output
    wb["投诉登记"].title = "登记"                                   # renamed sheet
    wb.save(register)
    assert "缺少“投诉登记”工作表" in cli("check", register, code=1).output
    assert "缺少“投诉登记”工作表" in cli("assign", register, code=2).output


def test_broken_counter_is_repaired_not_reused(register, cli):
    type_rows(register, [complaint()])
    cli("assign", register, "--now", "2026-10-09T15:00")
    wb = load_workbook(register)
    wb["编号计数"]["B2"] = 0
    wb.save(register)
    assert "最大流水号小于" in cli("check", register, code=1).output
    type_rows(register, [complaint(contact="13900000000")])
    cli("assign", register, "--now", "2026-10-09T15:00")
    assert [r["complaint_no"] for r in read_rows(register)] == ["20261009-CS-001", "20261009-CS-002"]


def _rewrite(path, changes):
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, changes.pop(item.filename, data))
        for name, data in changes.items():
            dst.writestr(name, data)
    os.replace(tmp, path)


def test_zip_bomb_is_refused(register, cli):
    _rewrite(register, {"xl/media/bomb.bin": b"\0" * 60_000_000})
    assert "压缩炸弹" in cli("assign", register, code=2).output


def test_xml_entities_are_refused(register, cli):
    with zipfile.ZipFile(register) as z:
        xml = z.read("xl/workbook.xml").decode()
    evil = xml.replace("<workbook", '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><workbook', 1)
    evil = evil.replace('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', "", 1)
    _rewrite(register, {"xl/workbook.xml": evil.encode()})
    out = cli("assign", register, code=2).output
    assert "XML 实体" in out


def test_external_links_and_macros_are_reported_not_run(register, cli):
    type_rows(register, [complaint()])
    _rewrite(register, {"xl/externalLinks/externalLink1.xml": b"<externalLink/>", "xl/vbaProject.bin": b"x"})
    out = cli("check", register, "--now", "2026-10-09T15:00", code=0).output  # notices and 待办: no fault
    assert "外部链接" in out and "宏" in out
    cli("assign", register, "--now", "2026-10-09T15:00")


def test_phantom_dimension_is_harmless(register, cli):
    type_rows(register, [complaint()])
    with zipfile.ZipFile(register) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    import re
    xml = re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:XFD1048576"', xml)
    _rewrite(register, {"xl/worksheets/sheet1.xml": xml.encode()})
    started = time.monotonic()
    cli("assign", register, "--now", "2026-10-09T15:00")
    assert read_rows(register)[0]["complaint_no"] == "20261009-CS-001"
    assert time.monotonic() - started < 60


def test_not_a_workbook(tmp_path, cli):
    bad = tmp_path / "x.xlsx"
    bad.write_bytes(b"\xd0\xcf\x11\xe0" + b"0" * 100)
    assert "加密" in cli("assign", bad, code=2).output
    bad.write_text("hello")
    assert "不是有效的 Excel" in cli("assign", bad, code=2).output


def test_a_register_that_is_not_there_leaves_nothing_behind(tmp_path, cli):
    missing = tmp_path / "子目录" / "登记表.xlsx"
    for command in (["assign", missing], ["export", missing, "--out", tmp_path / "e.json"]):
        assert "找不到登记表文件" in cli(*command, code=2).output
    assert list(tmp_path.iterdir()) == []  # no folder, no lock file, no output


def test_logs_and_mail_bodies_carry_no_customer_data(register, cli):
    type_rows(register, [complaint(contact="13812341234", customer_name="张伟")])
    cli("assign", register, "--now", "2026-10-09T15:00")
    audit = json.dumps([list(r) for r in load_workbook(register)["变更记录"].iter_rows(values_only=True)],
                       default=str, ensure_ascii=False)
    assert "13812341234" not in audit and "张伟" not in audit


def test_one_stray_cell_at_the_end_of_the_sheet_is_no_hang(register, cli, monkeypatch):
    """A value at XFD1048576 made the openpyxl store walk 17 billion cells: now only the cells there are."""
    type_rows(register, [complaint()])
    wb = load_workbook(register)
    wb.worksheets[0]["XFD1048576"] = "x"
    wb["设置"]["XFD1048576"] = "x"
    wb.save(register)
    for store in ("openpyxl", "fast"):
        monkeypatch.setenv("COMPLAINTDESK_STORE", store)
        started = time.monotonic()
        cli("assign", register, "--now", "2026-10-09T15:00")
        cli("sla", register, "--now", "2026-10-09T16:00")
        assert time.monotonic() - started < 120  # a hang guard (it ran for minutes), not a benchmark
    ws = load_workbook(register).worksheets[0]  # (read cell by cell: walking this sheet is what hung)
    assert ws["A2"].value == "20261009-CS-001" and ws["A1"].value == "投诉编号"
    assert ws["XFD1048576"].value == "x" and ws.tables["ComplaintRegister"].ref == f"A1:{LAST}2"


def test_an_import_below_a_stray_value_in_the_last_row_names_it(register, cli, monkeypatch, tmp_path):
    """Rows go after the last row holding a value; when that is row 1,048,576 (a value typed or pasted
    far below the data), the refusal names the cell so the user can find and delete it."""
    wb = load_workbook(register)
    wb.worksheets[0]["E1048576"] = "张三"
    wb.save(register)
    source = tmp_path / "渠道.csv"
    source.write_text("接收时间,接收渠道,诉求类型,客户姓名/昵称,联系方式,问题描述\n"
                      "2026-10-09 10:00,电话,投诉,李四,13812341234,坏了\n", encoding="utf-8")
    before = register.read_bytes()
    for store in ("openpyxl", "fast"):
        monkeypatch.setenv("COMPLAINTDESK_STORE", store)
        out = cli("import", register, source, code=2).output.replace("\n", "")
        assert "E1048576（客户姓名/昵称）" in out and "张三" not in out and "未导入任何行" in out, out
    assert register.read_bytes() == before
