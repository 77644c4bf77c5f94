"""Adapter: the one-pass scan of register sheet XML gives what a cell-by-cell parse gives."""
import marshal

import pytest

from complaintdesk.adapters.faststore.sheet_scan import Keyed, joined, piece_rows, scan_chunk
from complaintdesk.adapters.xlsxstream import sheet_xml as sx
from complaintdesk.adapters.xlsxstream.pieces import row_body
from complaintdesk.errors import SchemaError

LETTERS = {b"A": "complaint_no", b"B": "received_at", b"D": "request_type", b"F": "contact", b"H": "customer_id",
           b"O": "category", b"AK": "status", b"AO": "closed_at", b"AR": "is_valid", b"BO": "case_library"}
STRINGS = ["已关闭", "是", "物流履约", "", "处理中"]


def inline(ref, text, space=False):
    attr = ' xml:space="preserve"' if space else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{attr}>{text}</t></is></c>'


ROWS = {
    1: inline("A1", "投诉编号") + inline("AK1", "处理状态"),
    # closed, plain cells, marked for the case library
    2: inline("A2", "20261101-CS-001") + '<c r="B2" s="1"><v>46327.5</v></c>' + inline("D2", "投诉")
       + inline("F2", "13800000000") + inline("H2", "C1") + '<c r="O2" t="s"><v>2</v></c>'
       + '<c r="AK2" t="s"><v>0</v></c><c r="AO2" s="1"><v>46330.25</v></c>' + inline("AR2", "是")
       + '<c r="BO2" s="3" t="s"><v>1</v></c>' + inline("BP2", "备注"),
    # closed, cells of every unusual shape in light columns
    3: '<c r="A3" t="s" s="2" cm="1"><v>4</v></c>'                      # attributes in another order
       + '<c r="B3" s="1"/>'                                              # styled, empty
       + '<c r="D3" t="str"><f>"投"&amp;"诉"</f><v>投诉</v></c>'           # formula
       + inline("F3", "138 &amp; 139_x000D_", space=True)                 # escapes
       + '<c r="H3" t="inlineStr"><is><r><t>客</t></r><r><rPr><b/></rPr><t>户</t></r></is></c>'  # rich text
       + '<c r="O3" t="s"><v>3</v></c>'                                    # empty shared string
       + inline("AK3", "已关闭") + '<c r="AO3"><v>46331</v></c>'
       + '<c r="AR3" t="b"><v>1</v></c><c r="BO3" t="e"><v>#N/A</v></c>',
    4: inline("A4", "20261101-CS-002") + '<c r="AK4" t="s"><v>4</v></c>' + inline("C4", "电话"),  # open
    5: inline("A5", "20261101-CS-003") + inline("AK5", "已关闭"),  # 已关闭 without a closing time: not closed
    6: None,                                                         # an empty row
    7: inline("C7", "只有渠道"),                                     # no light cell at all
    9: inline("A9", "20261101-CS-009") + inline("AK9", "已关闭") + '<c r="AO9"><v>46332</v></c>'
       + '<c r="BO9"><v>0</v></c>',
}


def sheet_xml(rows=ROWS) -> bytes:
    out = []
    for r, cells in rows.items():
        extra = ' spans="1:68" x14ac:dyDescent="0.25"' if r % 2 else ""
        out.append(f'<row r="{r}"{extra}/>' if cells is None else f'<row r="{r}"{extra}>{cells}</row>')
    return "".join(out).encode("utf-8")


def reference(buf: bytes) -> dict[int, dict]:
    """Every row's cells by column, parsed cell by cell."""
    out = {}
    for m in sx.ROW_RE.finditer(buf):
        r = int(m.group(1))
        out[r] = sx.row_cells(row_body(buf, r, m.start()), STRINGS)
    return out


def test_scan_equals_a_cell_by_cell_parse():
    buf = sheet_xml()
    scanned = scan_chunk(buf, (STRINGS, LETTERS))
    cells = reference(buf)
    columns = {letter: sx.col_index(letter.decode()) for letter in LETTERS}
    assert scanned.closed == [2, 3, 9]
    assert scanned.keys == sorted(LETTERS.values())
    light = scanned.light_dicts()
    for r in scanned.closed:
        expected = {key: cells[r].get(columns[letter]) for letter, key in LETTERS.items()}
        got = {k: (None if v == "" else v) for k, v in light[r].items() if k != "_light"}
        assert got == expected, r
        assert light[r]["_light"] is True
    assert cells[6] == {} and set(scanned.full) == {4, 5, 7}  # a row without a value is no row
    for r in scanned.full:
        assert scanned.full[r] == cells[r]
    assert set(scanned.cases) == {2}  # 9 is marked 0 (no)
    assert marshal.loads(scanned.cases[2]) == cells[2]
    assert scanned.last_row == 9
    assert 1 not in scanned.rows() and scanned.rows() == {2, 3, 4, 5, 7, 9}


def test_unusual_cells_keep_their_values():
    light = scan_chunk(sheet_xml(), (STRINGS, LETTERS)).light_dicts()
    assert light[2]["received_at"] == 46327.5 and light[2]["category"] == "物流履约"
    row = light[3]
    assert row["complaint_no"] == "处理中"
    assert row["received_at"] is None
    assert row["request_type"] == '="投"&"诉"'  # a formula reads as its formula, as openpyxl gives it
    assert row["contact"] == "138 & 139\r"
    assert row["customer_id"] == "客户"
    assert row["is_valid"] is True and row["case_library"] == "#N/A"
    assert row["closed_at"] == 46331


def test_pieces_joined_equal_one_pass():
    buf = sheet_xml()
    cut = buf.find(b'<row r="5"')
    whole = scan_chunk(buf, (STRINGS, LETTERS))
    light, full, cases, last_row, _ = joined([scan_chunk(buf[:cut], (STRINGS, LETTERS)),
                                          scan_chunk(buf[cut:], (STRINGS, LETTERS))])
    assert light.rows == whole.closed and light.keys == whole.keys and light.columns == whole.columns
    assert full == whole.full and cases == whole.cases and last_row == 9


def test_rows_without_a_number_are_refused():
    with pytest.raises(SchemaError):
        scan_chunk(b'<row r="2">' + inline("A2", "x").encode() + b'</row><row><c><v>1</v></c></row>',
                   (STRINGS, LETTERS))


def test_shared_strings_plain_and_rich():
    xml = ('<sst><si><t>a&amp;b</t></si><si/><si><t xml:space="preserve"> x </t></si>'
           '<si><r><t>ri</t></r><r><rPr><b/></rPr><t>ch</t></r></si><si><t>_x0041_</t></si>'
           '<si><t></t></si><si><t/></si><si><t>中文</t></si></sst>').encode("utf-8")
    assert sx.shared_strings(xml) == ["a&b", "", " x ", "rich", "A", "", "", "中文"]


def test_piece_rows_of_chosen_rows_finds_them_in_any_order():
    piece = (b'<row r="1"><c r="A1"><v>0</v></c></row><row r="3"><c r="A3"><v>3</v></c></row>'
             b'<row r="2"><c r="A2"><v>2</v></c></row><row r="4"><c r="A4"><v>4</v></c></row>')
    keyed = Keyed.of({"n": 1})
    assert list(piece_rows(piece, [], keyed, {1, 2, 3, 9})) == [(2, {"n": 2}), (3, {"n": 3})]
    assert [r for r, _ in piece_rows(piece, [], keyed)] == [3, 2, 4]


def test_short_inline_texts_are_one_object_in_every_row():
    """A short text (a channel, 是/否) read from many rows is held once; longer texts and escaped
    ones read as they are."""
    rows = [sx.row_cells((inline(f"A{r}", "邮件") + inline(f"B{r}", "是") + inline(f"C{r}", "A&amp;B")
                          + inline(f"D{r}", "导购态度恶劣，拒绝试用")).encode(), STRINGS) for r in (2, 3)]
    assert rows[0] == rows[1] == {1: "邮件", 2: "是", 3: "A&B", 4: "导购态度恶劣，拒绝试用"}
    assert rows[0][1] is rows[1][1] and rows[0][2] is rows[1][2] and rows[0][3] is rows[1][3]
    assert rows[0][4] is not rows[1][4]  # (longer than SHORT_TEXT bytes: decoded per row)
