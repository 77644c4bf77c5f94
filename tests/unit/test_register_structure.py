"""The register's structure planned from its shape (adapters/register_structure.py)."""
from complaintdesk.adapters.register_structure import Shape, TableShape, plan
from complaintdesk.domain.schema import COLUMNS


def _shape(**kw) -> Shape:
    header = {i: c.zh for i, c in enumerate(COLUMNS, 1)}
    columns = {c.key: i for i, c in enumerate(COLUMNS, 1)}
    base = dict(header=header, columns=columns, data_rows=40,
                table=TableShape("A1:BP40", "A1:BP40", [c.zh for c in COLUMNS]),
                validations=["A2:A20000", "C2:C20000"], formatting=[], frozen=True)
    base.update(kw)
    return Shape(**base)


def test_a_proper_register_needs_nothing():
    repair = plan(_shape(), 40)
    assert not repair.changes() and repair.describe() == ""


def test_filter_left_behind_by_a_grown_table_follows_it():
    repair = plan(_shape(table=TableShape("A1:BP40", "A1:BP2", [c.zh for c in COLUMNS])), 40)
    assert repair.filter_ref == "A1:BP40" and "筛选范围 A1:BP40" in repair.describe()


def test_rows_typed_below_the_table_join_it_and_are_said():
    repair = plan(_shape(table=TableShape("A1:BP38", "A1:BP38", [c.zh for c in COLUMNS])), 40)
    assert repair.table_ref == repair.filter_ref == "A1:BP40"
    assert "表格范围 A1:BP40" in repair.describe()


def test_rows_the_tool_appends_grow_the_table_without_a_repair_note():
    repair = plan(_shape(), 45)
    assert repair.table_ref == "A1:BP45" and repair.notes == []


def test_shrunk_dropdowns_grow_back_and_a_lost_pane_is_frozen():
    repair = plan(_shape(validations=["A2:A1061", "C2:C1061 E2:E20000"], frozen=False), 40)
    assert repair.validations == {0: "A2:A20000", 1: "C2:C20000 E2:E20000"}
    assert repair.freeze and repair.describe() == "结构修复：下拉 2 列，冻结首行"


def test_a_renamed_header_renames_its_table_column():
    names = [c.zh for c in COLUMNS]
    names[2] = "旧名"
    repair = plan(_shape(table=TableShape("A1:BP40", "A1:BP40", names)), 40)
    assert repair.names == {2: COLUMNS[2].zh}


def test_a_table_that_lost_its_style_gets_the_banded_one_back():
    from complaintdesk.adapters.xlsxstream.sheet_structure import reshaped_table, table_styled
    repair = plan(_shape(table=TableShape("A1:BP40", "A1:BP40", [c.zh for c in COLUMNS], styled=False)), 40)
    assert repair.style == "TableStyleLight9" and repair.table_part() and repair.describe() == "结构修复：表格样式"
    bare = b'<table ref="A1:B3"><autoFilter ref="A1:B3"/><tableColumns count="2"/></table>'
    styled = reshaped_table(bare, None, None, {}, repair.style)
    assert styled.endswith(b'<tableStyleInfo name="TableStyleLight9" showFirstColumn="0" showLastColumn="0"'
                           b' showRowStripes="1" showColumnStripes="0"/></table>') and table_styled(styled)
    assert reshaped_table(styled, None, None, {}, "TableStyleDark1") == styled  # a style of its own stays
