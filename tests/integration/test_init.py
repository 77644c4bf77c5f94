"""`complaintdesk init` builds a register staff can use right away."""
import zipfile

from openpyxl import load_workbook

from complaintdesk.domain.schema import AUTOMATION, COLUMNS
from tests.conftest import convert


def test_sheets_table_and_headers(register):
    wb = load_workbook(register)
    assert wb.sheetnames[:13] == ["投诉登记", "沟通记录", "预警", "工作量", "整改", "回访活动", "设置", "节假日",
                                  "值班", "人员", "变更记录", "案例库", "说明"]
    assert wb["编号计数"].sheet_state == "hidden"
    ws = wb["投诉登记"]
    headers = [c.value for c in ws[1]]
    assert headers == [c.zh for c in COLUMNS]
    assert ws.freeze_panes == "B2"
    (name, ref), = ws.tables.items()
    assert ref.startswith("A1:")
    assert ws.column_dimensions["B"].width >= 12


def test_automation_columns_are_marked_and_guarded(register):
    ws = load_workbook(register)["投诉登记"]
    by_header = {c.value: c for c in ws[1]}
    for column in COLUMNS:
        cell = by_header[column.zh]
        if column.group == AUTOMATION:
            assert cell.comment is not None and "由系统填写" in cell.comment.text
            assert cell.fill.fgColor.rgb.endswith("808080")
        else:
            assert cell.comment is None
    guards = [dv for dv in ws.data_validations.dataValidation if dv.type == "custom" and dv.formula1 == "FALSE"]
    assert len(guards) == sum(1 for c in COLUMNS if c.group == AUTOMATION)


def test_dropdowns_come_from_settings(register):
    wb = load_workbook(register)
    ws = wb["投诉登记"]
    lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation if dv.type == "list"}
    for name in ("channel", "request_type", "category", "member_level", "dept_code", "priority",
                 "validity", "resolution_type", "responsibility", "emotion", "yes_no"):
        assert f"=CD_{name}" in lists, name
        assert "设置" in wb.defined_names[f"CD_{name}"].attr_text
    scores = [dv for dv in ws.data_validations.dataValidation if dv.type == "whole"]
    assert scores and scores[0].formula1 == "1" and scores[0].formula2 == "5"
    settings = wb["设置"]
    titles = [c.value for c in settings[1] if c.value]
    assert titles == ["部门", "分类路由", "时效标准", "会员等级", "情绪状态", "下拉选项", "参数", "审批权限",
                      "渠道响应时限"]
    values = [[c.value for c in row] for row in settings.iter_rows(min_row=3)]
    flat = {v for row in values for v in row if v is not None}
    assert {"CS", "客服部", "AS", "售后部", "WL", "仓储物流部", "IT", "技术部", "产品质量", "物流履约",
            "工作日", "日历小时", "钻石会员", "重复投诉窗口(天)", 90, "客服主管", "不限"} <= flat


def test_formats_and_formatting(register):
    ws = load_workbook(register)["投诉登记"]
    assert ws.column_dimensions["B"].number_format == "yyyy-mm-dd hh:mm"
    formulas = [r.formula[0] for rng in ws.conditional_formatting for r in rng.rules]
    assert '"已超时"' in formulas and '"即将超时"' in formulas


def test_readme_explains_in_chinese(register):
    text = "\n".join(str(c.value) for c in load_workbook(register)["说明"]["A"] if c.value)
    for needle in ("登记编号", "刷新时效", "已关闭", "待回访", "由系统", "节假日"):
        assert needle in text


def test_refuses_to_overwrite(register, cli):
    before = register.read_bytes()
    result = cli("init", register, code=2)
    assert "已存在" in result.output and register.read_bytes() == before
    cli("init", register, "--force")
    assert (register.parent / ".bak").exists()


def test_english_register(tmp_path, cli):
    path = tmp_path / "register.xlsx"
    cli("init", path, "--lang", "en")
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Register" and "Settings" in wb.sheetnames
    assert wb["Register"]["A1"].value == "Complaint No"


def test_valid_package_and_libreoffice_opens_it(register, tmp_path):
    with zipfile.ZipFile(register) as z:
        assert z.testzip() is None
    csv = convert(register, "csv", tmp_path)
    assert "投诉编号" in csv.read_text(encoding="utf-8", errors="replace")
