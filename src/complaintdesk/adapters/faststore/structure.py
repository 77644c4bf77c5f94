"""Adapter — the register's structure in the streaming store: its shape read from the sheet's XML
(head, tail) and the Table part, and the edits a save makes to repair it (see register_structure)."""
from __future__ import annotations

from ..register_structure import (
    Repair,
    Shape,
    TableShape,
    extended_sqrefs,
    formatted_keys,
    plan,
    rows_needed,
    validated_keys,
)
from ..xlsxstream.print_setup import with_fit_to_page, with_page_setup
from ..xlsxstream.sheet_structure import (
    edit_sqrefs,
    header_frozen,
    reshaped_table,
    sqrefs,
    table_shape,
    table_styled,
    with_frozen_pane,
)
from ..xlsxstream.sheet_writer import DIMENSION, SheetEnds, _dimension, insert_formatting


def shape_of(header: dict[int, object], columns: dict[str, int], data_rows: int, head: bytes, tail: bytes,
             table_xml: bytes | None, printed: bool | None = None) -> Shape:
    """The register sheet's structure from its XML."""
    table = None
    if table_xml is not None:
        ref, filter_ref, names = table_shape(table_xml)
        table = TableShape(ref, filter_ref, names, table_styled(table_xml))
    return Shape(header=header, columns=columns, data_rows=data_rows, table=table,
                 validations=sqrefs(tail, "dataValidation"), formatting=sqrefs(tail, "conditionalFormatting"),
                 frozen=header_frozen(head), printed=printed)


def dimension_stale(head: bytes, last_row: int, last_col: int) -> bool:
    """Whether the sheet's <dimension> differs from the extent a save writes."""
    m = DIMENSION.search(head)
    return m is not None and m.group(0) != _dimension(last_row, last_col)


def sheet_ends(repair: Repair, columns: dict[str, int], last_row: int, formatting: bytes, tail_edits,
               head_stale: bool) -> SheetEnds:
    """The edits of the register sheet's head and tail a save makes: the pane frozen, the ranges
    of dropdowns, guards and clock formatting extended over the rows (planned again on the tail as
    written, so that a removal's shifted ranges are extended too), the new formatting inserted.
    Only what `tail_edits` / `head_stale` ask for is rewritten: a save that patches a few cells
    re-encodes no more of the sheet than those cells' segments."""
    need, reach = rows_needed(last_row)
    validated = {columns[k] for k in validated_keys() if k in columns}
    painted = {columns[k] for k in formatted_keys() if k in columns}

    def tail(xml: bytes) -> bytes:
        xml = edit_sqrefs(xml, "dataValidation", lambda refs: extended_sqrefs(refs, validated, need, reach)[0])
        xml = edit_sqrefs(xml, "conditionalFormatting", lambda refs: extended_sqrefs(refs, painted, need, reach)[0])
        xml = with_page_setup(xml) if repair.print_setup else xml
        return insert_formatting(xml, formatting) if formatting else xml

    def head(xml: bytes) -> bytes:
        xml = with_frozen_pane(xml) if repair.freeze else xml
        return with_fit_to_page(xml) if repair.print_setup else xml

    head_edits = repair.freeze or repair.print_setup
    return SheetEnds(head=head if head_edits else (_same if head_stale else None),
                     tail=tail if tail_edits or repair.print_setup else None)


def _same(xml: bytes) -> bytes:
    """No edit: the head is written for its dimension alone."""
    return xml


def table_xml(xml: bytes, last_row: int, header: dict[int, object], columns: dict[str, int]) -> bytes:
    """The Table part as the save writes it: over every row, its filter and names repaired."""
    shape = shape_of(header, columns, last_row, b"", b"", xml)
    repair = plan(shape, last_row)
    if not repair.table_part():
        return xml
    return reshaped_table(xml, repair.table_ref, repair.filter_ref, repair.names, repair.style)
