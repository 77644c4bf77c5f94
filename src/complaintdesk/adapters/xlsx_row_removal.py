"""Adapter — taking rows out of an openpyxl worksheet in one pass, for the openpyxl store's `archive`.

`Worksheet.delete_rows` moves every cell below for each row it deletes (an
archive of 1,000 rows from a 2,000-row register took minutes) and leaves
formulas, merged cells, validations, conditional formats, hyperlinks and the
table pointing at the old rows. Here the cells are renumbered once and all of
those follow the rows by the same rules (`row_shift.RowShift`) the fast store
applies to the XML, so both stores leave the same workbook.
"""
from __future__ import annotations

from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.worksheet.cell_range import MultiCellRange
from openpyxl.worksheet.formula import ArrayFormula

from .xlsxstream.row_shift import RowShift


def remove_rows(wb, ws, removed, last_row: int) -> None:
    shift = RowShift(removed, last_row, ws.title)
    if not shift:
        return
    merged = [str(r) for r in ws.merged_cells.ranges]
    for ref in merged:
        ws.unmerge_cells(ref)
    _cells(ws, shift)
    for ref in merged:
        new = shift.ref(ref)
        if new and ":" in new and new.split(":")[0] != new.split(":")[1]:
            ws.merge_cells(new)
    _validations(ws, shift)
    _formatting(ws, shift)
    _tables(ws, shift)
    for names in (wb.defined_names, ws.defined_names):
        for name in names.values():
            if name.attr_text:
                name.attr_text = shift.formula(name.attr_text, bare=False)
    wb.calculation.fullCalcOnLoad = True


def _tables(ws, shift: RowShift) -> None:
    """Tables, their filters and the sheet's filter shrink with the rows taken out."""
    for table in ws.tables.values():
        table.ref = shift.table_ref(table.ref)
        if table.autoFilter is not None and table.autoFilter.ref:
            table.autoFilter.ref = shift.table_ref(table.autoFilter.ref)
    if ws.auto_filter.ref:
        ws.auto_filter.ref = shift.ref(ws.auto_filter.ref) or ws.auto_filter.ref


def _cells(ws, shift: RowShift) -> None:
    cells = {}
    for (r, c), cell in ws._cells.items():
        new = shift.row(r)
        value = cell._value
        if cell.data_type == "f" and isinstance(value, str) and value.startswith("="):
            cell._value = "=" + shift.formula(value[1:])
        elif isinstance(value, ArrayFormula):
            value.text = "=" + shift.formula(value.text.lstrip("="))
            value.ref = shift.ref(value.ref) or "#REF!"
        if new is None:
            continue
        cell.row = new
        cells[(new, c)] = cell
        if cell.hyperlink is not None:
            cell.hyperlink.ref = cell.coordinate
    ws._cells = dict(sorted(cells.items()))
    dims = {}
    for r, dim in list(ws.row_dimensions.items()):
        new = shift.row(r)
        if new is not None:
            dim.index = new
            dims[new] = dim
    ws.row_dimensions.clear()
    ws.row_dimensions.update(dims)


def _validations(ws, shift: RowShift) -> None:
    kept = []
    for dv in ws.data_validations.dataValidation:
        old = str(dv.sqref)
        sqref = shift.sqref(old)
        if sqref is None:
            continue
        dv.sqref = MultiCellRange(sqref)
        for attr in ("formula1", "formula2"):
            if getattr(dv, attr):
                setattr(dv, attr, shift.anchored(getattr(dv, attr), old))
        kept.append(dv)
    ws.data_validations.dataValidation = kept


def _formatting(ws, shift: RowShift) -> None:
    rebuilt = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        old = str(cf.sqref)
        sqref = shift.sqref(old)
        if sqref is None:
            continue
        for rule in cf.rules:
            rule.formula = [shift.anchored(f, old) for f in rule.formula]
            rebuilt.add(sqref, rule)
    ws.conditional_formatting = rebuilt
