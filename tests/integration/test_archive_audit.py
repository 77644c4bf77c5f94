"""`archive` takes the 变更记录 rows of the complaints that leave with them, so the register's
audit sheet stays within what Excel can open; a sheet that would outgrow Excel is refused.

Run through the CLI with each file store; results read back with openpyxl.
"""
from datetime import datetime

import pytest
from openpyxl import load_workbook

from complaintdesk.adapters.faststore import archive_files
from complaintdesk.adapters.faststore.archive_files import read_audit_archive, write_archive, write_audit_archive
from tests.conftest import complaint, read_rows, type_rows
from tests.integration.test_fast_store import run
from tests.integration.test_report_archive import CLOSED, filled

LEGACY = "20250101-CS-001"   # archived by an earlier version: its history is still in the register
UNKNOWN = "20990101-CS-009"  # in neither the register nor an archive: its rows stay


def audit_of(path):
    return [list(r) for r in load_workbook(path)["变更记录"].iter_rows(min_row=2, values_only=True)]


def with_legacy_history(register):
    folder = register.parent / "archive"
    folder.mkdir(exist_ok=True)
    write_archive(folder / "投诉归档_2025.xlsx", [{"complaint_no": LEGACY, "received_at": datetime(2025, 1, 1, 9)}], [])
    wb = load_workbook(register)
    ws = wb["变更记录"]
    for number, column, new in ((LEGACY, "优先级", "P2"), (UNKNOWN, "受理人", "张三"),
                                (LEGACY, "（归档）", "投诉归档_2025.xlsx")):
        ws.append([datetime(2025, 2, 1, 9, 30), "命令行", number, column, None, new])
    wb.save(register)


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_history_leaves_with_its_complaints(register, cli, monkeypatch, store):
    filled(register, cli)
    with_legacy_history(register)
    closed = {r["complaint_no"] for r in read_rows(register) if r["status"] == "已关闭"}
    before = audit_of(register)
    assert len(closed) == 2 and all(any(r[2] == n for r in before) for n in closed)  # each has its history

    out = run(cli, monkeypatch, store, "archive", register, "--now", "2026-12-01T09:00").output
    leaving = [r for r in before if r[2] in closed | {LEGACY}]
    assert "归档投诉 2" in out and f"移出的变更记录 {len(leaving) + 2}" in out
    after = audit_of(register)
    assert after[:-2] == [r for r in before if r not in leaving]      # the rest stay, in their order
    assert any(r[2] == UNKNOWN for r in after[:-2])
    assert [r[3:] for r in after[-2:]] == [["（归档）", None, "2 条投诉 → 投诉归档_2026_登记表.xlsx"],
                                           ["（变更记录归档）", None,
                                            f"{len(leaving) + 2} 条变更记录 → 变更记录_20261201_登记表.xlsx"]]
    assert after[-1][0] == datetime(2026, 12, 1, 9)

    moved = read_audit_archive(register.parent / "archive" / "变更记录_20261201_登记表.xlsx")
    as_rows = [[e[k] for k in ("time", "source", "complaint_no", "column", "old", "new")] for e in moved]
    assert as_rows[:-2] == leaving                                     # every row, as it was, in order
    assert sorted((r[2], r[3], r[5]) for r in as_rows[-2:]) == \
        sorted((n, "（归档）", "投诉归档_2026_登记表.xlsx") for n in closed)
    assert load_workbook(register.parent / "archive" / "变更记录_20261201_登记表.xlsx").sheetnames == ["变更记录"]

    # the files beside the yearly archives are not read as complaints
    exported = run(cli, monkeypatch, store, "export", register, "--include-archive").stdout
    assert LEGACY in exported and "（归档）" not in exported and UNKNOWN not in exported


def test_a_second_run_that_day_adds_to_the_same_file_without_repeating(register, cli):
    filled(register, cli)
    cli("archive", register, "--now", "2026-12-01T09:00")
    first = read_audit_archive(register.parent / "archive" / "变更记录_20261201_登记表.xlsx")
    wb = load_workbook(register)  # as a run that stopped half-way leaves it: a row already moved is still here
    wb["变更记录"].append([first[0][k] for k in ("time", "source", "complaint_no", "column", "old", "new")])
    wb.save(register)
    type_rows(register, [complaint(contact="13500000000", **CLOSED)])
    cli("assign", register, "--now", "2026-12-01T09:10")
    cli("sla", register, "--now", "2026-12-01T09:10")
    third = read_rows(register)[-1]["complaint_no"]
    assert read_rows(register)[-1]["status"] == "已关闭"
    history = [r for r in audit_of(register) if r[2] == third]
    cli("archive", register, "--now", "2026-12-01T10:00", "--older-than", "0")
    again = read_audit_archive(register.parent / "archive" / "变更记录_20261201_登记表.xlsx")
    assert again[:len(first)] == first                      # the repeated row is not written twice
    assert [[e[k] for k in ("time", "source", "complaint_no", "column", "old", "new")]
            for e in again[len(first):-1]] == history
    assert again[-1]["complaint_no"] == third and again[-1]["column"] == "（归档）"
    assert {r[2] for r in audit_of(register)} == {None} | {r["complaint_no"] for r in read_rows(register)}


def test_a_long_history_spills_over_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(archive_files, "EXCEL_MAX_ROWS", 4)   # three rows under a header
    rows = [{"time": datetime(2026, 1, 1, 9, i), "source": "命令行", "complaint_no": f"N{i}", "column": "优先级",
             "old": None, "new": "=P1" if i == 0 else f"P{i}"} for i in range(7)]
    path = tmp_path / "变更记录_20260101.xlsx"
    write_audit_archive(path, rows)
    wb = load_workbook(path)
    assert wb.sheetnames == ["变更记录", "变更记录2", "变更记录3"]
    assert [ws.max_row for ws in wb] == [4, 4, 2] and wb["变更记录"]["F2"].value == "=P1"
    assert read_audit_archive(path) == rows and archive_files.audit_rows_in(path) == 7


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_a_sheet_excel_cannot_open_is_refused(register, cli, monkeypatch, store):
    filled(register, cli)
    wb = load_workbook(register)
    wb["变更记录"].cell(1_048_576, 1, datetime(2026, 10, 1))   # the audit sheet's last row is taken
    wb.save(register)
    before = register.read_bytes()
    out = run(cli, monkeypatch, store, "log", register, read_rows(register)[2]["complaint_no"],
              "--content", "已电话联系", "--now", "2026-10-23T10:00", code=2).output
    assert "变更记录" in out and "1,048,576" in out and "归档" in out
    assert register.read_bytes() == before                              # nothing written


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_a_sheet_near_the_limit_is_saved_with_a_warning(register, cli, monkeypatch, store):
    filled(register, cli)
    wb = load_workbook(register)
    wb["变更记录"].cell(900_000, 1, datetime(2026, 10, 1))   # 86 % of what Excel opens
    wb.save(register)
    number = read_rows(register)[2]["complaint_no"]
    out = run(cli, monkeypatch, store, "log", register, number, "--content", "已电话联系",
              "--now", "2026-10-23T10:00").output
    assert "变更记录" in out and "900,00" in out and "86%" in out and "归档" in out   # 900,001 or more
    ws = load_workbook(register)["变更记录"]
    assert ws.max_row > 900_000 and number in [c.value for c in ws[ws.max_row]]   # saved all the same


def test_purge_takes_expired_audit_archives_too(register, cli):
    folder = register.parent / "archive"
    folder.mkdir()
    for name in ("投诉归档_2022.xlsx", "变更记录_20221231.xlsx", "变更记录_20230101.xlsx"):
        write_audit_archive(folder / name, [])
    cli("archive", register, "--purge-expired", "--yes", "--now", "2026-06-01T00:00")
    assert sorted(p.name for p in folder.iterdir()) == ["变更记录_20230101.xlsx"]
