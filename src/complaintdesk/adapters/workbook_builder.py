"""Adapter — builds a new register workbook (客户投诉登记表) with openpyxl.

The register sheet is an Excel Table with every schema column, a frozen
header, widths for Chinese text, date formats, dropdowns fed from 设置 (via
named ranges that grow with the lists), grey automation headers with a
"由系统填写" note and a typing guard, and red/amber SLA formatting.
"""
from __future__ import annotations

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from ..domain import labels
from ..domain.improvement import WARN_BEFORE
from ..domain.parsing import display_width
from ..domain.schema import AUTOMATION, COLUMNS, HIDDEN_ROLES, TOOL_COLUMNS, sheet_name
from ..domain.settings import DEFAULT_LISTS, DEMO_ROSTER, DEMO_STAFF, ROLES
from .readme_text import readme_lines
from .register_structure import TABLE_STYLE, VALIDATED_ROWS
from .settings_layout import BLOCKS, LIST_ROWS, block_columns, list_source
from .xlsx_structure import print_setup

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
AUTO_FILL = PatternFill("solid", fgColor="808080")
TITLE_FILL = PatternFill("solid", fgColor="DDEBF7")
RED_FILL = PatternFill("solid", fgColor="FFC7CE")
AMBER_FILL = PatternFill("solid", fgColor="FFEB9C")
WHITE_BOLD = Font(bold=True, color="FFFFFF")
TABLE_NAME = "ComplaintRegister"
SHEET_ORDER = ("register", "comms", "alerts", "workload", "actions", "campaign", "settings", "calendar", "roster",
               "staff", "audit", "cases", "readme", "counter", "notified", "archives")


def build_register(lang: str = "zh") -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for role in SHEET_ORDER:
        ws = wb.create_sheet(sheet_name(role, lang))
        if role in HIDDEN_ROLES:
            ws.sheet_state = "hidden"
    _settings_sheet(wb[sheet_name("settings", lang)], lang)
    _define_lists(wb, lang)
    _register_sheet(wb[sheet_name("register", lang)], lang)
    for role, columns in TOOL_COLUMNS.items():
        tool_sheet_header(wb[sheet_name(role, lang)], columns, lang)
    _fill_staff(wb[sheet_name("staff", lang)], wb[sheet_name("roster", lang)], lang)
    _actions_sheet(wb[sheet_name("actions", lang)])
    _readme_sheet(wb[sheet_name("readme", lang)], lang)
    return wb


ACTION_ROWS = 500  # rows of 整改 that get date formats and the overdue colours


def _actions_sheet(ws) -> None:
    """整改: wide text columns, dates as dates, and the row red when its deadline passed undone,
    amber within three days of it (Excel recomputes as the days go by)."""
    for letter, width in (("A", 14), ("B", 22), ("C", 28), ("D", 36), ("E", 10), ("F", 17), ("G", 17), ("H", 20)):
        ws.column_dimensions[letter].width = width
    for letter in ("F", "G"):
        ws.column_dimensions[letter].number_format = DATETIME_FORMAT
    ref = f"A2:H{ACTION_ROWS}"
    ws.conditional_formatting.add(ref, FormulaRule(formula=['AND($F2<>"",$G2="",$F2<NOW())'], fill=RED_FILL))
    warn = WARN_BEFORE.days  # the same window as the tool's own 即将超时 of an action
    ws.conditional_formatting.add(ref, FormulaRule(formula=[f'AND($F2<>"",$G2="",$F2-NOW()<{warn})'],
                                                   fill=AMBER_FILL))


def tool_sheet_header(ws, columns, lang: str) -> None:
    for col, (_key, zh, en) in enumerate(columns, 1):
        cell = ws.cell(1, col, zh if lang == "zh" else en)
        cell.font = WHITE_BOLD
        cell.fill = HEADER_FILL
        ws.column_dimensions[get_column_letter(col)].width = 16 if col > 1 else 20
    ws.freeze_panes = "A2"


def _register_sheet(ws, lang: str) -> None:
    last = get_column_letter(len(COLUMNS))
    for col, column in enumerate(COLUMNS, 1):
        letter = get_column_letter(col)
        cell = ws.cell(1, col, column.label(lang))
        cell.font = WHITE_BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[letter].width = max(column.width, len(column.zh) * 2 + 2)
        if column.kind == "datetime":
            ws.column_dimensions[letter].number_format = DATETIME_FORMAT
        if column.group == AUTOMATION:
            cell.fill = AUTO_FILL
            cell.comment = Comment("由系统填写，请勿手工修改" if lang == "zh"
                                   else "Filled in by complaintdesk; do not type here", "complaintdesk")
            _guard(ws, letter, lang)
        else:
            cell.fill = HEADER_FILL
            _dropdown(ws, column, letter, lang)
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "B2"
    table = Table(displayName=TABLE_NAME, ref=f"A1:{last}2")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)
    ensure_sla_formatting(ws, lang)
    print_setup(ws)


def _guard(ws, letter: str, lang: str) -> None:
    dv = DataValidation(type="custom", formula1="FALSE", allow_blank=True, showErrorMessage=True,
                        errorTitle="由系统填写" if lang == "zh" else "Automation column",
                        error="此列由 complaintdesk 自动填写，请勿手工修改。" if lang == "zh"
                        else "complaintdesk fills this column; please do not type here.")
    dv.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
    ws.add_data_validation(dv)


def _dropdown(ws, column, letter: str, lang: str) -> None:
    rng = f"{letter}2:{letter}{VALIDATED_ROWS}"
    if column.choices:
        dv = DataValidation(type="list", formula1=f"=CD_{column.choices}", allow_blank=True,
                            showErrorMessage=False, showInputMessage=True,
                            promptTitle=column.label(lang),
                            prompt="请从下拉列表选择（选项在 设置 表中维护）" if lang == "zh"
                            else "Pick from the list (maintained in Settings)")
    elif column.kind == "score":
        dv = DataValidation(type="whole", operator="between", formula1="1", formula2="5",
                            allow_blank=True, showErrorMessage=True, error="评分为 1–5 的整数")
    elif column.kind == "datetime":
        dv = DataValidation(type="custom", formula1=f"ISNUMBER({letter}2)", allow_blank=True,
                            showErrorMessage=False, showInputMessage=True, promptTitle=column.label(lang),
                            prompt="日期时间，例如 2026-10-08 14:30")
    else:
        return
    dv.add(rng)
    ws.add_data_validation(dv)


def ensure_sla_formatting(ws, lang: str, rows: int = VALIDATED_ROWS) -> bool:
    """Red breached / amber at-risk on the clock status columns down to row `rows`; False if
    already present."""
    letters = [get_column_letter(i) for i, c in enumerate(COLUMNS, 1) if c.key.endswith("_status")
               and c.key != "status"]
    breached = labels.label(labels.CLOCK_STATE, "breached", lang)
    existing = {str(r.formula) for rng in ws.conditional_formatting for r in rng.rules}
    if any(breached in f for f in existing):
        return False
    ref = " ".join(f"{x}2:{x}{rows}" for x in letters)
    ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[f'"{breached}"'], fill=RED_FILL))
    at_risk = labels.label(labels.CLOCK_STATE, "at_risk", lang)
    ws.conditional_formatting.add(ref, CellIsRule(operator="equal", formula=[f'"{at_risk}"'], fill=AMBER_FILL))
    return True


def _settings_sheet(ws, lang: str) -> None:
    """The 设置 sheet: each block side by side — its title, its header row, its default rows."""
    starts = block_columns()
    for block in BLOCKS:
        col = starts[block.key]
        _block_head(ws, block, col, lang)
        rows = _list_rows() if block.key == "lists" else block.rows
        for r, row in enumerate(rows, 3):
            for offset, value in enumerate(row):
                if value is not None:
                    ws.cell(r, col + offset, value)
        if block.key == "params":
            _params_layout(ws, col, len(rows))
    ws.freeze_panes = "A3"


def _block_head(ws, block, col: int, lang: str) -> None:
    title = ws.cell(1, col, block.zh if lang == "zh" else block.en)
    title.font = Font(bold=True)
    title.fill = TITLE_FILL
    for offset, (zh, en) in enumerate(block.headers):  # list titles stay Chinese: they name the lists
        cell = ws.cell(2, col + offset, zh if block.key == "lists" or lang == "zh" else en)
        cell.font = WHITE_BOLD
        cell.fill = HEADER_FILL
        ws.column_dimensions[get_column_letter(col + offset)].width = 14


def _list_rows() -> tuple:
    """The default dropdown lists as rows: one list a column."""
    lists = list(DEFAULT_LISTS.values())
    width = max(len(v) for v in lists)
    return tuple(tuple(lst[i] if i < len(lst) else None for lst in lists) for i in range(width))


def _params_layout(ws, col: int, count: int) -> None:
    """Wider name and note columns; a share below 1 shown as a percentage."""
    ws.column_dimensions[get_column_letter(col)].width = 22
    ws.column_dimensions[get_column_letter(col + 2)].width = 48
    for r in range(3, 3 + count):
        value = ws.cell(r, col + 1).value
        if isinstance(value, float) and value < 1:
            ws.cell(r, col + 1).number_format = "0%"


def _define_lists(wb, lang: str) -> None:
    starts = block_columns()
    sheet = quote_sheetname(sheet_name("settings", lang))
    names = set(DEFAULT_LISTS) | {"category", "dept_code", "member_level", "emotion"}
    for name in sorted(names):
        block, offset = list_source(name)
        letter = get_column_letter(starts[block] + offset)
        first, last = f"${letter}$3", f"${letter}${3 + LIST_ROWS}"
        ref = f"OFFSET({sheet}!{first},0,0,MAX(1,COUNTA({sheet}!{first}:{last})),1)"
        wb.defined_names[f"CD_{name}"] = DefinedName(f"CD_{name}", attr_text=ref)


def _fill_staff(staff_ws, roster_ws, lang: str) -> None:
    for r, p in enumerate(DEMO_STAFF, 2):
        role = ROLES[p.role][0 if lang == "zh" else 1]
        for c, value in enumerate((p.name, p.dept_code, role, p.email), 1):
            staff_ws.cell(r, c, value)
    for r, s in enumerate(DEMO_ROSTER, 2):
        for c, value in enumerate((s.when or "每天", s.start.strftime("%H:%M"), s.end.strftime("%H:%M"),
                                   s.supervisor), 1):
            roster_ws.cell(r, c, value)
    dv = DataValidation(type="list", formula1='"' + ",".join(v[0] for v in ROLES.values()) + '"',
                        allow_blank=True)
    dv.add("C2:C500")
    staff_ws.add_data_validation(dv)


README_WIDTH = 110  # characters of column A


def _readme_sheet(ws, lang: str) -> None:
    """The 说明 sheet: each row as high as its wrapped text needs (a spreadsheet program does not grow
    a row for a bigger font or wrapped lines a file sets: the title overlapped the intro, clipped)."""
    ws.column_dimensions["A"].width = README_WIDTH
    for r, (text, style) in enumerate(readme_lines(lang), 1):
        cell = ws.cell(r, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        lines = max(1, -(-display_width(text) // (README_WIDTH - 4)))
        ws.row_dimensions[r].height = {"h1": 30, "h2": 22}.get(style, 16 * lines + 2)
        if style == "h1":
            cell.font = Font(bold=True, size=16)
        elif style == "h2":
            cell.font = Font(bold=True, size=12)
            cell.fill = TITLE_FILL
