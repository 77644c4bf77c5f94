"""A register whose header row is wrong stops every store with the same message: which column
appears twice (both cells named) or which required columns are missing."""
import pytest
from openpyxl import load_workbook

from tests.conftest import complaint, type_rows
from tests.fakebook import FakeBook


def broken(register, change):
    type_rows(register, [complaint()])
    wb = load_workbook(register)
    ws = wb["投诉登记"]
    headers = {c.value: c for c in ws[1]}
    change(headers)
    wb.save(register)
    return register


def message(cli, monkeypatch, store, path):
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    return cli("assign", path, code=2).output


@pytest.mark.parametrize("change, expected", [
    (lambda h: setattr(h["受理人"], "value", "处理部门"), "出现两次"),
    (lambda h: setattr(h["问题描述"], "value", "描述"), "缺少列：问题描述"),
])
def test_every_store_says_the_same(register, cli, monkeypatch, change, expected):
    path = broken(register, change)
    said = {store: message(cli, monkeypatch, store, path) for store in ("openpyxl", "fast")}
    assert expected in said["fast"] and said["fast"] == said["openpyxl"]
    if expected == "出现两次":
        assert "1 和 " in said["fast"]   # both cells named, as A1 and B1


def test_the_excel_store_says_it_too(register, monkeypatch):
    from complaintdesk.adapters.xlwings_store import XlwingsStore
    from complaintdesk.errors import SchemaError
    path = broken(register, lambda h: setattr(h["受理人"], "value", "处理部门"))
    with pytest.raises(SchemaError, match="出现两次（.*1 和 .*1）"):
        XlwingsStore(FakeBook(path))
