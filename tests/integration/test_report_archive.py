"""Monthly report workbook, archive round trip, find and retention — on real files."""
import json
import zipfile
from datetime import datetime

from openpyxl import load_workbook

from tests.conftest import complaint, convert, read_rows, type_rows

CLOSED = dict(first_response_at=datetime(2026, 10, 9, 15), plan_measures="换新", plan_deadline=datetime(2026, 10, 10),
              resolved_at=datetime(2026, 10, 10, 9), customer_agrees="是", confirmed_at=datetime(2026, 10, 10, 12),
              survey_sent_at=datetime(2026, 10, 10, 13), score_efficiency=5, score_attitude=4, score_solution=4)


def filled(register, cli):
    type_rows(register, [complaint(**CLOSED), complaint(contact="13900000000", **CLOSED),
                         complaint(received_at=datetime(2026, 10, 20, 9), contact="13700000000",
                                   category="物流履约", safety_risk="是"),
                         complaint(received_at=datetime(2026, 10, 21, 9), request_type="咨询",
                                   contact="13600000000", description="=1+1 咨询")])
    cli("assign", register, "--now", "2026-10-22T09:00")
    cli("sla", register, "--now", "2026-10-22T09:00")


def test_report_workbook_and_json(register, cli, tmp_path):
    filled(register, cli)
    out = tmp_path / "r.xlsx"
    cli("report", register, "--month", "2026-10", "--out", out)
    wb = load_workbook(out)
    assert wb.sheetnames == ["概览", "分布", "趋势", "时效", "满意度", "高频问题", "整改", "明细", "说明"]
    summary = {r[0]: r[1] for r in wb["概览"].iter_rows(min_row=4, values_only=True) if r[0]}
    assert summary["投诉总量"] == 3 and summary["CSAT(平均≥4分占比)"] == 1.0
    details = list(wb["明细"].iter_rows(min_row=2, values_only=True))
    assert len(details) == 3 and all("*" in d[5] for d in details)
    assert "MonthDetails" in wb["明细"].tables
    with zipfile.ZipFile(out) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= 10
    data = json.loads(cli("report", register, "--month", "2026-10", "--out", out, "--json").stdout)
    assert data["total"] == 3 and data["csat"] == 1.0 and data["non_complaints"] == 1
    assert data["by_category"] == {"产品质量": 2, "物流履约": 1}
    assert data["on_time_resolution_rate"] == 0.6667  # the P0 one breached its 24 h
    csv = convert(out, "csv", tmp_path)  # LibreOffice opens it
    assert "月度投诉分析报告" in csv.read_text(encoding="utf-8")


def test_report_defaults_to_previous_month(register, cli):
    filled(register, cli)
    cli("report", register, "--now", "2026-11-03T08:00")
    assert (register.parent / "月度投诉分析报告_2026-10.xlsx").exists()


def test_archive_round_trip_and_serials_continue(register, cli):
    filled(register, cli)
    cli("log", register, "20261009-CS-001", "--content", "回访完成", "--now", "2026-10-22T10:00")
    before = json.loads(cli("export", register).stdout)
    closed = [r for r in before if r["status"] == "closed"]
    assert len(closed) == 2
    out = cli("archive", register, "--now", "2026-12-01T09:00")
    assert "归档投诉 2" in out.output
    assert len(read_rows(register)) == 2
    archive = register.parent / "archive" / "投诉归档_2026_登记表.xlsx"
    wb = load_workbook(archive)
    assert [r[0] for r in wb["投诉归档"].iter_rows(min_row=2, values_only=True)] == \
        sorted(r["complaint_no"] for r in closed)
    assert wb["沟通记录"].max_row == 2
    after = json.loads(cli("export", register, "--include-archive").stdout)
    key = lambda r: r["complaint_no"]  # noqa: E731
    changed = set()
    assert [{k: v for k, v in r.items() if k not in changed} for r in sorted(after, key=key)] == \
        [{k: v for k, v in r.items() if k not in changed} for r in sorted(before, key=key)]
    type_rows(register, [complaint(contact="13812341234")])       # same customer, same day
    cli("assign", register, "--now", "2026-12-01T10:00")
    newest = read_rows(register)[-1]
    assert newest["complaint_no"] == "20261009-CS-003"              # serials continue past archived
    archived_first = sorted(r["complaint_no"] for r in closed)[0]     # the archived one of that customer
    assert newest["is_repeat"] == "是" and archived_first in (newest["related_nos"] or "")
    found = cli("find", register, "13812341234").output
    assert "归档" in found and "138****1234" in found and "13812341234" not in found.replace("查找", "")
    data = json.loads(cli("report", register, "--month", "2026-10", "--json").stdout)
    assert data["total"] == 4          # 2 archived + 1 open + the new one (received 2026-10-09)


def test_crash_between_archive_and_register_loses_nothing(register, cli, monkeypatch):
    filled(register, cli)
    from complaintdesk.adapters import xlsx_store
    from complaintdesk.services import archive as archive_service
    from complaintdesk.services.common import register_session

    def boom(self):
        raise RuntimeError("power cut")
    monkeypatch.setattr(xlsx_store.XlsxStore, "save", boom)
    with register_session(register, kind="openpyxl") as store:   # as the CLI's archive does
        try:
            archive_service.archive(store, datetime(2026, 12, 1), 30)
        except RuntimeError:
            pass
    monkeypatch.undo()
    assert len(read_rows(register)) == 4                           # register untouched
    assert (register.parent / "archive" / "投诉归档_2026_登记表.xlsx").exists()
    cli("archive", register, "--now", "2026-12-01T09:00")
    assert len(read_rows(register)) == 2
    rows = load_workbook(register.parent / "archive" / "投诉归档_2026_登记表.xlsx")["投诉归档"].max_row
    assert rows == 3                                                # no duplicates in the archive


def test_retention_purge(register, cli):
    folder = register.parent / "archive"
    folder.mkdir()
    from openpyxl import Workbook
    for year in (2021, 2022, 2023):
        Workbook().save(folder / f"投诉归档_{year}.xlsx")
    out = cli("archive", register, "--purge-expired", "--now", "2026-06-01T00:00")
    assert "投诉归档_2022.xlsx" in out.output and "投诉归档_2023.xlsx" not in out.output
    assert (folder / "投诉归档_2022.xlsx").exists()
    caches = folder / ".cache"
    caches.mkdir()
    for name in ("投诉归档_2021.xlsx.columns", "投诉归档_2022.xlsx.strings", "投诉归档_2023.xlsx.columns"):
        (caches / name).write_bytes(b"13812341234")  # what a reader of the archive cached: phone numbers
    cli("archive", register, "--purge-expired", "--yes", "--now", "2026-06-01T00:00")
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["投诉归档_2023.xlsx"]
    assert [p.name for p in caches.iterdir()] == ["投诉归档_2023.xlsx.columns"]  # nothing left of the purged


def test_a_complaint_in_the_register_and_an_archive_is_read_once(register, cli):
    """An archive run stopped after writing the yearly file and before the rows left the register
    (here: the register put back as it was): every reader still sees each complaint once."""
    import shutil
    filled(register, cli)
    kept = register.with_name("kept.xlsx")
    shutil.copyfile(register, kept)
    cli("archive", register, "--now", "2026-12-01T09:00")
    shutil.copyfile(kept, register)  # both closed complaints are in the register and in the archive
    rows = json.loads(cli("export", register, "--include-archive").stdout)
    numbers = [r["complaint_no"] for r in rows]
    assert len(numbers) == len(set(numbers)) == 4
    data = json.loads(cli("report", register, "--month", "2026-10", "--json").stdout)
    assert data["total"] == 3
    found = cli("find", register, "20261009-CS-001").output
    assert found.count("20261009-CS-001  ") == 1 and "[登记表]" in found
    cli("assign", register, "--now", "2026-12-01T09:30")
    assert [r["is_repeat"] for r in read_rows(register)][:2] == ["否", "否"]  # not a repeat of its own copy


def test_an_archive_stopped_half_way_is_finished_by_the_next_writing_command(register, cli, monkeypatch):
    """The yearly file was written, then the run died before the rows left the register: the next
    command that writes (here `log`) finishes it first and says so."""
    from complaintdesk.adapters.xlsx_store import XlsxStore
    filled(register, cli)
    monkeypatch.setenv("COMPLAINTDESK_STORE", "openpyxl")

    def killed(self, row_ids):
        raise KeyboardInterrupt  # as a Ctrl+C or a kill between the two steps
    monkeypatch.setattr(XlsxStore, "remove_register", killed)
    cli("archive", register, "--now", "2026-12-01T09:00", code=130)  # 130: interrupted
    monkeypatch.undo()
    marker = register.parent / f".{register.name}.archiving.json"
    assert marker.exists() and len(read_rows(register)) == 4  # archived, and still in the register
    out = cli("log", register, "20261020-CS-001", "--content", "回电", "--now", "2026-12-01T10:00").output
    assert "已完成 12-01 09:00 中断的归档：从登记表移出已归档的投诉 2 条" in out.replace("\n", "")
    assert not marker.exists() and len(read_rows(register)) == 2
    rows = json.loads(cli("export", register, "--include-archive").stdout)
    assert len(rows) == len({r["complaint_no"] for r in rows}) == 4


def test_report_reads_and_prints_well(register, cli, tmp_path):
    """Times are times, rate changes are percentage points, every day of the month is in the daily
    series, examples wrap in their column, every sheet prints A4 landscape one page wide with its
    header repeated; a month without complaints says so instead of drawing empty charts."""
    filled(register, cli)
    out = tmp_path / "r.xlsx"
    cli("report", register, "--month", "2026-10", "--out", out)
    wb = load_workbook(out)
    details = wb["明细"]
    assert isinstance(details["B2"].value, datetime) and details["B2"].number_format == "yyyy-mm-dd hh:mm"
    assert details.column_dimensions["B"].width >= 16 and details.freeze_panes == "B2"
    overview = {r[0].value: r for r in wb["概览"].iter_rows(min_row=4) if r[0].value}
    assert "百分点" in overview["响应及时率"][3].number_format or overview["响应及时率"][3].value == "—"
    assert overview["投诉总量"][1].number_format == "#,##0"
    days = [r for r in wb["趋势"].iter_rows(min_row=4, values_only=True) if r[0] and str(r[0]).startswith("2026-10-")]
    assert len(days) == 31 and sum(r[1] for r in days) == 3
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9, ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0, ws.title  # 1 wide
        assert ws.page_setup.fitToWidth in (None, 1) and ws.print_title_rows == "$1:$1", ws.title
    empty = cli("report", register, "--month", "2025-03", "--out", tmp_path / "e.xlsx").output
    assert "本月无投诉" in empty
    wb = load_workbook(tmp_path / "e.xlsx")
    assert wb.sheetnames == ["概览", "说明"] and "本月无投诉" in wb["概览"]["A3"].value


def test_documents_go_to_the_archive_with_their_complaint(register, cli):
    filled(register, cli)
    rows = read_rows(register)
    leaving, staying = rows[0]["complaint_no"], rows[2]["complaint_no"]
    cli("docs", register, leaving, staying, "--kind", "plan", "--now", "2026-10-22T10:00")
    cli("docs", register, leaving, "--kind", "plan", "--format", "docx", "--now", "2026-10-22T10:00")
    docs = register.parent / "文档"
    moved = register.parent / "archive" / "文档" / leaving
    moved.mkdir(parents=True)
    (moved / f"{leaving}_投诉处理方案表.html").write_text("已在此的旧版", encoding="utf-8")  # kept
    out = cli("archive", register, "--now", "2026-12-01T09:00").output
    assert "归档投诉 2" in out and "文档 2" in out
    assert sorted(p.name for p in moved.iterdir()) == [f"{leaving}_投诉处理方案表(2).html",
                                                      f"{leaving}_投诉处理方案表.docx",
                                                      f"{leaving}_投诉处理方案表.html"]
    assert (moved / f"{leaving}_投诉处理方案表.html").read_text(encoding="utf-8") == "已在此的旧版"
    assert sorted(p.name for p in docs.iterdir()) == [f"{staying}_投诉处理方案表.html"]
