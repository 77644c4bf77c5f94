"""Tool-sheet rows as XML: made a block at a time, each cell as the sheet XML writer makes it."""
import re
from datetime import datetime

from complaintdesk.adapters.xlsxstream import sheet_writer
from complaintdesk.adapters.xlsxstream.sheet_writer import table_rows_xml
from complaintdesk.adapters.xlsxstream.sheet_xml import row_cells

COLS = {"time": 1, "complaint_no": 2, "column": 3, "old": 4, "new": 5}


def lines(n):
    return [{"time": datetime(2026, 11, 20, 10, 0), "complaint_no": f"20261120-CS-{i:03d}",
             "column": "（自动填写）", "old": "" if i % 2 else i,
             "new": "；".join(f"列{k}=值{i}-{k}" for k in range(60))} for i in range(n)]


def test_blocks_hold_every_row_once_in_order_and_long_texts_are_not_kept(monkeypatch):
    rows = lines(7)
    whole = b"".join(table_rows_xml(2, rows, COLS, 3))
    monkeypatch.setattr(sheet_writer, "ROWS_PER_BLOCK", 3)
    blocks = list(table_rows_xml(2, rows, COLS, 3))
    assert [len(re.findall(rb"<row ", b)) for b in blocks] == [3, 3, 1]
    assert b"".join(blocks) == whole
    assert [int(r) for r in re.findall(rb'<row r="(\d+)"', whole)] == list(range(2, 9))
    for r, row in zip(range(2, 9), re.findall(rb"<row [^>]*>(.*?)</row>", whole)):
        cells = row_cells(row, [])
        assert cells[2] == rows[r - 2]["complaint_no"] and cells[5] == rows[r - 2]["new"]
        assert cells.get(4) == (None if rows[r - 2]["old"] == "" else rows[r - 2]["old"])  # 0 is a value
        assert isinstance(cells[1], float)  # the time as an Excel serial, styled
    assert whole.count(b' s="3"') == 7


def test_a_long_text_repeated_is_written_each_time_as_it_is():
    rows = lines(2)
    rows[1]["new"] = rows[0]["new"]
    xml = b"".join(table_rows_xml(2, rows, COLS, None))
    assert xml.count(rows[0]["new"].encode()) == 2
