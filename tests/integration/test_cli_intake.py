"""import → assign → export through the real CLI on real files."""
import csv
import json
import zipfile
from datetime import datetime

from openpyxl import Workbook, load_workbook

from complaintdesk.domain.schema import BY_KEY
from tests.conftest import complaint, read_rows, type_rows


def write_csv(path, rows, encoding="utf-8", labels=True):
    keys = list(rows[0])
    with open(path, "w", encoding=encoding, newline="") as handle:
        w = csv.writer(handle)
        w.writerow([BY_KEY[k].zh if labels else k for k in keys])
        for r in rows:
            w.writerow([v.strftime("%Y/%m/%d %H:%M") if isinstance(v, datetime) else v for v in r.values()])


def sheet_xml(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")}


def test_import_assign_export_in_three_encodings(register, cli, tmp_path):
    rows = [complaint(customer_name="张伟"), complaint(customer_name="欧阳娜娜", contact="13900000000",
                                                   category="物流履约", safety_risk="是")]
    for i, enc in enumerate(("utf-8", "utf-8-sig", "gbk")):
        src = tmp_path / f"src{i}.csv"  # the same customers again, each time about another matter
        again = [dict(r, description=f"{r['description']}（第 {i + 1} 次）") for r in rows]
        write_csv(src, again, enc, labels=(i != 1))
        out = cli("import", register, src)
        assert "导入行 2" in out.output
    out = cli("assign", register, "--now", "2026-10-09T15:00")
    assert "新编号 6" in out.output
    data = json.loads(cli("export", register).stdout)
    assert len(data) == 6
    assert {d["customer_name"] for d in data} == {"张伟", "欧阳娜娜"}
    urgent = [d for d in data if d["priority"] == "P0"]
    assert len(urgent) == 3 and all(d["urgency"] == "urgent" and d["department"] == "仓储物流部" for d in urgent)
    assert data[0]["received_at"] == "2026-10-09T14:30:00" and data[0]["safety_risk"] is False
    assert data[0]["status"] == "registered" and data[0]["response_status"] == "open"
    assert data[1]["is_repeat"] is False and data[3]["is_repeat"] is True  # same customer and category
    assert data[3]["related_nos"] == data[1]["complaint_no"]
    assert data[4]["related_nos"] == data[0]["complaint_no"] + "、" + data[2]["complaint_no"]


def test_rerun_is_byte_identical(register, cli):
    type_rows(register, [complaint(), complaint(contact="13900000000")])
    cli("assign", register, "--now", "2026-10-09T15:00")
    before = sheet_xml(register)
    audit_rows = load_workbook(register)["变更记录"].max_row
    out = cli("assign", register, "--now", "2026-10-09T15:00")
    assert "没有需要更改的内容" in out.output or "写入单元格 0" in out.output
    assert sheet_xml(register) == before
    assert load_workbook(register)["变更记录"].max_row == audit_rows


def test_xlsx_source_with_reordered_and_unknown_columns(register, cli, tmp_path):
    src = tmp_path / "old.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["备注", "Description", "contact", "接收时间", "投诉类别", "我的列", "complaint_no"])
    ws.append(["旧系统", "屏幕碎了", "13800001111", datetime(2026, 10, 1, 9), "产品质量", "x", "20261001-CS-007"])
    ws.append(["", "又坏了", "13800001111", "2026年10月5日 10:00", "产品质量", "y", None])
    wb.save(src)
    out = cli("import", register, src)
    assert "未识别的列“我的列”" in out.output and "导入行 2" in out.output
    cli("assign", register, "--now", "2026-10-05T11:00")
    rows = read_rows(register)
    assert rows[0]["complaint_no"] == "20261001-CS-007" and rows[0]["remarks"] == "旧系统"
    assert rows[1]["complaint_no"] == "20261005-CS-001" and rows[1]["is_repeat"] == "是"
    assert "已经导入过" in cli("import", register, src).output  # the same lines again: nothing twice
    ws.append(["", "另一件事", "13800002222", datetime(2026, 10, 6, 9), "产品质量", "z", "20261001-CS-007"])
    wb.save(src)
    assert "投诉编号 20261001-CS-007 已存在" in cli("import", register, src).output  # never a number twice


def test_staff_reorder_and_add_columns(register, cli):
    wb = load_workbook(register)
    ws = wb["投诉登记"]
    ws.move_range("B1:B3", cols=70)     # move 接收时间 to the far right
    ws.cell(1, 200, "我的备注")
    ws.cell(2, 200, "保留")
    wb.save(register)
    type_rows(register, [complaint()])
    cli("assign", register, "--now", "2026-10-09T15:00")
    ws = load_workbook(register)["投诉登记"]
    headers = {c.value: c.column for c in ws[1] if c.value}
    last = ws.max_row
    assert ws.cell(last, headers["投诉编号"]).value == "20261009-CS-001"
    assert ws.cell(2, 200).value == "保留"


def test_english_headers(tmp_path, cli):
    path = tmp_path / "en.xlsx"
    cli("init", path, "--lang", "en")
    type_rows(path, [complaint()], lang="en")
    cli("assign", path, "--now", "2026-10-09T15:00")
    row = read_rows(path)[0]
    assert row["complaint_no"] == "20261009-CS-001" and row["status"] == "Registered"


def test_garbage_cells_never_crash_or_lose_rows(register, cli):
    type_rows(register, [
        complaint(received_at="昨天", description="x" * 10000),
        complaint(received_at=123456789012, customer_name=42, description="😀" * 50),
        complaint(received_at=datetime(2026, 10, 9, 9), contact="=cmd|' /C calc'!A0", category="=1+1"),
        complaint(received_at=datetime(2026, 10, 9, 10), cost="很多", score_solution=9, safety_risk="也许"),
    ])
    wb = load_workbook(register)
    wb["投诉登记"].merge_cells("M6:N6")
    wb.save(register)
    out = cli("assign", register, "--now", "2026-10-09T15:00")
    rows = read_rows(register)
    assert len(rows) == 4
    assert rows[0]["complaint_no"] is None and "无法识别的时间：昨天" in rows[0]["validation"]
    assert rows[1]["complaint_no"] is None
    assert rows[2]["complaint_no"] and "不在分类表中" in rows[2]["validation"]
    assert rows[2]["contact"] == "=cmd|' /C calc'!A0"
    assert "金额无法识别" in rows[3]["validation"] and "评分应为" in rows[3]["validation"]
    assert "第 2 行" in out.output


def test_a_held_file_is_never_written_and_its_assign_waits(register, cli):
    """Excel holds the register: assign shows what it will do, queues it, and the file's bytes stay;
    once the file is free the next command numbers the row — once."""
    from complaintdesk.adapters.holder import excel_owner_bytes
    type_rows(register, [complaint()])
    before = register.read_bytes()
    owner = register.parent / ("~$" + register.name)
    owner.write_bytes(excel_owner_bytes("王芳"))
    out = cli("assign", register, "--now", "2026-10-12T10:00")
    assert "王芳 在 Excel/WPS 中打开" in out.output and "已排队" in out.output
    assert register.read_bytes() == before
    owner.unlink()
    out = cli("sla", register, "--now", "2026-10-12T10:05")
    assert "已写入登记表打开期间排队的 1 项更改" in out.output
    rows = read_rows(register)
    assert rows[0]["complaint_no"] == "20261009-CS-001"
    audit = [r for r in load_workbook(register)["变更记录"].iter_rows(values_only=True) if r[3] == "待写入更改"]
    assert len(audit) == 1 and "2026-10-12 10:00 提交" in audit[0][4] and "2026-10-12 10:05 写入" in audit[0][5]
    cli("assign", register, "--now", "2026-10-12T10:10")
    assert len(read_rows(register)) == 1 and not list((register.parent / f".{register.name}.pending").glob("*.json"))


def test_rule_conflict_leaves_file_untouched(register, cli):
    wb = load_workbook(register)
    ws = wb["设置"]
    ws["E3"] = "ZZ"  # 产品质量 -> unknown department
    wb.save(register)
    type_rows(register, [complaint()])
    before = register.read_bytes()
    out = cli("assign", register, code=2)
    assert "设置!D3" in out.output and "ZZ" in out.output
    assert register.read_bytes() == before


def test_export_csv_is_injection_safe_and_masked(register, cli, tmp_path):
    type_rows(register, [complaint(description="=HYPERLINK(\"http://x\",\"y\")", customer_name="张小明")])
    cli("assign", register, "--now", "2026-10-09T15:00")
    out = tmp_path / "e.csv"
    cli("export", register, "--format", "csv", "--out", out, "--masked")
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and "张**" in text and "138****1234" in text and "13812341234" not in text


def test_export_csv_quotes_line_breaks_and_sees_through_invisible_characters(register, cli, tmp_path):
    texts = {"description": "第一行\r=1+1 after a bare CR", "demand": "\ufeff=1+1",
             "product": "\u200b@SUM(A1)", "remarks": "＝HYPERLINK(\"x\")", "location": "换行\n之后"}
    type_rows(register, [complaint(**texts)])
    out = tmp_path / "e.csv"
    cli("export", register, "--format", "csv", "--out", out)
    raw = out.read_bytes().decode("utf-8-sig")
    with open(out, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1  # the CR and the LF stayed inside their quoted fields
    row = rows[0]
    assert row["description"] == "第一行\r=1+1 after a bare CR" and row["location"] == "换行\n之后"
    assert row["demand"] == "'\ufeff=1+1" and row["product"] == "'\u200b@SUM(A1)" and row["remarks"].startswith("'＝")
    assert raw.count("\r\n") == 2 and raw.endswith("\r\n")  # header and row, as Excel writes CSV


def test_importing_the_same_lines_again_adds_nothing_twice(register, cli, tmp_path):
    """A rerun after a crash (the rows were saved, the user saw no success), or a re-downloaded export
    holding yesterday's lines too: each source line is imported once, by its content."""
    src = tmp_path / "export.csv"
    write_csv(src, [complaint(), complaint(contact="13900000000")])
    assert "导入行 2" in cli("import", register, src).output
    again = cli("import", register, src).output.replace("\n", "")
    assert "已经导入过（export.csv 第 2 行）" in again and "跳过行 2" in again
    write_csv(src, [complaint(), complaint(contact="13900000000"), complaint(contact="13700000000")])
    assert "导入行 1" in cli("import", register, src).output
    assert len(read_rows(register)) == 3
