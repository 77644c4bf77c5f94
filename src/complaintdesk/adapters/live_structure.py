"""Adapter — the register's structure in Excel itself, for the live (xlwings) store: its `Shape` read
through Excel's object model and a `Repair` applied the way a user would by hand (see
register_structure).

Excel keeps a Table's filter range and column names in step with the Table, so the live store
only grows the Table (`Table.resize`) over rows typed below it and turns its filter buttons back on.
Dropdown and guard ranges are extended by pasting the rule of their second row down the column
(`PasteSpecial` with xlPasteValidation — Excel has no call that moves a validation's range), the
red/amber formatting by `FormatCondition.ModifyAppliesToRange`, and the header row is frozen in
the window showing the register. What Excel refuses (a protected sheet, a merged area) leaves the
structure as it was: the next save through a file store repairs it.
"""
from __future__ import annotations

from .register_structure import Repair, Shape, TableShape, parse_range, range_text
from .xlsxstream.print_setup import FOOTER_TEXT, PAGES_WIDE

ALL_VALIDATION = -4174      # XlCellType.xlCellTypeAllValidation
PASTE_VALIDATION = 6        # XlPasteType.xlPasteValidation


def _plain(address: str) -> str:
    return address.replace("$", "")


def register_table(ws):
    """The register's Table (the first on the sheet), or None."""
    tables = ws.tables
    return tables[0] if len(tables) else None


def shape_of(ws, window, header: dict[int, object], columns: dict[str, int], data_rows: int) -> Shape:
    """The register's structure as Excel holds it; `window` is the window showing the register
    (None: it is not in view, and its pane is left alone)."""
    table = register_table(ws)
    table_shape = None
    if table is not None:
        ref = _plain(table.range.address)
        bounds = parse_range(ref)
        names = [str(header.get(c, "")) for c in range(bounds[0], bounds[2] + 1)] if bounds else []
        table_shape = TableShape(ref, ref if table.show_autofilter else None, names, bool(table.table_style))
    return Shape(header=header, columns=columns, data_rows=data_rows, table=table_shape,
                 validations=validation_areas(ws), formatting=[_plain(f.AppliesTo.Address) for f in _conditions(ws)],
                 frozen=window is None or bool(window.FreezePanes and window.SplitRow >= 1),
                 printed=printed(ws))


LANDSCAPE, A4 = 2, 9  # XlPageOrientation.xlLandscape, XlPaperSize.xlPaperA4


def printed(ws) -> bool | None:
    """Whether Excel prints the register landscape with print titles (None: Excel cannot tell —
    no printer driver answers PageSetup — and it is left alone)."""
    try:
        setup = ws.api.PageSetup
        orientation, titles = setup.Orientation, setup.PrintTitleRows
    except Exception:
        return None
    if not isinstance(orientation, int):
        return None
    return orientation == LANDSCAPE and bool(titles)


def validation_areas(ws) -> list[str]:
    """Each block of cells holding a data validation ("A2:A20000"), as Excel groups them."""
    try:
        areas = ws.api.Cells.SpecialCells(ALL_VALIDATION).Areas
    except Exception:  # Excel raises "No cells were found" on a sheet without validations
        return []
    # area by area: a many-area range's Address is cut at 255 characters
    return [_plain(areas.Item(i).Address) for i in range(1, areas.Count + 1)]


def _conditions(ws) -> list:
    conditions = ws.api.Cells.FormatConditions
    return [conditions.Item(i) for i in range(1, conditions.Count + 1)]


def apply(ws, window, repair: Repair) -> None:
    """Make the register's structure in Excel what `repair` says; no cell value changes."""
    table = register_table(ws)
    if table is not None and repair.table_ref:
        table.resize(ws.range(repair.table_ref))
    if table is not None and repair.filter_ref:
        table.show_autofilter = True
    if table is not None and repair.style:
        table.table_style = repair.style
    for area in repair.validations.values():
        _paste_validation(ws, area)
    conditions = _conditions(ws) if repair.formatting else []
    for i, sqref in repair.formatting.items():
        conditions[i].ModifyAppliesToRange(ws.range(sqref.replace(" ", ",")).api)
    if repair.print_setup:
        _print_setup(ws)
    if repair.freeze and window is not None:
        window.FreezePanes = False
        window.SplitColumn, window.SplitRow = 0, 1
        window.FreezePanes = True


def _paste_validation(ws, sqref: str) -> None:
    """The validation of each range's second row, pasted down the range."""
    for text in sqref.split():
        bounds = parse_range(text)
        if bounds is None:
            continue
        c1, r1, c2, r2 = bounds
        ws.range(range_text(c1, r1, c2, r1)).api.Copy()
        ws.range(range_text(c1, r1 + 1, c2, r2)).api.PasteSpecial(Paste=PASTE_VALIDATION)
    ws.book.app.api.CutCopyMode = False


def _print_setup(ws) -> None:
    """A4 landscape, three pages wide, the header row and the number column on every page."""
    try:
        setup = ws.api.PageSetup
        setup.PaperSize, setup.Orientation = A4, LANDSCAPE
        setup.Zoom = False
        setup.FitToPagesWide, setup.FitToPagesTall = PAGES_WIDE, False
        setup.PrintTitleRows, setup.PrintTitleColumns = "$1:$1", "$A:$A"
        setup.CenterFooter = FOOTER_TEXT
    except Exception:  # no printer driver: the next save through a file store sets it up
        pass
