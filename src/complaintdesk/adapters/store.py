"""Adapter — the register store Protocol and the in-memory store used in tests.

Services talk to a register only through `RegisterStore`. Every store
refuses to write a staff-entered cell: `set_cells` accepts automation keys
only (and, through `fill_empty`, an empty process cell as the record of the
tool's own action).
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

from ..domain.model import RegisterRow
from ..domain.parsing import text_of
from ..domain.schema import (
    AUTOMATION_KEYS,
    BY_KEY,
    COLUMNS,
    EXCEL_MAX_ROWS,
    EXCEL_ROWS_WARN_SHARE,
    OPTIONAL_KEYS,
    SHEETS,
    STAMP_KEYS,
    match_headers,
)
from ..domain.settings import Settings
from ..domain.transitions import row_closed
from ..errors import SchemaError, SheetFullError
from .register_structure import Repair
from .xlsxstream.sheet_xml import col_letter

# process cells the tool may fill when empty, as the record of its own action:
# issuing a survey, appending a log entry, importing returned survey scores
FILLABLE_PROCESS_KEYS = frozenset({"survey_sent_at", "last_update_at", "score_efficiency",
                                   "score_attitude", "score_solution", "survey_comment", "merged_into",
                                   *STAMP_KEYS})


class StaffCellError(AssertionError):
    """A programming error: code tried to write a staff-entered cell."""


# staff columns a register cannot do without (with every automation column)
REQUIRED_STAFF = ("received_at", "description", "category", "contact", "customer_id")


@dataclass
class ClosedRows:
    """Closed complaints as columns: their row numbers and, per key asked for, the values as
    stored (a large register keeps these light: a received time may be an Excel serial)."""
    rows: list[int]
    columns: dict[str, list]


def map_headers(header: Iterable[tuple[int, object]], lang: str) -> dict[str, int]:
    """The register's header row — (column number, text) pairs — as column key -> column number.
    A column that appears twice, or a missing automation or required staff column, stops the run
    with the same message whichever store read the row."""
    match = match_headers(header)
    found = {key: col for col, key in match.columns.items()}
    for col, _, key in match.repeated[:1]:
        raise SchemaError(f"投诉登记表的列“{BY_KEY[key].zh}”出现两次（{col_letter(found[key])}1 和 "
                          f"{col_letter(col)}1），请删除或改名其中一列")
    missing = [c.label(lang) for c in COLUMNS if c.key not in found and c.key not in OPTIONAL_KEYS
               and (c.group == "automation" or c.key in REQUIRED_STAFF)]
    if missing:
        raise SchemaError("投诉登记表缺少列：" + "、".join(missing) + "（可运行 complaintdesk check 查看详情）")
    return found


def missing_sheet(role: str) -> SchemaError:
    """The error for a workbook without one of its sheets (either language's name would do)."""
    return SchemaError(f"工作簿缺少“{SHEETS[role][0]}”工作表（英文名 {SHEETS[role][1]}）")


def row_is_closed(values: dict) -> bool:
    """Closed — 已关闭 with a closing time — or read light by the fast store (closed rows only)."""
    if values.get("_light"):
        return True
    return row_closed(text_of(values.get("status")), values.get("closed_at"))


def split_rows(rows: Iterable[RegisterRow], keys) -> tuple[list[RegisterRow], ClosedRows]:
    """Rows not closed (in row order), and the closed ones as columns of `keys`."""
    open_rows: list[RegisterRow] = []
    closed: list[RegisterRow] = []
    for row in rows:
        (closed if row_is_closed(row.values) else open_rows).append(row)
    return open_rows, ClosedRows([r.row_id for r in closed], {k: [r.values.get(k) for r in closed] for k in keys})


def rows_among(rows: Iterable[RegisterRow], row_ids) -> list[RegisterRow]:
    wanted = set(row_ids)
    return [row for row in rows if row.row_id in wanted]


class RegisterStore(Protocol):
    """What services may ask of a register — every store (openpyxl file, streaming file, Excel via
    xlwings, memory) implements all of it; services are typed against it and never probe."""
    lang: str
    source: str  # what the audit sheet calls this writer
    warnings: list[str]  # what opening the file had to say (external links, macros …)
    columns: dict[str, int]  # field key -> column number in the register sheet
    row_notices: dict[str, str]  # sheets near Excel's row limit as last checked: role -> warning

    @property
    def path(self) -> Path | None: ...  # the register file (archives, documents, queues lie beside it)
    def rows(self, full=None) -> list[RegisterRow]: ...  # full: see FastStore.rows
    def full_rows(self) -> Iterator[RegisterRow]: ...  # every row in full, one at a time
    def converted_rows(self, convert) -> Iterator: ...  # convert(values) of every row in full (export)
    def split_rows(self, keys) -> tuple[list[RegisterRow], ClosedRows]: ...  # open rows, closed columns
    def read_full(self, row_ids) -> list[RegisterRow]: ...  # these rows with every cell, in row order
    def release(self, row_ids) -> None: ...  # the caller is done with these rows' values (see FastStore)
    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]: ...  # rows that may hold a text (find)
    def settings(self) -> Settings: ...
    def calendar_overrides(self) -> dict[date, str]: ...
    def table(self, role: str) -> list[dict]: ...
    def set_cells(self, row_id: int, values: dict[str, object]) -> None: ...
    def fill_empty(self, row_id: int, key: str, value: object) -> bool: ...
    def append_register(self, values: dict[str, object]) -> int: ...
    def remove_register(self, row_ids: list[int]) -> None: ...
    def append_table(self, role: str, rows: list[dict]) -> None: ...
    def replace_table(self, role: str, rows: list[dict]) -> None: ...
    def ensure_formatting(self) -> bool: ...  # red/amber rules on the register; True when added
    def structure(self) -> Repair: ...  # what the next save repairs in the register's structure
    # derived tool sheets: a store that can tell what rows a sheet was built from answers with a key
    # (None: it cannot tell, and the caller compares the sheet itself)
    def rows_fingerprint(self, marked: Callable[[dict], bool], keys) -> str | None: ...
    def built_from(self, role: str) -> str | None: ...
    def remember_built(self, role: str, key: str) -> None: ...
    def save(self) -> None: ...
    def close(self) -> None: ...


class PlainDerivedSheets:
    """The derived-sheet answers of a store that remembers nothing (see RegisterStore), and its
    no-op close: every store but the streaming one."""

    def rows_fingerprint(self, marked: Callable[[dict], bool], keys) -> str | None:
        return None

    def built_from(self, role: str) -> str | None:
        return None

    def remember_built(self, role: str, key: str) -> None:
        pass

    def close(self) -> None:
        pass


# what `archive` takes out of a sheet, for the messages about its size
ARCHIVE_TAKES = {"register": "已关闭的投诉移到归档文件夹", "audit": "已关闭投诉的变更记录随之移到归档文件夹",
                 "comms": "已关闭投诉的沟通记录随之移到归档文件夹"}


def check_rows_fit(role: str, last_row: int, notices: dict[str, str] | None = None) -> None:
    """Refuse to save a sheet with rows Excel cannot open (it would drop them, and the next save
    there would lose them): the 变更记录 of a desk that never archives grows by every change.
    From EXCEL_ROWS_WARN_SHARE of the limit, a warning for the user goes into `notices` (by role;
    a later check of that sheet below it takes the warning back)."""
    if last_row > EXCEL_MAX_ROWS:
        raise SheetFullError(f"工作表“{SHEETS[role][0]}”将有 {last_row:,} 行，超过 Excel 的上限 "
                             f"{EXCEL_MAX_ROWS:,} 行，未保存任何更改" + _archive_hint(role, "先"), role)
    if notices is None:
        return
    if last_row >= EXCEL_MAX_ROWS * EXCEL_ROWS_WARN_SHARE:
        notices[role] = (f"工作表“{SHEETS[role][0]}”已有 {last_row:,} 行，是 Excel 上限 {EXCEL_MAX_ROWS:,} 行的 "
                         f"{last_row / EXCEL_MAX_ROWS:.0%}，到达上限后将无法保存" + _archive_hint(role, "尽快"))
    else:
        notices.pop(role, None)


def _archive_hint(role: str, when: str) -> str:
    return f"：请{when}运行“归档”，{ARCHIVE_TAKES[role]}" if role in ARCHIVE_TAKES else ""


def check_automation(values: dict[str, object]) -> None:
    staff = set(values) - AUTOMATION_KEYS
    if staff:
        raise StaffCellError(f"refusing to write staff cells: {sorted(staff)}")


class WholeRowsReads:
    """The reads a store that always holds every row in full derives from its `rows()`."""
    lang: str

    def rows(self, full=None) -> list[RegisterRow]:  # the store's own
        raise NotImplementedError

    def full_rows(self) -> Iterator[RegisterRow]:
        return iter(self.rows(full=True))

    def converted_rows(self, convert) -> Iterator:
        return (convert(row.values) for row in self.full_rows())

    def split_rows(self, keys) -> tuple[list[RegisterRow], ClosedRows]:
        return split_rows(self.rows(), keys)

    def read_full(self, row_ids) -> list[RegisterRow]:
        return rows_among(self.rows(), row_ids)

    def release(self, row_ids) -> None:
        """Nothing to let go: this store holds every row anyway."""

    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]:
        """Rows that may hold one of `texts` or `phones` in `keys`: here simply every row."""
        return self.rows(full=True)


class MemoryStore(WholeRowsReads, PlainDerivedSheets):
    """A register held in dicts; `saved` counts saves. Same contract as the file stores."""

    def __init__(self, settings: Settings, rows: list[dict] | None = None,
                 overrides: dict[date, str] | None = None, lang: str = "zh"):
        self.lang = lang
        self.source = "test"
        self.path: Path | None = None
        self.warnings: list[str] = []
        self.columns: dict[str, int] = {}
        self._settings = settings
        self._overrides = dict(overrides or {})
        self._rows: dict[int, dict] = {}
        self._next = 2
        self.tables: dict[str, list[dict]] = {}
        self.saved = 0
        self.row_notices: dict[str, str] = {}
        self.drift = Repair()  # a test sets the structure a file would have drifted into
        for values in rows or []:
            self.append_register(values)

    def rows(self, full=None) -> list[RegisterRow]:
        return [RegisterRow(rid, dict(v)) for rid, v in sorted(self._rows.items())]


    def settings(self) -> Settings:
        return self._settings

    def calendar_overrides(self) -> dict[date, str]:
        return dict(self._overrides)

    def table(self, role: str) -> list[dict]:
        return deepcopy(self.tables.get(role, []))

    def set_cells(self, row_id: int, values: dict[str, object]) -> None:
        check_automation(values)
        self._rows[row_id].update(values)

    def fill_empty(self, row_id: int, key: str, value: object) -> bool:
        if key not in FILLABLE_PROCESS_KEYS:
            raise StaffCellError(key)
        if self._rows[row_id].get(key) not in (None, ""):
            return False
        self._rows[row_id][key] = value
        return True

    def append_register(self, values: dict[str, object]) -> int:
        rid = self._next
        check_rows_fit("register", rid, self.row_notices)
        self._next += 1
        self._rows[rid] = dict(values)
        return rid

    def remove_register(self, row_ids: list[int]) -> None:
        for rid in row_ids:
            self._rows.pop(rid, None)

    def append_table(self, role: str, rows: list[dict]) -> None:
        check_rows_fit(role, 1 + len(self.tables.get(role, [])) + len(rows), self.row_notices)  # a header and the rows
        self.tables.setdefault(role, []).extend(deepcopy(rows))

    def replace_table(self, role: str, rows: list[dict]) -> None:
        check_rows_fit(role, 1 + len(rows), self.row_notices)
        self.tables[role] = deepcopy(rows)

    def ensure_formatting(self) -> bool:
        return False

    def structure(self) -> Repair:
        return self.drift

    def save(self) -> None:
        self.saved += 1
        self.drift = Repair()

    def values(self, row_id: int) -> dict:
        return dict(self._rows[row_id])
