"""The register stays a proper Excel Table, whoever saved it last: after our own saves, a user's
openpyxl script, and LibreOffice (a save, and rows typed through its own API), one `assign` (or
`check --repair`) leaves a structure that passes a strict validation — on both file stores."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter as _letter
from openpyxl.worksheet.cell_range import MultiCellRange

from complaintdesk.adapters.register_structure import validated_keys
from complaintdesk.adapters.xlsxstream.sheet_xml import col_letter
from complaintdesk.domain.schema import BY_KEY
from complaintdesk.domain.schema import COLUMNS as _COLUMNS
from tests.conftest import complaint, read_rows, require_soffice, type_rows
from tests.integration.test_cli_intake import write_csv

LAST = _letter(len(_COLUMNS))  # the register's last column

ROOT = Path(__file__).resolve().parents[2]
NOW = "2026-10-12T10:00"
STORES = ["openpyxl", "fast"]
SYSTEM_PYTHON = "/usr/bin/python3"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


@pytest.fixture(params=STORES)
def store(request, monkeypatch):
    monkeypatch.setenv("COMPLAINTDESK_STORE", request.param)
    return request.param


def structure_problems(path: Path) -> list[str]:
    """Everything wrong with the register's structure, strictly: the Table over the header and every
    data row, its autoFilter = its ref, its column names = the header cells, every dropdown / guard
    column validated over every data row, the header row frozen, <dimension> = the cells written."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    width = max(i for i, v in enumerate(header, 1) if v not in (None, ""))
    last = max((r for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True), 2)
                if any(v not in (None, "") for v in values)), default=2)
    want = f"A1:{col_letter(width)}{last}"
    problems = []
    table = next(iter(ws.tables.values()))
    if table.ref != want:
        problems.append(f"table ref {table.ref} != {want}")
    if table.autoFilter is None or table.autoFilter.ref != table.ref:
        problems.append(f"autoFilter {table.autoFilter and table.autoFilter.ref} != table ref {table.ref}")
    names = [c.name for c in table.tableColumns]
    if names != [str(h) for h in header[:width]]:
        problems.append("table column names differ from the header")
    labels = {BY_KEY[k].label("zh"): k for k in validated_keys()}
    covered = MultiCellRange(" ".join(str(dv.sqref) for dv in ws.data_validations.dataValidation))
    for c, value in enumerate(header, 1):
        if value in labels and not all(f"{col_letter(c)}{r}" in covered for r in (2, last)):
            problems.append(f"dropdown of {value} does not reach row {last}")
    pane = ws.sheet_view.pane
    if pane is None or pane.state != "frozen" or not pane.ySplit:
        problems.append("header row not frozen")
    problems += _dimension_problems(path, wb.sheetnames[0])
    return problems


def _dimension_problems(path: Path, title: str) -> list[str]:
    with zipfile.ZipFile(path) as z:
        xml = z.read(_sheet_part(z, title)).decode("utf-8")
    dimension = re.search(r'<dimension ref="([^"]+)"', xml)
    rows = [int(r) for r in re.findall(r'<c r="[A-Z]+(\d+)"', xml)]
    end = dimension.group(1).split(":")[-1] if dimension else ""
    if rows and not end.endswith(str(max(rows))):
        return [f"dimension {dimension.group(1)} but cells to row {max(rows)}"]
    return []


def _sheet_part(z: zipfile.ZipFile, title: str) -> str:
    book = z.read("xl/workbook.xml").decode("utf-8")
    rid = re.search(rf'<sheet [^>]*name="{re.escape(title)}"[^>]*r:id="([^"]+)"', book).group(1)
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    return "xl/" + target.group(1).lstrip("/").removeprefix("xl/")


# ECMA-376 Part 1, 18.5.1.2 (CT_Table): the children in this order, each at most once; required
# attributes of the table and of each tableColumn (no schema validator is at hand offline: the
# content model is transcribed here and checked with ElementTree)
TABLE_CHILDREN = ["autoFilter", "sortState", "tableColumns", "tableStyleInfo", "extLst"]
TABLE_REQUIRED = {"id", "ref", "displayName"}
COLUMN_REQUIRED = {"id", "name"}
EXCEL_TABLE = ROOT / "tests" / "reference" / "excel_table1.xml"


def table_part_problems(path: Path) -> list[str]:
    """The register's Table part against CT_Table and against the shape Excel itself writes."""
    with zipfile.ZipFile(path) as z:
        ours = ET.fromstring(z.read(next(n for n in z.namelist() if n.startswith("xl/tables/"))))
    excel = ET.fromstring(EXCEL_TABLE.read_bytes())
    problems = []
    children = [_local(c.tag) for c in ours]
    if children != [t for t in TABLE_CHILDREN if t in children] or len(set(children)) != len(children):
        problems.append(f"children out of the schema's order: {children}")
    if not TABLE_REQUIRED <= set(ours.attrib):
        problems.append(f"table lacks {TABLE_REQUIRED - set(ours.attrib)}")
    columns = ours.find(f"{NS}tableColumns")
    ids = [c.get("id") for c in columns]
    if int(columns.get("count", -1)) != len(columns) or ids != [str(i) for i in range(1, len(ids) + 1)]:
        problems.append("tableColumns count/ids do not match its columns")
    if any(not COLUMN_REQUIRED <= set(c.attrib) for c in columns) or \
            len({c.get("name") for c in columns}) != len(columns):
        problems.append("a tableColumn lacks its id/name, or names repeat")
    for element in (ours, excel):  # as Excel writes it: autoFilter first, over the Table's range
        auto = element.find(f"{NS}autoFilter")
        if auto is None or auto.get("ref") != element.get("ref") or _local(element[0].tag) != "autoFilter":
            problems.append(f"autoFilter not as Excel writes it in {element.get('name')}")
    excel_order = [_local(c.tag) for c in excel]
    if [t for t in children if t in excel_order] != excel_order:
        problems.append(f"children {children} differ from Excel's {excel_order}")
    return problems


def _local(tag: str) -> str:
    return tag.split("}")[-1]


def repair_lines(path: Path) -> list[str]:
    return [r[5] for r in load_workbook(path)["变更记录"].iter_rows(min_row=2, values_only=True) if r[3] == "结构修复"]


def drift_notices(output: str) -> list[str]:
    """The drift notices `check` printed (rich wraps long lines: they are joined first)."""
    return re.findall(r"结构需要修复：[^（]*", output.replace("\n", ""))


def imported(register: Path, cli, tmp_path: Path, n: int = 4) -> Path:
    source = tmp_path / "渠道导出.csv"
    write_csv(source, [complaint(customer_name=f"客户{i}", contact=f"1390000{i:04d}", product=f"产品{i}")
                       for i in range(n)])
    cli("import", register, source, "--now", NOW)
    cli("assign", register, "--now", NOW)
    return register


def test_import_and_assign_leave_a_whole_table(register, cli, tmp_path, store):
    imported(register, cli, tmp_path)
    assert structure_problems(register) == [] and table_part_problems(register) == []
    assert load_workbook(register).worksheets[0].tables["ComplaintRegister"].ref == f"A1:{LAST}5"
    assert repair_lines(register) == []  # growing the Table over imported rows is no repair
    assert drift_notices(cli("check", register, "--now", NOW).output) == []


def test_a_user_script_drift_is_repaired_by_the_next_assign(register, cli, tmp_path, store):
    imported(register, cli, tmp_path)
    type_rows(register, [complaint(customer_name="脚本客户")])  # below the Table, as openpyxl appends
    wb = load_workbook(register)
    ws = wb.worksheets[0]
    ws.freeze_panes = None
    ws.tables["ComplaintRegister"].autoFilter.ref = f"A1:{LAST}2"  # the old bug: a filter left behind
    for dv in ws.data_validations.dataValidation:
        dv.sqref = MultiCellRange(" ".join(f"{r.coord.split(':')[0]}:{col_letter(r.min_col)}3"
                                           for r in dv.sqref.ranges))
    wb.save(register)
    before = read_rows(register)
    checked = cli("check", register, "--now", NOW).output  # a row to number is work to do, not a fault
    assert "待办：有 1 行尚未编号" in checked.replace("\n", "")
    notices = drift_notices(checked)
    assert len(notices) == 1 and f"表格范围 A1:{LAST}6" in notices[0] and "冻结首行" in notices[0]

    out = cli("assign", register, "--now", NOW).output
    assert f"结构修复：表格范围 A1:{LAST}6，筛选范围 A1:{LAST}6，下拉" in out
    assert structure_problems(register) == []
    lines = repair_lines(register)
    assert len(lines) == 1 and lines[0].startswith(f"结构修复：表格范围 A1:{LAST}6") and lines[0].endswith("冻结首行")
    after = read_rows(register)
    assert [r["customer_name"] for r in after] == [r["customer_name"] for r in before]
    assert after[-1]["complaint_no"]  # the typed row was numbered as well
    assert drift_notices(cli("check", register, "--now", NOW).output) == []


def test_check_repair_changes_the_structure_alone(register, cli, tmp_path, store):
    imported(register, cli, tmp_path)
    type_rows(register, [complaint(customer_name="脚本客户")])
    before = read_rows(register)
    out = cli("check", register, "--repair", "--now", NOW).output
    assert "结构修复完成：结构修复项 1" in out and f"结构修复：表格范围 A1:{LAST}6" in out
    assert structure_problems(register) == []
    assert read_rows(register) == before  # the typed row is in the Table, still unnumbered: no value changed
    again = cli("check", register, "--repair", "--now", NOW).output
    assert "没有需要更改的内容" in again and len(repair_lines(register)) == 1


def uno_python() -> str:
    """The system python with LibreOffice's UNO bridge (python3-uno), to type rows through LibreOffice."""
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True) \
        if os.path.exists(SYSTEM_PYTHON) else None
    if probe is None or probe.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("python3-uno is required in CI (.ci/run installs it)")
        pytest.skip("LibreOffice's python bridge (python3-uno) is not installed on this machine")
    return SYSTEM_PYTHON


def type_in_libreoffice(path: Path, rows: list[dict], workdir: Path) -> None:
    """Open the register in LibreOffice, type the rows below the last one through its API, save as .xlsx."""
    soffice, python = require_soffice(), uno_python()
    rows_file = workdir / "rows.json"
    labelled = [{BY_KEY[k].label("zh"): (v.strftime("%Y-%m-%d %H:%M") if hasattr(v, "strftime") else v)
                 for k, v in row.items()} for row in rows]
    rows_file.write_text(json.dumps(labelled, ensure_ascii=False), encoding="utf-8")
    subprocess.run([python, str(ROOT / "tests" / "lo_typing.py"), shutil.which(soffice) or soffice,
                    str(workdir / "lo-typing-profile"), str(path), str(rows_file)],
                   check=True, capture_output=True, timeout=240)


def test_libreoffice_round_trip_with_two_rows_typed_below(register, cli, tmp_path, store):
    imported(register, cli, tmp_path)
    type_in_libreoffice(register, [complaint(customer_name="王五", contact="13911110000"),
                                   complaint(customer_name="赵六", contact="13922220000")], tmp_path)
    drifted = structure_problems(register)
    assert any(f"table ref A1:{LAST}5" in p for p in drifted) and "header row not frozen" in drifted
    notices = drift_notices(cli("check", register, "--now", NOW).output)  # two rows to number: exit 0
    assert len(notices) == 1 and f"表格范围 A1:{LAST}7" in notices[0] and "表格样式" in notices[0]

    cli("assign", register, "--now", NOW)
    assert structure_problems(register) == [] and table_part_problems(register) == []
    ws = load_workbook(register).worksheets[0]
    assert ws.tables["ComplaintRegister"].ref == ws.tables["ComplaintRegister"].autoFilter.ref == f"A1:{LAST}7"
    rows = read_rows(register)
    assert [r["customer_name"] for r in rows[-2:]] == ["王五", "赵六"] and all(r["complaint_no"] for r in rows)
    assert drift_notices(cli("check", register, "--now", NOW).output) == []


def test_empty_rows_a_spreadsheet_saved_after_the_data_are_not_rows(register, cli, tmp_path, store):
    """LibreOffice saves ~1,000 empty styled rows after the data: an import puts its rows right after
    the data on both stores (the streaming store leaves the empty ones out), never after a hole."""
    from tests.conftest import convert
    imported(register, cli, tmp_path)
    saved = convert(register, "xlsx", tmp_path / "lo")
    with zipfile.ZipFile(saved) as z:
        assert max(int(r) for r in re.findall(rb'<row r="(\d+)"', z.read("xl/worksheets/sheet1.xml"))) > 1000
    source = tmp_path / "more.csv"
    write_csv(source, [complaint(customer_name="新客户", contact="13955556666")])
    cli("import", saved, source, "--now", NOW)
    cli("assign", saved, "--now", NOW)
    ws = load_workbook(saved).worksheets[0]
    column = {c.value: c.column for c in ws[1]}[BY_KEY["customer_name"].label("zh")]
    names = [ws.cell(r, column).value for r in range(2, 8)]
    assert names == ["客户0", "客户1", "客户2", "客户3", "新客户", None]
    assert ws.tables["ComplaintRegister"].ref == f"A1:{LAST}6"
    assert structure_problems(saved) == []


def test_a_note_far_right_below_the_data_is_no_empty_row(register, cli, tmp_path, monkeypatch):
    """A value in a column without a header, below the data, is kept: new rows go after it."""
    from tests.conftest import convert
    imported(register, cli, tmp_path)
    wb = load_workbook(register)
    wb.worksheets[0].cell(9, 80, "主管备注：本周复盘")  # column CB, no header; row 9
    wb.save(register)
    saved = convert(register, "xlsx", tmp_path / "lo")  # and ~1,000 empty rows after it
    source = tmp_path / "more.csv"
    write_csv(source, [complaint(customer_name="新客户", contact="13955556666")])
    monkeypatch.setenv("COMPLAINTDESK_STORE", "fast")
    cli("import", saved, source, "--now", NOW)
    ws = load_workbook(saved).worksheets[0]
    assert ws.cell(9, 80).value == "主管备注：本周复盘"
    column = {c.value: c.column for c in ws[1]}[BY_KEY["customer_name"].label("zh")]
    assert ws.cell(10, column).value == "新客户"
