"""Adapter — the register's structure in the openpyxl store: its `Shape` read from the worksheet's
objects (Table, data validations, conditional formats, sheet view) and a `Repair` applied to them
before the workbook is written (see register_structure). openpyxl writes `<dimension>` from the
cells itself, so a save through it always has a true one."""
from __future__ import annotations

from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import TableStyleInfo

from .register_structure import Repair, Shape, TableShape
from .xlsxstream.print_setup import FOOTER_TEXT, PAGES_WIDE

FROZEN = ("frozen", "frozenSplit")


def register_table(ws):
    """The register's Excel Table (the first on the sheet), or None."""
    return next(iter(ws.tables.values()), None)


def shape_of(ws, columns: dict[str, int], data_rows: int) -> Shape:
    header = {c.column: c.value for c in next(ws.iter_rows(min_row=1, max_row=1), ())}
    table = register_table(ws)
    table_shape = None
    if table is not None:
        filter_ref = table.autoFilter.ref if table.autoFilter is not None and table.autoFilter.ref else None
        table_shape = TableShape(table.ref, filter_ref, [c.name for c in table.tableColumns],
                                 table.tableStyleInfo is not None and bool(table.tableStyleInfo.name))
    return Shape(header=header, columns=columns, data_rows=data_rows, table=table_shape,
                 validations=[str(dv.sqref) for dv in ws.data_validations.dataValidation],
                 formatting=[str(cf.sqref) for cf in ws.conditional_formatting],
                 frozen=header_frozen(ws), printed=printed(ws))


def printed(ws) -> bool:
    """Whether the register prints as `init` sets it up: landscape, with its header row on every page."""
    return ws.page_setup.orientation == "landscape" and bool(ws.print_title_rows)


def print_setup(ws) -> None:
    """The register prints on A4 landscape, its columns over PAGES_WIDE pages side by side, the
    header row and the complaint number repeated on every page (打印标题), pages numbered."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = PAGES_WIDE
    ws.page_setup.fitToHeight = 0
    ws.page_setup.pageOrder = "overThenDown"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.print_title_cols = "A:A"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = FOOTER_TEXT


def header_frozen(ws) -> bool:
    pane = ws.views.sheetView[0].pane if ws.views.sheetView else None
    return pane is not None and pane.state in FROZEN and (pane.ySplit or 0) >= 1


def apply(ws, repair: Repair) -> None:
    """Make the worksheet's structure what `repair` says; no cell value changes."""
    table = register_table(ws)
    if table is not None:
        if repair.table_ref:
            table.ref = repair.table_ref
        if repair.filter_ref:
            if table.autoFilter is None:
                table.autoFilter = AutoFilter(ref=repair.filter_ref)
            else:
                table.autoFilter.ref = repair.filter_ref
        for i, name in repair.names.items():
            table.tableColumns[i].name = name
        if repair.style:
            table.tableStyleInfo = TableStyleInfo(name=repair.style, showFirstColumn=False, showLastColumn=False,
                                                  showRowStripes=True, showColumnStripes=False)
    for i, dv in enumerate(ws.data_validations.dataValidation):
        if i in repair.validations:
            dv.sqref = MultiCellRange(repair.validations[i])
    if repair.formatting:
        ws.conditional_formatting = _reranged(ws.conditional_formatting, repair.formatting)
    if repair.freeze:
        ws.freeze_panes = "A2"
    if repair.print_setup:
        print_setup(ws)


def _reranged(formats: ConditionalFormattingList, sqrefs: dict[int, str]) -> ConditionalFormattingList:
    """The same rules, in the same order and priorities, on the new ranges."""
    out = ConditionalFormattingList()
    for i, cf in enumerate(formats):
        for rule in cf.rules:
            out.add(sqrefs.get(i, str(cf.sqref)), rule)
    out.max_priority = max(out.max_priority, formats.max_priority)
    return out
