"""The structure step in Excel itself (the live xlwings store), against the fake book: a click after
rows were typed below the Table grows it, pastes the dropdowns down, unshrinks the red/amber
formatting and freezes the header in the window showing the register — and audits it once."""
from __future__ import annotations

import xlwings as xw
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter as _letter
from openpyxl.worksheet.cell_range import MultiCellRange

from complaintdesk.adapters.xlwings_store import XlwingsStore
from complaintdesk.domain.schema import COLUMNS as _COLUMNS
from complaintdesk.entrypoints import excel
from tests.conftest import complaint, read_rows, type_rows
from tests.fakebook import FakeBook
from tests.integration.test_register_structure import repair_lines, structure_problems

LAST = _letter(len(_COLUMNS))  # the register's last column


def drifted(register):
    """Two rows typed below the Table, dropdowns and formatting cut at row 3, the pane unfrozen."""
    type_rows(register, [complaint(), complaint(contact="13900000000", customer_name="李雷")])
    wb = load_workbook(register)
    ws = wb.worksheets[0]
    ws.freeze_panes = None
    for dv in ws.data_validations.dataValidation:
        dv.sqref = MultiCellRange(" ".join(f"{r.coord.split(':')[0]}:{r.coord.split(':')[0][:-1]}3"
                                           for r in dv.sqref.ranges))
    wb.save(register)


def test_the_live_store_plans_what_excel_would_repair(register):
    drifted(register)
    store = XlwingsStore(FakeBook(register))
    repair = store.structure()
    assert repair.table_ref == f"A1:{LAST}3" and "筛选范围" not in "".join(repair.notes)  # Excel keeps the filter
    assert repair.freeze and repair.notes[0] == f"表格范围 A1:{LAST}3" and repair.notes[-1] == "冻结首行"
    assert repair.validations and all(s.endswith("20000") for s in repair.validations.values())


def test_a_button_repairs_the_structure_in_excel(register, monkeypatch):
    drifted(register)
    before = [r["customer_name"] for r in read_rows(register)]
    book = FakeBook(register)
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    monkeypatch.setenv("COMPLAINTDESK_NOW", "2026-10-09T16:00")
    message = excel.dispatch("assign")
    assert message.startswith("登记编号完成") and f"结构修复：表格范围 A1:{LAST}3" in message
    assert "PasteSpecial" in book.api_calls and "FreezePanes=True" in book.api_calls
    assert book.app.api.CutCopyMode is False  # the copied validation does not stay on the clipboard
    assert structure_problems(register) == []
    assert [r["customer_name"] for r in read_rows(register)] == before
    assert len(repair_lines(register)) == 1
    again = FakeBook(register)
    assert XlwingsStore(again).structure().notes == []


def test_the_pane_of_a_register_not_in_view_is_left_alone(register):
    drifted(register)
    book = FakeBook(register)
    book.activated = "设置"
    repair = XlwingsStore(book).structure()
    assert not repair.freeze and "冻结首行" not in repair.notes
