"""The engine's face on a workbook that has nothing to do with complaints: read pieces, cells and
shared strings as openpyxl reads them; patch, append and copy parts so that openpyxl reads the
result; find rows by byte search. And the engine imports nothing of the complaint desk."""
import re
import subprocess
import sys
import zipfile
from datetime import datetime

from openpyxl import Workbook, load_workbook

from complaintdesk.adapters import xlsxstream as xs


def workbook(path, rows=400):
    wb = Workbook()
    ws = wb.active
    ws.title = "订单"
    ws.append(["编号", "客户", "电话", "金额", "时间"])
    for i in range(rows):
        ws.append([f"N{i:04d}", f"Client {i % 37}", f"138-0000-{i:04d}", i * 1.5, datetime(2026, 1, 1, 9, i % 60)])
    wb.create_sheet("别的")["A1"] = "不动"
    wb.save(path)
    return path


def strings_of(zf):
    return xs.shared_strings(zf.read("xl/sharedStrings.xml")) if "xl/sharedStrings.xml" in zf.namelist() else []


def read_all(path, chunk=4096):
    """Every row of the first sheet as {column: value}, through the face, in small pieces."""
    with zipfile.ZipFile(path) as zf:
        part = xs.sheet_parts(zf)["订单"]
        strings = strings_of(zf)
        with xs.open_member(path, zf, part) as fast:   # the fast inflater reads what zipfile reads
            assert b"".join(iter(fast.read, b"")) == zf.read(part)
        rows, pieces = {}, 0
        with zf.open(part) as raw:
            for buf in xs.row_pieces(raw, chunk=chunk):
                pieces += 1
                for m in xs.ROW_RE.finditer(buf):
                    rows[int(m.group(1))] = xs.row_cells(m.group(2) or b"", strings)
    return rows, pieces


def test_the_engine_imports_nothing_of_the_complaint_desk():
    code = ("import sys, complaintdesk.adapters.xlsxstream as x; "
            "print(sorted(m for m in sys.modules if m.startswith(('complaintdesk.domain', 'complaintdesk.services'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_rows_read_in_pieces_equal_openpyxl(tmp_path):
    path = workbook(tmp_path / "book.xlsx")
    rows, pieces = read_all(path)
    assert pieces > 5   # many pieces, each ending on a row boundary
    ws = load_workbook(path)["订单"]
    expected = {r: {c.column: c.value for c in row if c.value is not None}
                for r, row in enumerate(ws.iter_rows(), start=1)}
    as_read = {r: {c: (v if not isinstance(v, float) or c != 5 else None) for c, v in cells.items()}
               for r, cells in rows.items()}
    assert [r[1] for r in rows.values()] == [r[1] for r in expected.values()]
    assert {r: {c: v for c, v in cells.items() if c != 5} for r, cells in as_read.items()} == \
        {r: {c: v for c, v in cells.items() if c != 5} for r, cells in expected.items()}


def test_a_patch_and_appended_rows_are_what_openpyxl_reads(tmp_path):
    path = workbook(tmp_path / "book.xlsx")
    out_path = tmp_path / "out.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as dst:
        part = xs.sheet_parts(src)["订单"]
        with dst.open(part, "w") as out:
            xs.stream_patch(src, part, out, {3: {2: ("改过的客户", None)}},
                            xs.row_xml(402, {1: ("N9999", None), 4: (12.5, None)}), 402, 5)
        for info in src.infolist():
            if info.filename != part:
                xs.copy_member(src, info, dst)
    wb = load_workbook(out_path)
    ws = wb["订单"]
    assert ws["B3"].value == "改过的客户" and ws["A3"].value == "N0001"      # the rest of the row kept
    assert ws["A402"].value == "N9999" and ws["D402"].value == 12.5 and ws.max_row == 402
    assert ws["C401"].value == "138-0000-0399" and wb["别的"]["A1"].value == "不动"


def test_a_byte_search_finds_the_rows_a_comparison_finds(tmp_path):
    path = workbook(tmp_path / "book.xlsx")
    rows, _ = read_all(path, chunk=1 << 20)
    with zipfile.ZipFile(path) as zf:
        strings = strings_of(zf)
        part = xs.sheet_parts(zf)["订单"]
        buf = zf.read(part)
    digits = re.compile(r"[\s\-]")
    search = xs.MentionSearch.of(["client 3"], ["13800000123"], strings, {b"B", b"C"}, digits,
                                 lambda text: digits.sub("", text))
    found = search.rows_in(buf)
    compared = {r for r, cells in rows.items() if r > 1 and
                ("client 3" in str(cells.get(2, "")).lower() or "13800000123" in digits.sub("", str(cells.get(3, ""))))}
    assert compared and compared <= found
    assert all(r in compared for r in found)   # (openpyxl writes ASCII text as it is: no candidate is spared)
