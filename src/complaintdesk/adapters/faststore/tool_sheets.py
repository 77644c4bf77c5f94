"""Adapter — the register's tool sheets (设置, 人员, 值班, 变更记录, 预警 …) in the streaming store:
each read whole when first asked for, rows appended or replaced at the next save, and the memo of
what the derived sheets (案例库, 预警) were last built from. A collaborator of FastStore."""
from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

from ...domain.schema import SHEETS, TOOL_COLUMNS
from ...domain.settings import Settings, build_settings
from ..grid import overrides_from, raw_settings, roster_from, staff_from, tool_columns, tool_table
from ..store import check_rows_fit, missing_sheet
from ..xlsxstream import sheet_xml as sx
from ..xlsxstream.deflate_segments import CHUNK, ROW_NUM
from ..xlsxstream.pieces import row_pieces
from ..xlsxstream.shared_formulas import Formulas
from ..xlsxstream.sheet_writer import stream_patch, table_rows_xml
from . import register_index
from .new_sheets import sheet_part


def part_of(parts: dict[str, str], role: str, required: bool = False) -> str | None:
    """The package part of the sheet `role` under any of its names (zh/en), or None."""
    for name in SHEETS[role]:
        if name in parts:
            return parts[name]
    if required:
        raise missing_sheet(role)
    return None


class ToolSheets:
    """Tool sheets read from `zip` (the package as the file holds it: `attach` after each save)."""

    def __init__(self, register: Path, zf: zipfile.ZipFile, parts: dict[str, str], strings, lang: str,
                 row_notices: dict[str, str]):
        self.register, self.zip, self.parts, self.strings, self.lang = register, zf, parts, strings, lang
        self.row_notices = row_notices
        self.ops: dict[str, list] = {}  # role -> [("append" | "replace", rows)], written by the next save
        self._grids: dict[str, list[list]] = {}
        self._settings: Settings | None = None
        self._memo: dict | None = None
        self._memo_changed = False

    def attach(self, zf: zipfile.ZipFile) -> None:
        """Read from the package saved anew: the sheets just written are read again when asked."""
        self.zip = zf
        for role in self.ops:
            self._grids.pop(role, None)
        self.ops.clear()

    # ---- reading -----------------------------------------------------------------------
    def grid(self, role: str) -> list[list]:
        """The sheet's cells as rows of values (row 1 the header); [] when the sheet is missing."""
        if role not in self._grids:
            part = part_of(self.parts, role)
            self._grids[role] = self._read_grid(part) if part is not None else []
        return self._grids[role]

    def _read_grid(self, part: str) -> list[list]:
        grid: list[list] = []
        formulas = Formulas()
        for r, body in self._stream_rows(part):
            cells = sx.row_cells(body, self.strings)
            if formulas.learn(body):
                formulas.cells(cells)
            while len(grid) < r:
                grid.append([])
            width = max(cells) if cells else 0
            grid[r - 1] = [cells.get(c) for c in range(1, width + 1)]
        return grid

    def _stream_rows(self, part: str):
        """(row number, row body bytes) for every row of a sheet part, streamed."""
        with self.zip.open(part) as f:
            for buf in row_pieces(f, None, CHUNK):
                for m in sx.ROW_RE.finditer(buf):
                    yield int(m.group(1)), m.group(2) or b""

    def table(self, role: str) -> list[dict]:
        return tool_table(self.grid(role), role)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = build_settings(raw_settings(self.grid("settings")),
                                            staff_from(self.table("staff")), roster_from(self.table("roster")))
        return self._settings

    def calendar_overrides(self) -> dict[date, str]:
        return overrides_from(self.table("calendar"))

    # ---- writing (at the next save) ----------------------------------------------------
    def append(self, role: str, rows: list[dict]) -> None:
        self.ops.setdefault(role, []).append(("append", rows))

    def replace(self, role: str, rows: list[dict]) -> None:
        self.ops[role] = [("replace", rows)]

    def missing(self) -> list[str]:
        """The roles written to whose sheet the package lacks."""
        return [role for role in self.ops if part_of(self.parts, role) is None]

    def holds_dates(self) -> bool:
        """Whether a row to write holds a date (its cell then needs a date-time style)."""
        return any(isinstance(v, date) for ops in self.ops.values() for _, rows in ops for row in rows
                   for v in row.values())

    def plans(self) -> dict[str, tuple[str, tuple]]:
        """part -> (role, plan) of every sheet to write; refused when one would outgrow Excel."""
        return {part_of(self.parts, role): (role, self._plan(role)) for role in self.ops}

    def _plan(self, role: str) -> tuple[list, int, list[dict], bool]:
        """A sheet's header, the row after which rows are written, the rows, and whether the
        sheet's rows are replaced."""
        header, last = self._extent(role)
        ops = self.ops[role]
        replace = any(kind == "replace" for kind, _ in ops)
        last = 1 if replace else max(last, 1)
        rows = [row for _, batch in ops for row in batch]
        check_rows_fit(role, last + len(rows), self.row_notices)
        return header, last, rows, replace

    def _extent(self, role: str) -> tuple[list, int]:
        """A sheet's header and its last row holding a value — without reading the rows in
        between when the sheet was not read (the audit sheet grows with every change)."""
        if role in self._grids or part_of(self.parts, role) not in self.zip.namelist():  # (a sheet to add)
            grid = self._grids.get(role, [])
            last = max((i + 1 for i, line in enumerate(grid) if any(v not in (None, "") for v in line)), default=0)
            return (grid[0] if grid else []), last
        header: list = []
        last = 0
        with self.zip.open(part_of(self.parts, role)) as f:
            for buf in row_pieces(f, None, CHUNK):
                if not header:
                    m = sx.ROW_RE.search(buf)
                    if m and m.group(1) == b"1":
                        cells = sx.row_cells(m.group(2) or b"", self.strings)
                        header = [cells.get(c) for c in range(1, max(cells, default=0) + 1)]
                # the last value in this piece belongs to the last row starting before it
                value = max(buf.rfind(b"<v>"), buf.rfind(b"<t>"), buf.rfind(b"<t "))
                start = buf.rfind(b'<row r="', 0, value) if value >= 0 else -1
                if start >= 0:
                    last = max(last, int(ROW_NUM.match(buf, start).group(1)))
        return header, last

    def write(self, role: str, plan, out, date_style: int | None) -> None:
        """The sheet `role` with its rows written as `plan` says, streamed into `out`."""
        header, last, rows, replace = plan
        header = header or [zh if self.lang == "zh" else en for _, zh, en in TOOL_COLUMNS[role]]
        cols = {k: i + 1 for k, i in tool_columns(header, role).items()}
        appended = table_rows_xml(last + 1, rows, cols, date_style)
        if part_of(self.parts, role) not in self.zip.namelist():  # a sheet added by this save
            out.write(sheet_part(header, b"".join(appended)))
            return
        stream_patch(self.zip, part_of(self.parts, role), out, {}, appended, last + len(rows), len(header),
                     drop_from=2 if replace else None)

    # ---- what derived sheets were built from ------------------------------------------
    def built_from(self, role: str) -> str | None:
        """The inputs key the sheet `role` was last written from, if the sheet is unchanged since."""
        entry = self._derived().get(role)
        part = part_of(self.parts, role)
        if not entry or part is None or role in self.ops:
            return None
        info = self.zip.getinfo(part)
        return entry[0] if entry[1:] == [info.CRC, info.file_size] else None

    def remember_built(self, role: str, key: str) -> None:
        """Record that the sheet `role` is (or, after save, will be) what `key`'s inputs give."""
        self._derived()[role] = [key]
        self._memo_changed = True

    def _derived(self) -> dict:
        if self._memo is None:
            self._memo = register_index.load_memo(self.register, SHEETS)
        return self._memo

    def close(self) -> None:
        """Keep the memo of what was built, for the sheets that were written as remembered."""
        if not self._memo_changed or self._memo is None:
            return
        for role, entry in list(self._memo.items()):
            part = part_of(self.parts, role)
            if part is None or role in self.ops:  # not saved after all: forget it
                self._memo.pop(role)
            elif len(entry) == 1:
                info = self.zip.getinfo(part)
                entry.extend([info.CRC, info.file_size])
        register_index.save_memo(self.register, self._memo)
