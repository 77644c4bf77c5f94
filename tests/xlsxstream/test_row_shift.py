"""What removing rows does to references: cells, ranges, formulas, validations' anchors, tables."""
import pytest

from complaintdesk.adapters.xlsxstream.row_shift import RowShift, moved

# rows 3, 4 and 7 leave a sheet whose data ends on row 10
SHIFT = RowShift([3, 4, 7], 10, "投诉登记")


@pytest.mark.parametrize("ref, expected", [
    ("B2", "B2"),                 # above: stays
    ("B3", None),                 # removed
    ("B5", "B3"),                 # below: moves up by the rows removed above it
    ("$B$8", "$B$5"),
    ("A3:A4", None),              # every row of the range removed
    ("A3:A5", "A3:A3"),           # loses its first rows
    ("A2:A7", "A2:A4"),           # ... or rows inside and at its end
    ("4:8", "3:5"),               # whole rows
    ("A:C", "A:C"),               # whole columns
    ("A2:A20000", "A2:A20000"),   # past the data: the input area keeps its size
    ("A11", "A11"),
    ("A9:A12", "A6:A12"),
])
def test_references(ref, expected):
    assert SHIFT.ref(ref) == expected


def test_sqref_leaves_out_what_is_gone():
    assert SHIFT.sqref("A3:A4 B5:B6 C2") == "B3:B4 C2"
    assert SHIFT.sqref("A3 A4") is None


def test_formulas_follow_their_rows_and_leave_strings_other_sheets_and_functions():
    f = 'SUM(B5:B10)+投诉登记!C8+\'其他\'!A5+"A5"&LOG10(A5)+A3+[1]投诉登记!A5'
    assert SHIFT.formula(f) == 'SUM(B3:B7)+投诉登记!C5+\'其他\'!A5+"A5"&LOG10(A3)+#REF!+[1]投诉登记!A5'
    assert SHIFT.formula("'投诉登记'!$A$2:$A$10", bare=False) == "'投诉登记'!$A$2:$A$7"
    assert SHIFT.formula("A5", bare=False) == "A5"   # a name's bare reference is not this sheet's


def test_a_validation_formula_is_rewritten_for_the_new_top_row():
    # ISNUMBER(B3) written for B3:B20 — rows 3 and 4 go, B5 becomes the top cell (now B3)
    assert SHIFT.anchored("ISNUMBER(B3)", "B3:B20") == "ISNUMBER(B3)"
    assert SHIFT.anchored("B3>B$2", "B3:B20") == "B3>B$2"
    assert SHIFT.anchored("ISNUMBER(B2)", "B2:B20") == "ISNUMBER(B2)"   # top row stays


def test_table_keeps_its_header_and_one_row():
    assert SHIFT.table_ref("A1:BP10") == "A1:BP7"
    assert RowShift(range(2, 11), 10).table_ref("A1:BP10") == "A1:BP2"


def test_shared_formula_cells_move_their_relative_references():
    assert moved('A1+$B$2+B$3+$C4+SUM(C:C)+"A1"', 2, 1) == 'B3+$B$2+C$3+$C6+SUM(D:D)+"A1"'
    assert moved("Z1", 0, 1) == "AA1"


def test_the_row_index_follows_its_rows_or_is_given_up():
    import marshal

    from complaintdesk.adapters.faststore.register_index import LightColumns, RowIndex
    light = LightColumns(["complaint_no", "status"], [2, 3, 5, 8], [["N2", "N3", "N5", "N8"], ["已关闭"] * 4])
    full = {6: {1: "N6", 9: "=1+1 咨询"}, 9: {1: "N9"}, 10: {1: "N10"}}
    index = RowIndex({"complaint_no": 1}, light, full, None, 10, {5: marshal.dumps({1: "N5"})})
    after = index.renumbered(SHIFT, ["segments"], 7)
    assert after.light_columns.rows == [2, 3, 5] and after.light_columns.columns[0] == ["N2", "N5", "N8"]
    assert after.full == {4: {1: "N6", 9: "=1+1 咨询"}, 6: {1: "N9"}, 7: {1: "N10"}}   # text that only looks like one
    assert after.cases == {3: marshal.dumps({1: "N5"})} and after.segments == ["segments"] and after.last_row == 7
    # a kept formula pointing at moved rows reads otherwise once the sheet is written: no index
    assert RowIndex({}, light, {9: {4: "=A8*2"}}, None, 10).renumbered(SHIFT, None, 7) is None
    assert RowIndex({}, light, {9: {4: "=A2*2"}}, None, 10).renumbered(SHIFT, None, 7) is not None
    assert RowIndex({}, LightColumns(["x"], [9], [["=SUM(A5:A9)"]]), {}, None, 10).renumbered(SHIFT, None, 7) is None
    marked = {2: marshal.dumps({4: "=B9"})}
    assert RowIndex({}, light, {}, None, 10, marked).renumbered(SHIFT, None, 7) is None
