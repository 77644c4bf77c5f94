"""Excel front end on Linux: registry ↔ ribbon ↔ VBA, the built .xlsm, and every button against a fake book."""
import zipfile
from datetime import datetime
from xml.etree import ElementTree as ET

import pytest
import xlwings as xw
from openpyxl import load_workbook

from complaintdesk.domain.schema import AUTOMATION_KEYS
from complaintdesk.entrypoints import excel
from complaintdesk.entrypoints.actions import ACTIONS, BY_TAG
from complaintdesk.entrypoints.ribbon import ribbon_source, vba_module
from complaintdesk.services.frontend import generated_files
from tests.conftest import complaint, convert, read_rows, type_rows
from tests.fakebook import FakeBook

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
NS = {"c": "http://schemas.microsoft.com/office/2006/01/customui"}


def test_every_button_has_an_action_and_back():
    ui = ET.fromstring(generated_files(ribbon_source())["workbook/customUI.xml"].encode("utf-8"))
    buttons = ui.findall(".//c:button", NS)
    assert {b.get("tag") for b in buttons} == set(BY_TAG)
    assert len({b.get("id") for b in buttons}) == len(buttons)
    assert all(b.get("onAction") == "CD_OnAction" and b.get("imageMso") for b in buttons)
    assert ui.find(".//c:tab", NS).get("label") == "投诉管理"
    labels = {b.get("label") for b in buttons}
    assert labels == {"登记编号", "刷新时效", "生成文档", "导入回访", "记录沟通", "合并重复", "月度报告", "归档",
                      "查询", "设置说明"}
    vba = vba_module()
    assert "Public Sub CD_OnAction(control As IRibbonControl)" in vba
    for action in ACTIONS:
        if action.prompt != "none":
            assert f'Case "{action.tag}"' in vba


def test_committed_files_match_the_registry():
    for rel, text in generated_files(ribbon_source()).items():
        assert (ROOT / rel).read_bytes() == text.encode("utf-8"), f"{rel} is stale: run complaintdesk excel generate"


def test_vba_source_is_ascii_with_short_lines():
    for addin in (False, True):
        text = vba_module(addin)
        text.encode("ascii")
        assert max(len(line) for line in text.split("\r\n")) < 1000
        assert "RunPython \"import complaintdesk.entrypoints.excel as x; x.dispatch('\" & control.Tag" in text
    assert ", True)\"" in vba_module(True)


def test_hex_argument_round_trip():
    text = '退货单号 "SF123" \'引号\' \\ 😀'
    assert excel.decode_argument(hexed(text)) == text
    assert excel.decode_argument("") == ""


@pytest.fixture
def xlsm(register, cli, tmp_path):
    type_rows(register, [complaint()])
    out = tmp_path / "登记表.xlsm"
    cli("excel", "build", register, "--out", out)
    return out


def test_built_xlsm_package(xlsm, cli, tmp_path):
    with zipfile.ZipFile(xlsm) as z:
        names = set(z.namelist())
        types = z.read("[Content_Types].xml").decode()
        rels = z.read("_rels/.rels").decode()
        wrels = z.read("xl/_rels/workbook.xml.rels").decode()
        vba = z.read("xl/vbaProject.bin")
    assert {"customUI/customUI.xml", "xl/vbaProject.bin"} <= names
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types and "vnd.ms-office.vbaProject" in types
    assert "ui/extensibility" in rels and "relationships/vbaProject" in wrels
    from oletools.olevba import VBA_Parser
    parser = VBA_Parser("vbaProject.bin", data=vba)
    code = {name: text for _, _, name, text in parser.extract_macros()}
    assert code["ComplaintDesk.bas"].replace("\r\n", "\n").strip() == vba_module().replace("\r\n", "\n").strip()
    assert 'XLWINGS_VERSION As String = "' + xw.__version__ + '"' in code["xlwings.bas"]
    assert "ThisWorkbook.cls" in code and "Sheet1.cls" in code
    assert "设置正常" in cli("excel", "check", xlsm).output


def test_xlsm_survives_the_openpyxl_round_trip(xlsm, cli):
    cli("assign", xlsm, "--now", "2026-10-09T15:00")
    assert read_rows(xlsm)[0]["complaint_no"] == "20261009-CS-001"
    with zipfile.ZipFile(xlsm) as z:
        assert {"customUI/customUI.xml", "xl/vbaProject.bin"} <= set(z.namelist())
        assert "ui/extensibility" in z.read("_rels/.rels").decode()
    assert "设置正常" in cli("excel", "check", xlsm).output


def test_libreoffice_opens_the_xlsm(xlsm, tmp_path):
    assert "投诉编号" in convert(xlsm, "csv", tmp_path).read_text(encoding="utf-8")


def test_addin_and_stale_version_check(cli, tmp_path, monkeypatch):
    addin = tmp_path / "投诉管理.xlam"
    cli("excel", "build", "--addin", "--out", addin)
    with zipfile.ZipFile(addin) as z:
        assert "addin.macroEnabled" in z.read("[Content_Types].xml").decode()
    monkeypatch.setattr(xw, "__version__", "0.0.1")
    out = cli("excel", "check", addin, code=1).output
    assert "不一致" in out
    cli("excel", "install", addin, "--out", tmp_path / "x.xlsm", code=2)  # Windows only: clear message


# ---- buttons against a fake workbook -----------------------------------------------------------
@pytest.fixture
def book(register, monkeypatch):
    type_rows(register, [complaint(), complaint(contact="13900000000", customer_name="李雷",
                                                first_response_at=datetime(2026, 10, 9, 15))])
    fake = FakeBook(register)
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: fake))
    monkeypatch.setenv("COMPLAINTDESK_NOW", "2026-10-09T16:00")
    return fake


def staff_cells(path):
    return [{k: v for k, v in r.items() if k not in AUTOMATION_KEYS and k not in
             ("last_update_at", "survey_sent_at", "score_efficiency", "score_attitude", "score_solution",
              "survey_comment")} for r in read_rows(path)]


def test_assign_button(book, register):
    before = staff_cells(register)
    message = excel.dispatch("assign")
    assert message.startswith("登记编号完成：新编号 2") and book.app.alerts[0][0] == "投诉管理"
    rows = read_rows(register)
    assert [r["complaint_no"] for r in rows] == ["20261009-CS-001", "20261009-CS-002"]
    assert rows[1]["status"] == "处理中" and staff_cells(register) == before
    filled = [r for r in load_workbook(register)["变更记录"].iter_rows(values_only=True) if r[3] == "（自动填写）"]
    assert [r[2] for r in filled] == ["20261009-CS-001", "20261009-CS-002"]
    assert "投诉编号=20261009-CS-001" in filled[0][5]
    assert book.reads <= 12 and book.writes <= 40  # blocks, not cell by cell


def hexed(text):
    units = text.encode("utf-16-be")
    return "".join(f"{units[i]:02X}{units[i + 1]:02X}" for i in range(0, len(units), 2))


def test_every_other_button(book, register, tmp_path):
    excel.dispatch("assign")
    book = FakeBook(register)
    xw.Book.caller = staticmethod(lambda: book)
    before = staff_cells(register)
    assert excel.dispatch("sla").startswith("刷新时效完成")
    book.app.selection.row = 3
    assert "沟通记录 1" in excel.dispatch("log", hexed('已电话回复 "明天" 上门'))
    comms = list(load_workbook(register)["沟通记录"].iter_rows(min_row=2, values_only=True))
    assert comms[0][0] == "20261009-CS-002" and comms[0][4] == '已电话回复 "明天" 上门'
    assert "文档" in excel.dispatch("docs")
    assert list((register.parent / "文档").glob("20261009-CS-002_*.html"))
    survey = tmp_path / "s.csv"
    survey.write_text("投诉编号,处理效率,服务态度,解决方案\n20261009-CS-001,5,5,2\n", encoding="utf-8")
    assert "回访结果 1" in excel.dispatch("surveys", hexed(str(survey)))
    assert "月度报告完成" in excel.dispatch("report") and book.app.opened
    assert "找到 1" in excel.dispatch("find", hexed("13900000000"))
    assert "归档完成" in excel.dispatch("archive")
    excel.dispatch("readme")
    assert book.activated == "说明"
    after = staff_cells(register)
    assert [{k: v for k, v in r.items() if k != "last_update_at"} for r in after] == \
        [{k: v for k, v in r.items() if k != "last_update_at"} for r in before]


def test_errors_become_chinese_message_boxes(book, register, monkeypatch):
    assert excel.dispatch("nope").startswith("未完成：未知的按钮")
    book.wb["设置"]["E3"] = "ZZ"
    message = excel.dispatch("assign")
    assert message.startswith("未完成：") and "设置!D3" in message
    monkeypatch.setattr("complaintdesk.services.register.assign", lambda *a: 1 / 0)
    book.wb["设置"]["E3"] = "AS"
    message = excel.dispatch("assign")
    assert "意外错误" in message and "ZeroDivisionError" in message
    assert all(title == "投诉管理" for title, _ in book.app.alerts)


def test_a_button_applies_what_colleagues_queued(book, register, cli):
    """A supervisor on another PC logs a call while the register is open here; the next click here
    writes it into the open workbook (once) and says so."""
    from complaintdesk.adapters.holder import excel_owner_bytes
    excel.dispatch("assign")
    book.save()
    owner = register.parent / ("~$" + register.name)
    owner.write_bytes(excel_owner_bytes("李客服"))
    cli("log", register, "20261009-CS-001", "--content", "主管回电", "--now", "2026-10-09T16:30")
    fresh = FakeBook(register)
    xw.Book.caller = staticmethod(lambda: fresh)
    message = excel.dispatch("sla")
    assert "已写入登记表打开期间排队的 1 项更改" in message
    comms = [r for r in fresh.wb["沟通记录"].iter_rows(min_row=2, values_only=True) if r[0]]
    assert [(r[0], r[4]) for r in comms] == [("20261009-CS-001", "主管回电")]
    excel.dispatch("sla")
    assert len([r for r in fresh.wb["沟通记录"].iter_rows(min_row=2, values_only=True) if r[0]]) == 1
