"""The register records its archives (hidden sheet 归档记录) and names them (投诉归档_<year>_<register>.xlsx):
a copy away from its archive folder says so first and lowers nothing derived from them; two registers in
one folder never read each other's archive; a register made before the record gets the sheet added."""
from __future__ import annotations

import json
import shutil

import pytest
from openpyxl import load_workbook

from tests.conftest import complaint, convert, read_rows, type_rows
from tests.integration.test_report_archive import filled


def _archived_with_a_repeat(register, cli):
    """Two complaints archived, then the same customer again: a repeat of an archived one (P1→ raised)."""
    filled(register, cli)
    cli("archive", register, "--now", "2026-12-01T09:00")
    type_rows(register, [complaint(contact="13812341234")])
    cli("assign", register, "--now", "2026-12-01T10:00")
    return read_rows(register)[-1]


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_a_copy_without_its_archives_lowers_nothing_and_says_so(register, cli, tmp_path, monkeypatch, store):
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    before = _archived_with_a_repeat(register, cli)
    assert before["is_repeat"] == "是" and before["related_nos"]
    wb = load_workbook(register)
    assert wb["归档记录"].sheet_state == "hidden"
    recorded = list(wb["归档记录"].iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1]) for r in recorded] == [("投诉归档_2026_登记表.xlsx", 2)]

    copy = tmp_path / "别处" / "登记表.xlsx"
    copy.parent.mkdir()
    shutil.copy(register, copy)
    out = cli("assign", copy, "--now", "2026-12-01T11:00").output
    assert out.index("投诉归档_2026_登记表.xlsx") < out.index("✔")  # said first
    assert "不会降低" in out
    after = read_rows(copy)[-1]
    for key in ("is_repeat", "related_nos", "priority"):
        assert after[key] == before[key], key
    cli("sla", copy, "--now", "2026-12-01T12:00")
    assert read_rows(copy)[-1]["related_nos"] == before["related_nos"]
    checked = cli("check", copy, code=1).output
    assert "投诉归档_2026_登记表.xlsx" in checked and "不在" in checked

    shutil.copytree(register.parent / "archive", copy.parent / "archive")  # put back: quiet again
    assert "不在" not in cli("assign", copy, "--now", "2026-12-01T13:00").output
    cli("check", copy)


def test_a_file_with_fewer_complaints_than_recorded_is_a_fault(register, cli):
    _archived_with_a_repeat(register, cli)
    from complaintdesk.adapters.faststore.archive_files import read_archive, write_archive
    path = register.parent / "archive" / "投诉归档_2026_登记表.xlsx"
    rows, comms = read_archive(path)
    write_archive(path, [rows[0].values], comms)
    shutil.rmtree(register.parent / "archive" / ".cache", ignore_errors=True)
    checked = cli("check", register, code=1).output
    assert "只有 1 件投诉，登记表记录为 2 件" in checked


def test_two_registers_in_one_folder_keep_their_archives_apart(tmp_path, cli):
    first, second = tmp_path / "华东.xlsx", tmp_path / "华南.xlsx"
    for path in (first, second):
        cli("init", path)
        filled(path, cli)
        cli("archive", path, "--now", "2026-12-01T09:00")
    names = sorted(p.name for p in (tmp_path / "archive").glob("投诉归档_*.xlsx"))
    assert names == ["投诉归档_2026_华东.xlsx", "投诉归档_2026_华南.xlsx"]
    for path in (first, second):
        rows = json.loads(cli("export", path, "--include-archive").stdout)
        assert len(rows) == 4  # 2 archived + 2 in the register: the other register's 2 are not here
        assert json.loads(cli("report", path, "--month", "2026-10", "--json").stdout)["total"] == 3


def test_a_register_from_before_the_record_gets_the_sheet(register, cli, monkeypatch, tmp_path):
    """The streaming store adds a missing tool sheet as openpyxl does: hidden, at the end, readable."""
    wb = load_workbook(register)
    del wb["归档记录"]
    wb.save(register)
    monkeypatch.setenv("COMPLAINTDESK_STORE", "fast")
    filled(register, cli)
    cli("archive", register, "--now", "2026-12-01T09:00")
    wb = load_workbook(register)
    assert wb.sheetnames[-1] == "归档记录" and wb["归档记录"].sheet_state == "hidden"
    assert [c.value for c in wb["归档记录"][1]] == ["归档文件", "投诉数", "记录时间"]
    assert wb["归档记录"]["A2"].value == "投诉归档_2026_登记表.xlsx" and wb["归档记录"]["B2"].value == 2
    cli("check", register)
    monkeypatch.setenv("COMPLAINTDESK_STORE", "openpyxl")
    cli("check", register)
    assert "投诉编号" in convert(register, "csv", tmp_path).read_text(encoding="utf-8")  # LibreOffice opens it


def test_purged_archives_leave_the_record(register, cli):
    _archived_with_a_repeat(register, cli)
    cli("archive", register, "--purge-expired", "--yes", "--now", "2030-01-02T09:00")
    assert not list((register.parent / "archive").glob("投诉归档_*.xlsx"))
    assert list(load_workbook(register)["归档记录"].iter_rows(min_row=2, values_only=True)) == []
    checked = cli("check", register, "--now", "2030-01-02T09:00", code=1).output  # (the repeat's source is gone:
    assert "投诉归档_2026" not in checked and "不在" not in checked             # recomputed, it is none)


def test_legacy_archive_names_are_still_read(register, cli):
    _archived_with_a_repeat(register, cli)
    folder = register.parent / "archive"
    (folder / "投诉归档_2026_登记表.xlsx").rename(folder / "投诉归档_2026.xlsx")
    rows = json.loads(cli("export", register, "--include-archive").stdout)
    assert len(rows) == 5  # 2 archived (legacy name) + 3 in the register
