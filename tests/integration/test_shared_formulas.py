"""Formulas staff filled down a column: Excel saves them as shared formulas (the text in the first
cell only). Every read of the streaming store — a full scan on two cores, the row index, a read of
some rows from their segments, an export in a worker, an archive — gives each cell the formula
openpyxl gives it, never the cached result."""
import json
import re
import shutil
import zipfile

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter as _letter
from openpyxl.worksheet.formula import ArrayFormula

from complaintdesk.adapters.faststore import fast_store, saving
from complaintdesk.adapters.faststore.archive_files import archive_columns, read_archive_columns, read_archive_rows
from complaintdesk.adapters.faststore.fast_store import FastStore
from complaintdesk.adapters.faststore.register_index import index_path
from complaintdesk.adapters.xlsx_store import XlsxStore
from complaintdesk.adapters.xlsxstream import parallel_scan
from complaintdesk.adapters.xlsxstream.sheet_xml import col_index
from complaintdesk.domain.schema import KEYS as _KEYS
from tests.integration.test_fast_store import (
    bench_module,
    full_read,
    indexed_read,
    run,
    small_pieces,
    split_and_full,
)

REMARKS, RESP, NOTE = (_letter(_KEYS.index(k) + 1) for k in ("remarks", "responsibility", "callback_note"))

SHEET = "xl/worksheets/sheet1.xml"
CELL = re.compile(rb'<c r="([A-Z]+)\d+"[^>]*?(?:/>|>.*?</c>)', re.S)


def fill_down(path, letters, first, last, formula, si, part=SHEET):
    """Excel's shape of `formula` (written for row `first`) filled down to row `last` in column
    `letters`: the text in the first cell, <f t="shared" si=…/> in the others, cached results kept."""
    with zipfile.ZipFile(path) as z:
        parts = {info: z.read(info) for info in z.infolist()}
    info = next(i for i in parts if i.filename == part)
    col = col_index(letters)

    def row(m: re.Match) -> bytes:
        r = int(m.group(1))
        if not first <= r <= last:
            return m.group(0)
        cells = [c for c in CELL.finditer(m.group(2)) if c.group(1).decode() != letters]
        f = (f'<f t="shared" ref="{letters}{first}:{letters}{last}" si="{si}">{formula}</f>' if r == first
             else f'<f t="shared" si="{si}"/>')
        new = f'<c r="{letters}{r}" t="str">{f}<v>cached {r}</v></c>'.encode()
        at = next((i for i, c in enumerate(cells) if col_index(c.group(1).decode()) > col), len(cells))
        body = b"".join(c.group(0) for c in cells[:at]) + new + b"".join(c.group(0) for c in cells[at:])
        return m.group(0)[:m.start(2) - m.start()] + body + b"</row>"

    parts[info] = re.sub(rb'<row r="(\d+)"[^>]*>(.*?)</row>', row, parts[info], flags=re.S)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i, data in parts.items():
            z.writestr(i, data)


def register(tmp_path, rows=1200):
    path = tmp_path / "big.xlsx"
    bench_module().build(path, rows, shared_strings=False)  # many pieces: masters in the first, cells in all
    last, light = rows + 1, rows * 2 // 5
    fill_down(path, REMARKS, 2, last, f"IF($L2=&quot;&quot;,&quot;&quot;,LEN(L2)+SUM({RESP}$2:{RESP}2))", 0)
    fill_down(path, "F", light, light + 60, f"E{light}&amp;&quot;-&quot;&amp;$H$1", 1)  # a light column, closed rows
    fill_down(path, NOTE, last - 11, last, f"'人员'!A1&amp;L{last - 11}", 2)  # a block in the last piece only
    return path


def export(cli, monkeypatch, store, path, *options):
    return json.loads(run(cli, monkeypatch, store, "export", path, *options).stdout)


def test_filled_down_formulas_read_as_openpyxl_reads_them(tmp_path, cli, monkeypatch):
    size = 1200
    path = register(tmp_path, size)
    last, filled = size + 1, size * 2 // 5 + 30  # the last row; a row of the light column's block
    small_pieces(monkeypatch, 384 << 10, writer=True)  # many pieces: most cells far from their master
    monkeypatch.setattr(saving, "SCAN_BATCH", 5)  # written rows indexed in batches, masters far away
    wb = load_workbook(path, read_only=True)
    ws = wb["投诉登记"]
    assert ws[f"{REMARKS}{last}"].value == f'=IF($L{last}="","",LEN(L{last})+SUM({RESP}$2:{RESP}{last}))'
    slow = export(cli, monkeypatch, "openpyxl", path)
    by_no = {r["complaint_no"]: r for r in slow if r["complaint_no"]}
    assert slow[-1]["remarks"] == ws[f"{REMARKS}{last}"].value and slow[filled - 2]["contact"] == f'=E{filled}&"-"&$H$1'
    assert slow[-1]["callback_note"] == f"='人员'!A12&L{last}"
    wb.close()

    # a full scan on two cores (the worker scans the first piece), then the row index
    monkeypatch.setattr(parallel_scan, "PARALLEL_FROM", 0)
    assert export(cli, monkeypatch, "fast", path) == slow
    scanned = full_read(path)
    assert scanned[last]["remarks"] == slow[-1]["remarks"]
    assert scanned[filled]["contact"] == f'=E{filled}&"-"&$H$1' and scanned[filled].get("_light")
    run(cli, monkeypatch, "fast", "assign", path, "--now", "2026-11-20T10:00")
    rows, segments = indexed_read(path)
    assert segments and rows == full_read(path)
    split, full, ids = split_and_full(path)  # closed rows read in full from their segments
    assert any(v.get("remarks", "").startswith("=IF(") for _, v in full) and len(full) > 10
    assert (split, full) == split_and_full(path, ids, index=False)[:2]
    late = [r for r in ids if r > size * 2 // 3]  # only segments after the masters' are read: the index knows them
    assert split_and_full(path, late)[1] == [(r, v) for r, v in full if r in late] and len(late) > 3
    for r, values in full:
        assert values["remarks"] == f'=IF($L{r}="","",LEN(L{r})+SUM({RESP}$2:{RESP}{r}))'

    # an export whose first pieces (at least) are converted in the worker: cells of the second wait
    # for the first piece's masters; on a register the fast store wrote
    store = FastStore(path)
    pieces = len(list(store._chunks()))
    store.zip.close()
    monkeypatch.setattr(fast_store, "EXPORT_WORKER_FROM", 0)
    here = []
    monkeypatch.setattr(parallel_scan, "_here", lambda work, buf: here.append(1) or work(buf))
    helped = export(cli, monkeypatch, "fast", path)
    assert pieces >= 5 and len(here) <= pieces - 2 and helped == export(cli, monkeypatch, "openpyxl", path)
    assert {r["complaint_no"]: r["remarks"] for r in helped if r["complaint_no"] in by_no} == \
        {no: r["remarks"] for no, r in by_no.items()}
    csv = run(cli, monkeypatch, "fast", "export", path, "--format", "csv").stdout
    assert csv == run(cli, monkeypatch, "openpyxl", "export", path, "--format", "csv").stdout


def test_both_stores_archive_filled_down_formulas_alike(tmp_path, cli, monkeypatch):
    source = register(tmp_path, 600)   # ~1.7 MB of sheet XML, read and streamed in small pieces:
    small_pieces(monkeypatch, 128 << 10, writer=True)
    pieces = FastStore(source)
    assert len(list(pieces._chunks())) >= 8   # most cells far from their master
    pieces.zip.close()
    results = {}
    for store in ("openpyxl", "fast"):
        (tmp_path / store).mkdir()  # each its own archive folder
        path = tmp_path / store / "big.xlsx"
        shutil.copy(source, path)
        run(cli, monkeypatch, store, "assign", path, "--now", "2026-11-20T10:00")
        run(cli, monkeypatch, store, "sla", path, "--now", "2026-11-20T10:00")
        run(cli, monkeypatch, store, "archive", path, "--now", "2026-12-25T10:00")
        results[store] = export(cli, monkeypatch, store, path), export(cli, monkeypatch, "openpyxl", path)
        assert not index_path(path).exists() or indexed_read(path)[0] == full_read(path)
    (fast, fast_by_openpyxl), (slow, _) = results["fast"], results["openpyxl"]
    assert fast == fast_by_openpyxl == slow
    assert 100 < len(fast) < 550 and fast[-1]["remarks"].startswith("=IF($L")
    store = FastStore(tmp_path / "fast" / "big.xlsx")
    last = max(r.row_id for r in store.rows())
    formula = f'=IF($L{last}="","",LEN(L{last})+SUM({RESP}$2:{RESP}{last}))'
    assert store.read_full([last])[0].values["remarks"] == formula
    store.zip.close()

    # staff fill a formula down the archive file in Excel: every reader of archives reads it too
    archive = tmp_path / "fast" / "archive" / "投诉归档_2026_big.xlsx"
    ws = load_workbook(archive).worksheets[0]
    letter = {c.value: c.column_letter for c in ws[1]}
    last = ws.max_row
    fill_down(archive, letter["备注"], 2, last, "LEN(A2)", 0)
    fill_down(archive, letter["联系方式"], 3, last, "$A$1&amp;A3", 1)
    ws = load_workbook(archive).worksheets[0]
    rows = {-r.row_id: r.values for r in read_archive_rows(archive)}
    assert len(rows) == last - 1 > 200
    assert {r: (v["remarks"], v["contact"]) for r, v in rows.items()} == \
        {r: (ws[f"{letter['备注']}{r}"].value, ws[f"{letter['联系方式']}{r}"].value) for r in rows}
    assert rows[last]["remarks"] == f"=LEN(A{last})"
    columns = {-r.row_id: r.values["contact"] for r in read_archive_columns(archive, ["contact", "remarks"])}
    assert columns == {r: v["contact"] for r, v in rows.items()} and columns[last] == f"=$A$1&A{last}"
    assert archive_columns(archive, ["contact"])[1]["contact"] == [rows[r]["contact"] for r in sorted(rows)]


def test_a_filled_down_formula_in_a_small_sheet_reads_alike(register):
    staff = FastStore(register).parts["人员"]
    fill_down(register, "D", 2, 5, "LOWER(B2)&amp;&quot;@example.com&quot;", 0, part=staff)
    slow, fast = XlsxStore(register), FastStore(register)
    assert fast.table("staff") == slow.table("staff")
    emails = [r["email"] for r in fast.table("staff")]
    assert emails[:4] == [f'=LOWER(B{r})&"@example.com"' for r in range(2, 6)] and "@" in emails[4][1:]
    fast.zip.close()


def test_an_array_formula_reads_as_its_text_in_both_stores(register, cli, monkeypatch):
    wb = load_workbook(register)
    ws = wb["投诉登记"]
    head = {c.value: c.column_letter for c in ws[1]}
    for r in (2, 3):
        for key, value in {"接收时间": "2026-11-20 09:00", "客户姓名/昵称": "张三", "联系方式": "13800000000",
                           "问题描述": "质量问题", "投诉类别": "产品质量", "诉求类型": "投诉"}.items():
            ws[f"{head[key]}{r}"] = value
    ws[f"{head['备注']}2"] = ArrayFormula(f"{head['备注']}2", "=SUM(1,2)")
    ws[f"{head['客户诉求']}3"] = ArrayFormula(f"{head['客户诉求']}3", '=TEXTJOIN("、",TRUE,E3:F3)')
    wb.save(register)
    exported = {store: export(cli, monkeypatch, store, register) for store in ("openpyxl", "fast")}
    assert exported["openpyxl"] == exported["fast"]
    assert [r["remarks"] for r in exported["fast"]] == ["=SUM(1,2)", None]
    assert exported["fast"][1]["demand"] == '=TEXTJOIN("、",TRUE,E3:F3)'
