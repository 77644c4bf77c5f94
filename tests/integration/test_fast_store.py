"""The fast (streaming) store gives the same results as the openpyxl store and keeps everything else intact."""
import importlib.util
import json
import shutil
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment

from complaintdesk.adapters.faststore import fast_store, saving
from complaintdesk.adapters.faststore import rows as row_reads
from complaintdesk.adapters.faststore.fast_store import FastStore
from complaintdesk.adapters.faststore.register_index import index_path
from complaintdesk.adapters.stores import FAST_THRESHOLD, open_store
from complaintdesk.adapters.xlsx_store import XlsxStore
from complaintdesk.adapters.xlsxstream import deflate_segments, parallel_scan, sheet_writer
from complaintdesk.adapters.xlsxstream.deflate_segments import member_data_offset
from tests.conftest import complaint, convert, read_rows, type_rows

ROOT = Path(__file__).resolve().parents[2]


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_register", ROOT / "scripts" / "bench_register.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def small_pieces(monkeypatch, size: int, writer: bool = False) -> None:
    """Read the register sheet in pieces of `size` bytes (with `writer`, write its segments so too):
    several pieces from a register of a few hundred rows. An inflating read gives ~7× its block, so
    the block is made small as well."""
    monkeypatch.setattr(fast_store, "CHUNK", size)
    if writer:
        monkeypatch.setattr(sheet_writer, "CHUNK", size)
    monkeypatch.setattr(deflate_segments._Inflating, "BLOCK", 1 << 15)


def run(cli, monkeypatch, store, *args, code=0):
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    return cli(*args, code=code)


def sheet(path, name):
    """A sheet's values as rows, streamed (a tool sheet of a large register in ms, not seconds) —
    every row it holds, whatever its <dimension> claims."""
    wb = load_workbook(path, read_only=True)
    try:
        ws = wb[name]
        ws.reset_dimensions()
        return [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def cycle(cli, monkeypatch, store, path, tmp_path):
    run(cli, monkeypatch, store, "assign", path, "--now", "2026-11-20T10:00")
    run(cli, monkeypatch, store, "sla", path, "--now", "2026-11-20T10:00")
    number = json.loads(run(cli, monkeypatch, store, "export", path).stdout)[-1]["complaint_no"]
    run(cli, monkeypatch, store, "log", path, number, "--content", "已回电", "--now", "2026-11-20T10:30")
    run(cli, monkeypatch, store, "docs", path, "--all-due", "--kind", "survey", "--out", tmp_path / store,
        "--now", "2026-11-20T11:00")
    run(cli, monkeypatch, store, "sla", path, "--now", "2026-11-21T10:00")
    return json.loads(run(cli, monkeypatch, store, "export", path).stdout)


@pytest.mark.parametrize("held", [row_reads.HELD_ROWS, 0], ids=["held", "let-go"])
def test_both_stores_give_identical_results_on_a_multi_chunk_register(tmp_path, cli, monkeypatch, held):
    """A whole cycle gives the same register with either store — also when the fast store lets go
    of every row once written (as it does past HELD_ROWS)."""
    monkeypatch.setattr(row_reads, "HELD_ROWS", held)
    source = tmp_path / "big.xlsx"
    bench_module().build(source, 500, shared_strings=False)   # ~1.4 MB of sheet XML
    small_pieces(monkeypatch, 256 << 10)   # read and streamed in four pieces or more
    slow, fast = tmp_path / "slow.xlsx", tmp_path / "fast.xlsx"
    shutil.copy(source, slow)
    shutil.copy(source, fast)
    exported_slow = cycle(cli, monkeypatch, "openpyxl", slow, tmp_path)
    exported_fast = cycle(cli, monkeypatch, "fast", fast, tmp_path)
    assert len(exported_fast) == 500
    store = FastStore(fast)
    assert len(list(store._chunks())) >= 4   # the cycle really went through several pieces
    store.zip.close()
    assert exported_fast == exported_slow
    for name in ("变更记录", "预警", "编号计数", "沟通记录", "案例库"):
        assert sheet(fast, name) == sheet(slow, name), name
    surveys = sorted(p.name for p in (tmp_path / "fast").iterdir())
    assert surveys and surveys == sorted(p.name for p in (tmp_path / "openpyxl").iterdir())


def test_everything_else_survives_a_fast_save(register, cli, monkeypatch, tmp_path):
    type_rows(register, [complaint(), complaint(contact="13900000000", description="第二条\n多行")])
    wb = load_workbook(register)
    ws = wb["投诉登记"]
    head = {c.value: c.column for c in ws[1]}
    ws.cell(2, head["备注"], "=LEN(L2)")                                     # a formula staff typed
    ws.cell(3, head["客户诉求"], CellRichText([TextBlock(InlineFont(b=True), "加粗"), "普通"]))
    ws.cell(2, head["问题描述"]).comment = Comment("客户很着急", "李客服")
    ws.cell(2, head["订单号"]).hyperlink = "https://example.com/order/1"
    ws.merge_cells(start_row=5, start_column=head["备注"], end_row=5, end_column=head["备注"] + 1)
    wb.save(register)
    before = {n: z for n, z in _parts(register).items() if not n.startswith("xl/worksheets/sheet1.xml")}
    run(cli, monkeypatch, "fast", "assign", register, "--now", "2026-10-09T15:00")
    after = _parts(register)
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed <= {"xl/worksheets/sheet11.xml", "xl/worksheets/sheet14.xml", "xl/tables/table1.xml",
                       "xl/styles.xml"}  # audit, counter: every other part byte for byte
    wb = load_workbook(register, rich_text=True)
    ws = wb["投诉登记"]
    assert ws.cell(2, head["备注"]).value == "=LEN(L2)" and ws.cell(2, head["备注"]).data_type == "f"
    assert isinstance(ws.cell(3, head["客户诉求"]).value, CellRichText)
    assert ws.cell(2, head["问题描述"]).comment.text == "客户很着急"
    assert ws.cell(2, head["订单号"]).hyperlink.target == "https://example.com/order/1"
    assert any(str(r).startswith(ws.cell(5, head["备注"]).coordinate) for r in ws.merged_cells.ranges)
    assert ws.cell(3, head["问题描述"]).value == "第二条\n多行"
    assert [r["complaint_no"] for r in read_rows(register)] == ["20261009-CS-001", "20261009-CS-002"]
    assert ws.tables["ComplaintRegister"].ref.startswith("A1:")
    assert len(ws.data_validations.dataValidation) > 40 and len(list(ws.conditional_formatting)) >= 1
    with zipfile.ZipFile(register) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert "_x" not in xml.split("<sheetData>")[1].split("</sheetData>")[0].replace("_xml", "")
    csv = convert(register, "csv", tmp_path).read_text(encoding="utf-8")
    assert "20261009-CS-002" in csv and "第二条" in csv


def _parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_formatting_is_added_when_missing(register, cli, monkeypatch):
    wb = load_workbook(register)
    wb["投诉登记"].conditional_formatting = type(wb["投诉登记"].conditional_formatting)()
    wb.save(register)
    type_rows(register, [complaint(received_at=datetime(2026, 10, 9, 9))])
    run(cli, monkeypatch, "fast", "assign", register, "--now", "2026-10-09T10:00")
    run(cli, monkeypatch, "fast", "sla", register, "--now", "2026-10-12T10:00")
    rules = [r.formula[0] for rng in load_workbook(register)["投诉登记"].conditional_formatting for r in rng.rules]
    assert '"已超时"' in rules and '"即将超时"' in rules


def test_store_choice(register, tmp_path, monkeypatch):
    monkeypatch.delenv("COMPLAINTDESK_STORE", raising=False)
    assert isinstance(open_store(register), XlsxStore)      # small file
    big = tmp_path / "big.xlsx"
    bench_module().build(big, 800, shared_strings=False)
    assert big.stat().st_size > FAST_THRESHOLD and isinstance(open_store(big), FastStore)
    monkeypatch.setenv("COMPLAINTDESK_STORE", "openpyxl")
    assert isinstance(open_store(big), XlsxStore)
    before = read_rows(big)
    store = FastStore(big)  # the streaming store takes rows out too (archive)
    store.remove_register([2, 4])
    store.save()
    store.close()
    assert read_rows(big) == [before[1]] + before[3:]


# ---- the row index and segmented saves ------------------------------------------------------

def full_read(path):
    """Rows as a full scan of the file gives them (the index set aside)."""
    index = index_path(path)
    kept = index.read_bytes() if index.exists() else None
    index.unlink(missing_ok=True)
    store = FastStore(path)
    rows = {r.row_id: dict(r.values) for r in store.rows()}
    store.zip.close()
    if kept is not None:
        index.write_bytes(kept)
    return rows


def indexed_read(path):
    store = FastStore(path)
    assert store._load_index() is not None, "the index does not match the file"
    rows = {r.row_id: dict(r.values) for r in store.rows()}
    segments = store._index.segments
    store.zip.close()
    return rows, segments


def split_and_full(path, ids=None, index=True):
    """What split_rows and read_full give (from the index's columns, or from a full scan)."""
    kept = None
    if not index:
        kept = index_path(path).read_bytes()
        index_path(path).unlink()
    store = FastStore(path)
    open_rows, closed = store.split_rows(("complaint_no", "received_at", "status"))
    ids = ids or closed.rows[::97] + [r.row_id for r in open_rows[::50]]
    full = [(r.row_id, r.values) for r in store.read_full(ids)]
    store.zip.close()
    if kept is not None:
        index_path(path).write_bytes(kept)
    return ([(r.row_id, r.values) for r in open_rows], sorted(zip(closed.rows, *closed.columns.values()))), full, ids


def segment_bytes(path):
    store = FastStore(path)
    info = store.zip.getinfo(store.register_part)
    base = member_data_offset(store.zip, info)
    out = []
    for seg in store._load_index().segments:
        store.zip.fp.seek(base + seg.offset)
        out.append(store.zip.fp.read(seg.size))
    store.zip.close()
    return out


def test_a_save_too_large_to_hold_indexes_what_it_wrote_from_the_file(tmp_path, monkeypatch):
    """Past WRITTEN_BUDGET the rows written are read back from the new file into the index a segment
    at a time; the store goes on reading and saving as after any save."""
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 700, shared_strings=False)
    monkeypatch.setattr(sheet_writer, "WRITTEN_BUDGET", 16 << 10)
    # segments of 64 KB, every row written anew: the middle ones are read back whole
    monkeypatch.setattr(deflate_segments.SegmentWriter.__init__, "__defaults__", (64 << 10,))
    store = FastStore(path)
    everyone = store.rows()
    open_rows = [r for r in everyone if not r.values.get("_light")]
    assert len(open_rows) > 20
    for row in everyone:
        store.set_cells(row.row_id, {"handler": f"处理人{row.row_id}"})
    read_back = []
    real_read_back = saving.Saving._read_back
    monkeypatch.setattr(saving.Saving, "_read_back", lambda self, rows: read_back.extend(real_read_back(self, rows))
                        or iter(read_back))
    store.save()
    assert not store._written and store._index is None  # the index was written, not kept
    assert len(read_back) > 5 and all(b"</sheetData>" not in piece for piece in read_back[1:-1])
    monkeypatch.setattr(saving.Saving, "_read_back", real_read_back)
    assert {r.row_id: dict(r.values) for r in store.rows()} == full_read(path)
    rows, segments = indexed_read(path)
    assert segments and rows == full_read(path)
    assert all(rows[r.row_id]["handler"] == f"处理人{r.row_id}" for r in open_rows)
    store.set_cells(open_rows[0].row_id, {"handler": "再改"})  # a second save in the same command
    store.save()
    store.close()
    rows, _ = indexed_read(path)
    assert rows == full_read(path) and rows[open_rows[0].row_id]["handler"] == "再改"
    # the index is a cache: when the rows cannot be read back, the save stands and the index goes
    store = FastStore(path)
    for row in open_rows:
        store.set_cells(row.row_id, {"handler": "第三次"})
    def unreadable(self, rows):
        raise zlib.error("damaged")
        yield b""  # (a generator, as the real one)
    monkeypatch.setattr(saving.Saving, "_read_back", unreadable)
    store.save()
    store.close()
    assert not index_path(path).exists()
    assert all(v.get("handler") == "第三次" for r, v in full_read(path).items() if r in {o.row_id for o in open_rows})


def test_cells_set_survive_later_reads_until_the_save(tmp_path):
    """A patch of a row read in full keeps only its columns (the values live in the row's dict);
    a closed row's patch keeps its values. Reads between the change and the save (the whole sheet
    in full, the index merged in) leave both as set, and the save writes them."""
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 700, shared_strings=False)
    store = FastStore(path)
    rows = store.rows()
    open_row = next(r for r in rows if not r.values.get("_light"))
    closed_row = next(r for r in rows if r.values.get("_light"))
    store.set_cells(open_row.row_id, {"handler": "甲", "department": "售后部"})
    store.set_cells(closed_row.row_id, {"handler": "乙"})
    assert store._patches[open_row.row_id].items() == [(store.columns["handler"], "甲"),
                                                       (store.columns["department"], "售后部")]
    assert isinstance(store._patches[closed_row.row_id], dict)
    store.set_cells(open_row.row_id, {"handler": "丙"})  # set again: one column, the last value
    everything = {r.row_id: r.values for r in store.rows(full=True)}
    assert everything[open_row.row_id]["handler"] == "丙" and everything[closed_row.row_id]["handler"] == "乙"
    assert len(store._patches[open_row.row_id]) == 2
    store.save()
    store.close()
    again = full_read(path)
    assert again[open_row.row_id]["handler"] == "丙" and again[open_row.row_id]["department"] == "售后部"
    reader = FastStore(path)
    assert reader.read_full([closed_row.row_id])[0].values["handler"] == "乙"
    reader.close()


def test_rows_let_go_are_read_again_with_their_writes(tmp_path, monkeypatch):
    """Past HELD_ROWS a row written and released keeps only the cells written: its dict is emptied
    in place; any later read gives it whole again (the writes overlaid), fill_empty still sees what
    staff typed, and the save and its index are what they are without letting go."""
    monkeypatch.setattr(row_reads, "HELD_ROWS", 0)
    path, twin = tmp_path / "big.xlsx", tmp_path / "twin.xlsx"
    bench_module().build(path, 700, shared_strings=False)
    shutil.copy(path, twin)
    for p, let_go in ((path, True), (twin, False)):
        store = FastStore(p)
        open_rows, _ = store.split_rows(())
        before = {r.row_id: dict(r.values) for r in open_rows}
        for row in open_rows:
            store.set_cells(row.row_id, {"handler": f"处理人{row.row_id}"})
            if let_go:
                store.release([row.row_id])
        typed = next(r for r in open_rows if before[r.row_id].get("last_update_at"))
        empty = next(r for r in open_rows if not before[r.row_id].get("last_update_at"))
        if let_go:
            assert typed.values == {row_reads.RELEASED: True} and len(store._released) == len(open_rows)
        assert not store.fill_empty(typed.row_id, "last_update_at", datetime(2026, 11, 20, 10))
        assert store.fill_empty(empty.row_id, "last_update_at", datetime(2026, 11, 20, 10))
        again = {r.row_id: r.values for r in store.read_full([typed.row_id, empty.row_id])}
        assert again[typed.row_id] == {**before[typed.row_id], "handler": f"处理人{typed.row_id}"}
        assert again[empty.row_id]["last_update_at"] == datetime(2026, 11, 20, 10)
        if let_go:
            store.release([typed.row_id, empty.row_id])
        split, _ = store.split_rows(())
        assert {r.row_id: r.values["handler"] for r in split} == {r: f"处理人{r}" for r in before}
        assert all(r.values == {**before[r.row_id], **r.values} for r in split if r.row_id != empty.row_id)
        if let_go:
            assert not store._released
            store.release(list(before))
        store.save()
        assert not store._released and not any(row_reads.RELEASED in v for v in store._values.values())
        after = {r.row_id: dict(r.values) for r in store.rows()}
        store.close()
        rows, _ = indexed_read(p)
        assert rows == full_read(p) == after
    assert full_read(path) == full_read(twin)


@pytest.mark.parametrize("held", [row_reads.HELD_ROWS, 0], ids=["held", "let-go"])
def test_the_row_index_always_equals_a_full_read(tmp_path, cli, monkeypatch, held):
    """After every command the index equals a full read — also when the rows were let go as they
    were evaluated and their cells not kept (a register of more than HELD_ROWS rows)."""
    monkeypatch.setattr(row_reads, "HELD_ROWS", held)
    path = tmp_path / "big.xlsx"
    size = 1200
    bench_module().build(path, size, shared_strings=False)
    monkeypatch.setattr(saving, "SCAN_BATCH", 7)  # the rows a save wrote are indexed in many batches
    # ... and past 64 KB of them, read back from the file written (a first fill of 200,000 rows)
    monkeypatch.setattr(sheet_writer, "WRITTEN_BUDGET", 64 << 10)
    read_back = []
    real_read_back = saving.Saving._read_back
    monkeypatch.setattr(saving.Saving, "_read_back", lambda self, rows: read_back.append(len(rows))
                        or real_read_back(self, rows))
    assert not index_path(path).exists()
    steps = [("assign", path, "--now", "2026-11-20T10:00"), ("sla", path, "--now", "2026-11-20T10:00"),
             ("sla", path, "--now", "2026-11-24T16:00")]
    for step in steps:
        run(cli, monkeypatch, "fast", *step)
        rows, segments = indexed_read(path)
        assert segments and len(segments) > 3, step
        assert rows == full_read(path), step
        split, full, ids = split_and_full(path)
        assert (split, full) == split_and_full(path, ids, index=False)[:2], step
        assert len(full) == len(ids) > 12 and all(not v.get("_light") and "description" in v for _, v in full)
    assert read_back and read_back[0] > 100  # the rows the first assign wrote, read back
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
    # the streamed export reads exactly what a full read gives
    streamed, whole = FastStore(path), FastStore(path)
    assert [(r.row_id, r.values) for r in streamed.full_rows()] == \
        [(r.row_id, r.values) for r in whole.rows(full=True)]
    streamed.zip.close()
    whole.zip.close()
    # a one-row change re-encodes one segment; every other one is copied compressed
    before = segment_bytes(path)
    number = json.loads(run(cli, monkeypatch, "fast", "export", path).stdout)[size // 2]["complaint_no"]
    run(cli, monkeypatch, "fast", "log", path, number, "--content", "已回电", "--now", "2026-11-24T16:30")
    after = segment_bytes(path)
    assert len(after) == len(before) and sum(a != b for a, b in zip(before, after)) <= 1
    rows, _ = indexed_read(path)
    assert rows == full_read(path)
    # what openpyxl, a spreadsheet and the openpyxl store read is what the fast store reads
    slow = {r.row_id: r.values.get("complaint_no") for r in XlsxStore(path).rows()}
    assert slow == {r: v.get("complaint_no") for r, v in rows.items() if v.get("complaint_no")}
    csv = convert(path, "csv", tmp_path).read_text(encoding="utf-8")
    assert number in csv and csv.count("\n") >= size
    # rows leave (archive): the index follows the rows that stay to their new numbers
    gone = sum(v.get("status") == "已关闭" for v in rows.values())
    run(cli, monkeypatch, "fast", "archive", path, "--now", "2026-12-25T10:00")
    if not held:  # rows read from the index without their cells: the archive's save drops it ...
        assert not index_path(path).exists()
        run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-12-25T10:00")  # ... the next command scans
    rows, segments = indexed_read(path)
    assert segments and len(rows) == len(full_read(path)) <= size - gone + 40
    assert rows == full_read(path)
    split, full, ids = split_and_full(path)
    assert (split, full) == split_and_full(path, ids, index=False)[:2]


def test_a_read_with_a_scanning_worker_equals_one_without(tmp_path, monkeypatch):
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 3000, shared_strings=False)  # two pieces: the worker scans the first

    def read():
        store = FastStore(path)
        open_rows, closed = store.split_rows(("complaint_no", "received_at", "status", "case_library"))
        split = [(r.row_id, r.values) for r in open_rows], closed
        rows = {r.row_id: dict(r.values) for r in store.rows(full=True)}
        store.zip.close()
        assert not index_path(path).exists()
        return split, rows

    monkeypatch.setattr(parallel_scan, "PARALLEL_FROM", 0)
    monkeypatch.setenv("COMPLAINTDESK_WORKERS", "0")
    alone = read()
    monkeypatch.delenv("COMPLAINTDESK_WORKERS")
    assert parallel_scan.worth_a_worker(1)
    assert len(alone[1]) == 3000 and len(alone[0][1].rows) > 1500
    assert read() == alone


def test_an_export_with_a_worker_equals_one_without(tmp_path, cli, monkeypatch):
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 1000, shared_strings=False)  # two pieces, both handed to the worker
    monkeypatch.setattr(fast_store, "EXPORT_WORKER_FROM", 0)
    here = []  # pieces converted in this process
    monkeypatch.setattr(parallel_scan, "_here", lambda work, buf: here.append(1) or work(buf))
    options = [(), ("--format", "csv", "--masked", "--include-archive")]
    helped = [run(cli, monkeypatch, "fast", "export", path, *o).stdout for o in options]
    assert not here  # the worker converted both pieces
    monkeypatch.setenv("COMPLAINTDESK_WORKERS", "0")
    alone = [run(cli, monkeypatch, "fast", "export", path, *o).stdout for o in options]
    slow = [run(cli, monkeypatch, "openpyxl", "export", path, *o).stdout for o in options]
    assert helped == alone == slow
    assert len(json.loads(helped[0])) == 1000 and helped[1].count("\n") == 1001


def test_a_stale_or_broken_index_is_never_used(tmp_path, cli, monkeypatch):
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 1000, shared_strings=False)
    run(cli, monkeypatch, "fast", "assign", path, "--now", "2026-11-20T10:00")
    assert indexed_read(path)[0]
    # staff change a closed complaint in Excel (here: openpyxl) — the sheet is rewritten
    wb = load_workbook(path)
    ws = wb["投诉登记"]
    head = {c.value: c.column for c in ws[1]}
    target = next(r for r in range(2, ws.max_row) if ws.cell(r, head["处理状态"]).value == "已关闭")
    ws.cell(target, head["客户诉求"], "客户重新投诉，要求复核")
    ws.cell(target, head["处理状态"], "处理中")
    wb.save(path)
    store = FastStore(path)
    assert store._load_index() is None
    row = next(r for r in store.rows() if r.row_id == target)
    assert row.values["demand"] == "客户重新投诉，要求复核" and not row.values.get("_light")
    store.zip.close()
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T10:00")
    rows, _ = indexed_read(path)
    assert rows == full_read(path)
    assert sheet(path, "投诉登记")[target - 1][head["客户诉求"] - 1] == "客户重新投诉，要求复核"
    # a broken index costs a full read, nothing else
    index_path(path).write_text('{"fingerprint": [1', encoding="utf-8")
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-21T10:00")
    rows, _ = indexed_read(path)
    assert rows == full_read(path)


def _rewrite_part(path, part, change):
    """Change one part of the package, every other part byte for byte (as a small edit would)."""
    with zipfile.ZipFile(path) as src:
        items = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            dst.writestr(info, change(data) if info.filename == part else data)


def test_case_library_is_rebuilt_exactly_when_its_rows_or_its_sheet_change(tmp_path, cli, monkeypatch):
    import complaintdesk.services.case_library as case_library
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 1500, shared_strings=False)
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T10:00")
    shown = sheet(path, "案例库")
    assert len(shown) > 20
    built = case_library.case_library_rows

    def refuse(store):
        raise AssertionError("案例库 rebuilt although nothing it shows changed")
    monkeypatch.setattr(case_library, "case_library_rows", refuse)
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T11:00")  # nothing it shows changed
    assert sheet(path, "案例库") == shown
    # a marked (closed) complaint's description is edited; the 案例库 part stays byte for byte
    at = len(shown) // 2
    number, description = shown[at][0], shown[at][3]

    def edit(xml):  # that complaint's row: the cell in column A holds its number
        start = xml.index(f'"><is><t>{number}</t></is></c>'.encode("utf-8"))
        start, end = xml.rfind(b"<row ", 0, start), xml.index(b"</row>", start)
        row = xml[start:end].replace(f"<t>{description}</t>".encode("utf-8"),
                                     "<t>客户改口：商品完好</t>".encode("utf-8"))
        return xml[:start] + row + xml[end:]
    _rewrite_part(path, "xl/worksheets/sheet1.xml", edit)
    with pytest.raises(AssertionError, match="rebuilt"):
        run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T12:00")
    monkeypatch.setattr(case_library, "case_library_rows", built)
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T12:00")
    rows = sheet(path, "案例库")
    assert rows[at][0] == number and rows[at][3] == "客户改口：商品完好"
    assert rows[:at] + rows[at + 1:] == shown[:at] + shown[at + 1:]
    # someone types into 案例库: the next check puts back what the register gives
    store = FastStore(path)
    store.close()
    _rewrite_part(path, store.parts["案例库"], lambda xml: xml.replace(b"</sheetData>",
                  b'<row r="900"><c r="A900" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'))
    assert sheet(path, "案例库")[-1][0] == "x"
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T13:00")
    assert sheet(path, "案例库") == rows
    slow = tmp_path / "slow.xlsx"
    shutil.copy(path, slow)
    run(cli, monkeypatch, "openpyxl", "sla", slow, "--now", "2026-11-20T13:00")
    assert sheet(slow, "案例库") == rows


def test_survey_import_reads_in_full_only_the_rows_it_names(tmp_path, cli, monkeypatch):
    source = tmp_path / "big.xlsx"
    bench_module().build(source, 1000, shared_strings=False)
    rows = read_rows(source)
    scored = next(r for r in rows if r.get("status") == "已关闭" and r.get("score_solution"))
    unscored = next(r for r in rows if r.get("complaint_no") and r.get("status") != "已关闭"
                    and not r.get("score_solution"))
    surveys = tmp_path / "surveys.csv"
    surveys.write_text("投诉编号,处理效率,服务态度,解决方案,意见\n"
                       f"{scored['complaint_no']},5,5,5,\n{unscored['complaint_no']},5,2,4,态度一般\n"
                       "20990101-CS-001,5,5,5,\n", encoding="utf-8")

    def no_full_read(self, full=None):
        assert full is not True, "a survey import read every row in full"
        return original(self, full)
    original = FastStore.rows
    results = {}
    for store in ("openpyxl", "fast"):
        path = tmp_path / f"{store}.xlsx"
        shutil.copy(source, path)
        with monkeypatch.context() as m:
            m.setattr(FastStore, "rows", no_full_read)
            out = run(cli, m, store, "surveys", "import", path, surveys, "--now", "2026-11-20T10:00").output
        results[store] = (out.replace(str(path), ""), json.loads(run(cli, monkeypatch, store, "export", path).stdout))
    assert "回访结果 1" in results["fast"][0] and "已有评分" in results["fast"][0] and "不存在" in results["fast"][0]
    assert results["fast"] == results["openpyxl"]
