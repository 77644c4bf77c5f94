"""`archive` takes rows out of the register through either file store — the same workbook afterwards.

The register holds what staff add to a real one: formulas (one filled down as Excel writes it, a
shared formula whose first cell is archived), merged cells, comments, hyperlinks, validations and
formatting on single rows, a defined name. Rows leave, later rows move up, and all of those follow
their rows (or leave with them) — identically in the openpyxl store and the streaming store.
"""
import csv
import io
import json
import re
import shutil
import zipfile
from datetime import datetime

import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter as _letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from complaintdesk.adapters.faststore.archive_files import read_archive, read_archive_columns
from complaintdesk.adapters.faststore.register_index import index_path
from complaintdesk.domain.schema import COLUMNS as _COLUMNS
from complaintdesk.domain.schema import COMMS_COLUMNS, header_lookup, normalise_header
from tests.conftest import convert
from tests.integration.test_fast_store import bench_module, run

LAST = _letter(len(_COLUMNS))  # the register's last column

NOW = "2026-12-25T10:00"


def _plan(path):
    """Rows that an archive at NOW takes (closed) and rows that stay, from the built register."""
    ws = load_workbook(path, read_only=True)["投诉登记"]
    head = None
    gone, kept = [], []
    for r, values in enumerate(ws.iter_rows(values_only=True), 1):
        if r == 1:
            head = {v: i for i, v in enumerate(values)}
            continue
        (gone if values[head["处理状态"]] == "已关闭" else kept).append(r)
    return gone, kept


def _shared(path, letter, rows):
    """Make the formulas of `letter`{rows} one shared formula, as Excel saves a filled-down column."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    first, last = rows[0], rows[-1]
    for r in rows:
        cell = re.search(rf'<c r="{letter}{r}"[^>]*>(<f>.*?</f>)(<v\s*/>|<v>.*?</v>)?</c>', xml)
        new = (f'<f t="shared" ref="{letter}{first}:{letter}{last}" si="0">{cell.group(1)[3:-4]}</f>'
               if r == first else '<f t="shared" si="0"/>')
        xml = xml.replace(cell.group(0), cell.group(0).replace(cell.group(1), new).replace(cell.group(2) or "\0", ""))
    parts["xl/worksheets/sheet1.xml"] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.fixture(scope="module")
def dressed(tmp_path_factory):
    """A 600-row register dressed as staff dress one, and the rows an archive will take."""
    path = tmp_path_factory.mktemp("archive") / "src.xlsx"
    bench_module().build(path, 600, shared_strings=False)
    gone, kept = _plan(path)
    # (which rows are closed differs from run to run: the builder uses str hashes)
    g1, g2 = gone[3], gone[4]
    start = next(g for g in gone if g > g2 and g + 1 in kept)
    shared = list(range(start, start + 4))  # starts on an archived row, goes on over a kept one
    k1 = next(r for r in kept if r > max(g2 + 5, shared[-1]))
    k2 = next(r for r in kept if r > k1)
    wb = load_workbook(path)
    ws = wb["投诉登记"]
    head = {c.value: c.column_letter for c in ws[1]}
    shared_numbers = {ws[f"A{r}"].value for r in shared}
    note, remark, desc, order = head["回访记录"], head["备注"], head["问题描述"], head["订单号"]
    ws[f"{remark}{k1}"] = f"=LEN({desc}{k1})&\"/\"&{desc}{g1}&COUNTA(A2:A{k2})&\"A{k1}\"&设置!B2"
    ws[f"{note}{k2}"] = f"=SUM(${remark}${g1}:{remark}{k1})"   # (the merged cell's first)
    for r in shared:
        ws[f"{note}{r}"] = f"=LEN({desc}{r})+$A$1"
    ws[f"{desc}{k1}"].comment = Comment("客户很着急", "李客服")
    ws[f"{desc}{g1}"].comment = Comment("已归档的行", "李客服")
    ws[f"{order}{k1}"].hyperlink = "https://example.com/order/k1"
    ws[f"{order}{g2}"].hyperlink = "https://example.com/order/g2"
    ws.merge_cells(f"{note}{k2}:{remark}{k2}")                         # stays
    g3 = next(g for g in gone if g > k2 + 1 and g + 1 in kept and g + 2 in kept)
    ws.merge_cells(f"{remark}{g3}:{remark}{g3 + 2}")                     # loses its first row
    ws.merge_cells(f"{note}{gone[6]}:{remark}{gone[6]}")                 # leaves with its row
    dv = DataValidation(type="whole", operator="between", formula1="1", formula2="5")
    dv.add(f"{remark}{k1}")
    dv.add(f"{remark}{g1}")
    ws.add_data_validation(dv)
    ws.conditional_formatting.add(f"A{k1}:C{k2}", CellIsRule(operator="equal", formula=[f'"{k1}"'],
                                                            fill=PatternFill("solid", bgColor="FFC7CE")))
    ws.conditional_formatting.add(f"A{g1}:C{g1}", CellIsRule(operator="equal", formula=['"x"'],
                                                            fill=PatternFill("solid", bgColor="FFEB9C")))
    comms = wb["沟通记录"]
    for r, when, text in ((g1, datetime(2026, 10, 20, 9, 5), "已电话联系\n客户同意换货"),
                          (k1, datetime(2026, 11, 2, 16, 0), "=等待回复"),
                          (g2, datetime(2026, 10, 21, 8, 0), " 前后有空格 ")):
        comms.append([ws[f"A{r}"].value, when, "电话", "李客服", text, "跟进"])
        comms.cell(comms.max_row, 5).data_type = "s"
    wb.defined_names["重点行"] = DefinedName("重点行", attr_text=f"投诉登记!$A${k2}:$BP${k2}")
    wb.save(path)
    _shared(path, note, shared)
    return path, dict(g1=g1, g2=g2, g3=g3, k1=k1, k2=k2, shared=shared, shared_numbers=shared_numbers, gone=gone,
                      note=note, remark=remark, desc=desc, order=order)


def sheets(wb):
    return {s.title: [list(r) for r in s.iter_rows(values_only=True)] for s in wb.worksheets}


def snapshot(path):
    wb = load_workbook(path)
    ws = wb["投诉登记"]
    return {
        "sheets": sheets(wb),
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "validations": sorted((str(d.sqref), d.formula1, d.formula2) for d in ws.data_validations.dataValidation),
        "formatting": sorted((str(c.sqref), [r.formula for r in c.rules]) for c in ws.conditional_formatting),
        "table": ws.tables["ComplaintRegister"].ref,
        "links": sorted((c.coordinate, c.hyperlink.target) for row in ws.iter_rows() for c in row if c.hyperlink),
        "comments": sorted((c.coordinate, c.comment.text) for row in ws.iter_rows() for c in row if c.comment),
        "names": sorted((n, d.attr_text) for n, d in wb.defined_names.items()),
    }


@pytest.fixture(scope="module")
def archived(dressed, tmp_path_factory):
    """The dressed register archived by each store (the CLI, as staff run it)."""
    from typer.testing import CliRunner

    from complaintdesk.entrypoints.cli import app
    source, facts = dressed
    out = {}
    for store in ("openpyxl", "fast"):
        folder = tmp_path_factory.mktemp(store)
        path = folder / "登记表.xlsx"
        shutil.copy(source, path)
        result = CliRunner().invoke(app, ["archive", str(path), "--now", NOW], env={"COMPLAINTDESK_STORE": store})
        assert result.exit_code == 0, result.output
        out[store] = path
    return out, facts


def test_both_stores_leave_the_same_workbook(archived):
    paths, facts = archived
    slow, fast = snapshot(paths["openpyxl"]), snapshot(paths["fast"])
    for key in slow:
        assert fast[key] == slow[key], key
    archive_slow = sheets(load_workbook(paths["openpyxl"].parent / "archive" / "投诉归档_2026_登记表.xlsx"))
    archive_fast = sheets(load_workbook(paths["fast"].parent / "archive" / "投诉归档_2026_登记表.xlsx"))
    # (a shared formula's later cells are read by openpyxl as their formula and by the streaming
    # reader as their cached result — a difference of reading, not of archiving: not compared)
    col = archive_slow["投诉归档"][0].index("回访记录")
    for rows in (archive_slow["投诉归档"], archive_fast["投诉归档"]):
        for row in rows[1:]:
            if row[0] in facts["shared_numbers"]:
                row[col] = None
    assert archive_fast == archive_slow
    assert len(archive_fast["投诉归档"]) - 1 == len(facts["gone"])


def test_what_points_at_rows_follows_them(archived, dressed):
    paths, f = archived
    before = snapshot(dressed[0])
    after = snapshot(paths["fast"])
    g1, k1, k2 = f["g1"], f["k1"], f["k2"]
    gone = set(f["gone"])
    up = lambda r: r - sum(1 for g in gone if g < r)  # noqa: E731
    reg_before, reg_after = before["sheets"]["投诉登记"], after["sheets"]["投诉登记"]
    assert len(reg_after) == len(reg_before) - len(gone)
    assert [r[0] for r in reg_after[1:]] == [reg_before[r - 1][0] for r in range(2, len(reg_before) + 1)
                                             if r not in gone]   # every kept row, in order
    d, remark, note = f["desc"], f["remark"], f["note"]
    ws = load_workbook(paths["fast"])["投诉登记"]
    assert ws[f"{remark}{up(k1)}"].value == \
        f'=LEN({d}{up(k1)})&"/"&#REF!&COUNTA(A2:A{up(k2)})&"A{k1}"&设置!B2'   # string and other sheet kept
    first_kept = min(r for r in range(g1, k1 + 1) if r not in gone)     # the range loses its first rows
    assert ws[f"{note}{up(k2)}"].value == f"=SUM(${remark}${up(first_kept)}:{remark}{up(k1)})"
    assert any(r not in gone for r in f["shared"])
    for r in f["shared"]:
        if r not in gone:  # each kept cell of the shared formula reads its own row
            assert ws[f"{note}{up(r)}"].value == f"=LEN({d}{up(r)})+$A$1", r
    header = lambda notes: [c for c in notes if re.fullmatch(r"[A-Z]+1", c[0])]  # noqa: E731
    assert header(after["comments"]) == header(before["comments"])
    assert [c for c in after["comments"] if c not in header(after["comments"])] == [(f"{d}{up(k1)}", "客户很着急")]
    assert after["links"] == [(f"{f['order']}{up(k1)}", "https://example.com/order/k1")]
    assert sorted(after["merged"]) == sorted([f"{note}{up(k2)}:{remark}{up(k2)}",
                                              f"{remark}{up(f['g3'] + 1)}:{remark}{up(f['g3'] + 2)}"])
    # g1's left
    assert [v for v in after["validations"] if v[1] == "1" and "20000" not in v[0]] == [(f"{remark}{up(k1)}", "1", "5")]
    assert [s for s, _ in after["formatting"] if "20000" not in s] == [f"A{up(k1)}:C{up(k2)}"]
    area = [c for c in before["formatting"] if "20000" in c[0]]   # the input area's formatting stays
    assert area and all(c in after["formatting"] for c in area)
    assert [v for v in before["validations"] if "20000" in v[0]] == [v for v in after["validations"] if "20000" in v[0]]
    assert ("重点行", f"投诉登记!$A${up(k2)}:$BP${up(k2)}") in after["names"]
    assert after["table"] == f"A1:{LAST}{len(reg_after)}"
    with zipfile.ZipFile(paths["fast"]) as z:
        assert 'fullCalcOnLoad="1"' in z.read("xl/workbook.xml").decode("utf-8")


def test_the_archived_register_opens_as_a_spreadsheet(archived, tmp_path):
    paths, f = archived
    lines = list(csv.reader(io.StringIO(convert(paths["fast"], "csv", tmp_path).read_text(encoding="utf-8"))))
    ws = load_workbook(paths["fast"], read_only=True)["投诉登记"]
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [line[0] for line in lines[1:len(rows) + 1]] == [r[0] or "" for r in rows]
    desc = lines[0].index("问题描述")
    assert [line[desc] for line in lines[1:len(rows) + 1]] == [r[desc] or "" for r in rows]  # Chinese intact


def test_the_register_works_on_after_an_archive(archived, cli, monkeypatch, tmp_path):
    """Assign, sla and find after the archive: both stores agree (the streaming store reads afresh:
    the archive rewrote formulas of rows that stay, so no row index follows them)."""
    paths, _ = archived
    assert not index_path(paths["fast"]).exists()
    exported = {}
    for store, path in paths.items():
        work = tmp_path / store / path.name
        work.parent.mkdir()
        shutil.copy(path, work)
        run(cli, monkeypatch, store, "assign", work, "--now", NOW)
        run(cli, monkeypatch, store, "sla", work, "--now", NOW)
        exported[store] = json.loads(run(cli, monkeypatch, store, "export", work).stdout)
    assert exported["fast"] == exported["openpyxl"]
    assert exported["fast"] and all(row["status"] != "已关闭" for row in exported["fast"])


def test_an_archive_reads_the_same_streamed_as_through_openpyxl(archived):
    paths, facts = archived
    path = paths["fast"].parent / "archive" / "投诉归档_2026_登记表.xlsx"
    rows, comms = read_archive(path)
    wb = load_workbook(path)
    grid = [list(r) for r in wb["投诉归档"].iter_rows(values_only=True)]
    lookup = header_lookup()
    keys = [lookup.get(normalise_header(h)) for h in grid[0]]
    assert [r.values for r in rows] == [{k: v for k, v in zip(keys, line) if k} for line in grid[1:]]
    assert [r.row_id for r in rows] == [-r for r in range(2, len(grid) + 1)]
    expected = [dict(zip([k for k, _, _ in COMMS_COLUMNS], line))
                for line in wb["沟通记录"].iter_rows(min_row=2, values_only=True)]
    assert comms == expected and len(comms) == 2   # the kept complaint's entry stays in the register
    assert {c["content"] for c in comms} == {"已电话联系\n客户同意换货", " 前后有空格 "}


def test_reading_some_columns_or_some_rows_of_an_archive_equals_reading_it_all(archived):
    paths, _ = archived
    path = paths["fast"].parent / "archive" / "投诉归档_2026_登记表.xlsx"
    rows, _ = read_archive(path)
    for keys in (("complaint_no", "received_at", "customer_id", "contact", "category", "callback_note"),
                 ("received_at", "status"), ("complaint_no",)):   # (the last two from the cache)
        expected = [(r.row_id, {k: r.values.get(k) for k in keys}) for r in rows
                    if any(r.values.get(k) not in (None, "") for k in keys)]
        assert [(r.row_id, r.values) for r in read_archive_columns(path, keys)] == expected
    some = {-rows[0].row_id, -rows[-1].row_id, -rows[len(rows) // 2].row_id}
    assert read_archive(path, some, comms=False)[0] == [r for r in rows if -r.row_id in some]


def test_find_in_the_archives_equals_comparing_every_archived_row(archived, monkeypatch):
    from complaintdesk.adapters.archive_shelf import FileArchives
    from complaintdesk.adapters.stores import open_store
    from complaintdesk.services import archive as service
    paths, facts = archived
    rows, _ = read_archive(paths["fast"].parent / "archive" / "投诉归档_2026_登记表.xlsx")
    some = rows[len(rows) // 3].values
    contact = str(some["contact"])
    queries = [some["complaint_no"], contact, f"{contact[:3]} {contact[3:7]}-{contact[7:]}", some["customer_name"],
               str(some["order_no"]).lower(), str(some["description"])[2:6], "客户", "不存在的内容", "=等待"]
    store = open_store(paths["fast"], kind="fast")
    try:
        searched = [service.find(store, q, unmasked=True).data["hits"] for q in queries]
        monkeypatch.setattr(FileArchives, "rows_mentioning", lambda shelf, *asked: shelf.rows())  # every row
        compared = [service.find(store, q, unmasked=True).data["hits"] for q in queries]
    finally:
        store.close()
    assert searched == compared
    assert all(any(h["source"] == "归档" for h in hits) for hits in searched[:6])


def test_an_archive_is_scanned_once_per_version_of_the_file(archived, monkeypatch, tmp_path):
    from complaintdesk.adapters.faststore import archive_files
    paths, _ = archived
    path = tmp_path / "投诉归档_2026_登记表.xlsx"
    shutil.copy(paths["fast"].parent / "archive" / "投诉归档_2026_登记表.xlsx", path)
    keys = ("complaint_no", "received_at", "status")
    first = read_archive_columns(path, keys)
    assert archive_files.cache_path(path).exists() and len(first) > 100

    def no_scan(*args):
        raise AssertionError("scanned again")
    with monkeypatch.context() as m:
        m.setattr(archive_files, "_cells_of", no_scan)
        assert read_archive_columns(path, keys) == first
    rows, comms = read_archive(path)
    archive_files.write_archive(path, [r.values for r in rows[:5]], comms)   # a new version of the file
    assert [r.values["complaint_no"] for r in read_archive_columns(path, keys)] == \
        sorted(r.values["complaint_no"] for r in rows[:5])
