"""Adapter — yearly archive workbooks (archive/投诉归档_<year>.xlsx): read and write;
and the audit archives (archive/变更记录_<yyyymmdd>.xlsx) an archive run writes.

An archive has the register's columns (same headers) on 投诉归档 and the
moved communication-log entries on 沟通记录, rows in complaint-number order.
The 变更记录 rows of the complaints that left go to a file per run, so the
register's audit sheet stays under Excel's row limit.
"""
from __future__ import annotations

import contextlib
import io
import marshal
import os
import re
import zipfile
from datetime import date, datetime
from itertools import compress
from pathlib import Path

from ... import __version__
from ...domain.model import RegisterRow
from ...domain.parsing import PHONE_SEPARATOR, normalise_phone, text_of
from ...domain.schema import AUDIT_COLUMNS, COLUMNS, COMMS_COLUMNS, EXCEL_MAX_ROWS, header_lookup, normalise_header
from ...errors import SchemaError
from ..files import atomic_write, atomic_write_bytes
from ..grid import tool_table
from ..package_guard import inspect_package
from ..safe_paths import safe_name
from ..xlsxstream import (
    ROW_RE,
    Formulas,
    MentionSearch,
    Unsearchable,
    cell_value,
    col_letter,
    row_cells,
    row_pieces,
    shared_strings,
    sheet_parts,
    table_rows_xml,
)
from ..xlsxstream.sheet_checks import SheetCheck
from .sheet_scan import ROW_NUM, Keyed, holds_value, piece_rows, typed_row

ARCHIVE_SHEET, COMMS_SHEET, AUDIT_SHEET = "投诉归档", "沟通记录", "变更记录"
ARCHIVE_PREFIX, AUDIT_PREFIX = "投诉归档_", "变更记录_"
CACHE_FORMAT = 3


def archive_path(folder: Path, year: int, register: Path) -> Path:
    """投诉归档_<year>_<register name>.xlsx: the archive names its register, so two registers in one
    folder never read or write each other's archive."""
    return Path(folder) / f"{ARCHIVE_PREFIX}{year}_{owner_tag(register)}.xlsx"


def owner_tag(register: Path) -> str:
    return safe_name(Path(register).stem, 60)


def archive_owner(path: Path, prefix: str = ARCHIVE_PREFIX) -> tuple[str, str | None] | None:
    """(the year or day the archive's name gives, the register it names — None for a name from before
    archives named their register) or None for a file that is no archive of that kind."""
    m = re.fullmatch(re.escape(prefix) + r"(\d{4}|\d{8})(?:_(.+))?\.xlsx", Path(path).name)
    return (m.group(1), m.group(2)) if m else None


def archives_of_register(folder: Path, register: Path, prefix: str = ARCHIVE_PREFIX) -> list[Path]:
    """The register's archive files of that kind in the folder, by name: those naming it, and those
    from before archives named their register (they belong to whichever register the folder had)."""
    if not Path(folder).is_dir():
        return []
    tag = owner_tag(register)
    found = [(archive_owner(p, prefix), p) for p in Path(folder).glob(f"{prefix}*.xlsx")]
    return sorted(p for owner, p in found if owner is not None and owner[1] in (None, tag))


def read_archive_rows(path: Path) -> list[RegisterRow]:
    """An archive's rows in full (row ids as read_archive's)."""
    rows, _ = read_archive(path, comms=False)
    return rows


def _open(path: Path, inspect: bool = True) -> zipfile.ZipFile:
    """An archive file, once the package guard passed it (an archive is as hostile as a register:
    its sheets are checked as they are streamed, see _pieces). Without `inspect`, for reading the zip
    directory alone."""
    try:
        if inspect:
            inspect_package(Path(path))
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SchemaError(f"无法打开归档文件“{Path(path).name}”（{type(exc).__name__}）")


class _Sheet:
    """An archive's sheets, shared strings and columns (by key, first of a repeated header)."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.parts = sheet_parts(zf)
        self.strings = shared_strings(zf.read("xl/sharedStrings.xml")) \
            if "xl/sharedStrings.xml" in zf.namelist() else []
        self.main_name = ARCHIVE_SHEET if ARCHIVE_SHEET in self.parts else next(iter(self.parts))
        self.main = self.parts[self.main_name]
        self.columns: dict[str, int] | None = None
        self.formulas = Formulas()  # of the main sheet, learnt as its pieces are read (staff may edit an archive)

    def pieces(self):
        for buf in _pieces(self.zf, self.main_name, self.main, self.strings):
            if self.columns is None:
                first = ROW_RE.search(buf)
                header = row_cells(first.group(2) or b"", self.strings) \
                    if first and first.group(1) == b"1" else {}
                lookup = header_lookup()
                self.columns = {lookup[normalise_header(v)]: c for c, v in sorted(header.items(), reverse=True)
                                if lookup.get(normalise_header(v))}
            yield buf


def read_archive(path: Path, only: set[int] | None = None, comms: bool = True) -> tuple[list[RegisterRow], list[dict]]:
    """Rows (row ids are minus the row number; with `only`, the rows of those numbers) and
    communication entries of an archive file. Streamed like the fast store reads a register."""
    with _open(path) as zf:
        sheet = _Sheet(zf)
        rows = []
        for buf in sheet.pieces():
            keyed = Keyed.of(sheet.columns)
            here = None if only is None else only.intersection(map(int, ROW_NUM.findall(buf)))
            rows.extend(RegisterRow(-r, values) for r, values
                        in piece_rows(buf, sheet.strings, keyed, here, sheet.formulas) if holds_value(values))
        return rows, (_comms(zf, sheet) if comms else [])


def archive_rows_mentioning(path: Path, texts, phones, keys) -> list[RegisterRow]:
    """In full, the archive's rows whose cells of `keys` may hold one of `texts` or `phones`
    (`find`): picked by the byte search the fast store uses on a register, the others not parsed."""
    with _open(path) as zf:
        sheet = _Sheet(zf)
        rows, search = [], None
        try:
            for buf in sheet.pieces():
                if search is None:
                    letters = {col_letter(c).encode() for k, c in sheet.columns.items() if k in keys}
                    search = MentionSearch.of(texts, phones, sheet.strings, letters, PHONE_SEPARATOR, normalise_phone)
                    if search is None:
                        raise Unsearchable("the query cannot be searched as bytes")
                rows.extend(RegisterRow(-r, values) for r, values
                            in piece_rows(buf, sheet.strings, Keyed.of(sheet.columns), search.rows_in(buf),
                                          sheet.formulas)
                            if holds_value(values))
        except Unsearchable:
            return read_archive(path, comms=False)[0]
        return rows


# the columns of an archive that numbering, repeat detection, import and the trend read: kept
# in a cache beside the archive, so the daily cycle does not scan years of complaints each time
LIGHT_KEYS = ("complaint_no", "received_at", "customer_id", "contact", "category", "request_type",
              "is_valid", "status")


def read_archive_columns(path: Path, keys) -> list[RegisterRow]:
    """The cells of `keys` only, of every row holding one (what numbering, repeat detection and
    the trend need of an archive): one pass finds those cells and no other cell is parsed; for
    keys among LIGHT_KEYS, read once per version of the file and then from its cache."""
    keys = tuple(keys)
    if set(keys) <= set(LIGHT_KEYS):
        rows, columns = archive_columns(path, keys)
        keyed = Keyed.of({k: i for i, k in enumerate(columns)})
        return [RegisterRow(-r, typed_row(dict(enumerate(values)), keyed))
                for r, values in zip(rows, zip(*columns.values()))]
    with _open(path) as zf:
        cells, keyed = _cells_of(zf, keys)
    return [RegisterRow(-r, typed_row(row, keyed)) for r, row in cells]


def archive_columns(path: Path, keys) -> tuple[list[int], dict[str, list]]:
    """Row numbers and, per key of `keys` (among LIGHT_KEYS) the archive has, the values as stored
    (a time is an Excel serial) of the rows holding one of them — from the cache, no dict per
    row: the daily cycle compares years of archived complaints so, as the register's closed rows."""
    rows, columns = _light_columns(path)
    picked = {k: columns[k] for k in keys if k in columns}
    held = [any(v is not None for v in values) for values in zip(*picked.values())] if picked else []
    if len(held) == len(rows) and all(held):
        return rows, picked
    return list(compress(rows, held)), {k: list(compress(values, held)) for k, values in picked.items()}


def _cells_of(zf: zipfile.ZipFile, keys) -> tuple[list[tuple[int, dict]], Keyed]:
    """(row, {column: value as stored}) of the rows holding a cell of `keys`, and those columns."""
    sheet = _Sheet(zf)
    rows: dict[int, dict] = {}
    pattern = by_letter = None
    keyed = Keyed.of({})
    for buf in sheet.pieces():
        if pattern is None:
            by_letter = {col_letter(c).encode(): c for k, c in sheet.columns.items() if k in keys}
            keyed = Keyed.of({k: c for k, c in sheet.columns.items() if k in keys})
            if not by_letter:
                return [], keyed
            letters = b"|".join(sorted(by_letter, key=len, reverse=True))
            pattern = re.compile(rb'<c r="(' + letters + rb')(\d+)"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
        shared = sheet.formulas.learn(buf)
        for m in pattern.finditer(buf):
            # a cell of a shared formula needs its reference to read as one
            attrs = b' r="%s%s"' % m.group(1, 2) + m.group(3) if shared else m.group(3)
            value = cell_value(attrs, m.group(4), sheet.strings)
            if type(value) is tuple:
                value = sheet.formulas.value(value)
            if value is not None and value != "" and m.group(2) != b"1":
                rows.setdefault(int(m.group(2)), {})[by_letter[m.group(1)]] = value
    return sorted(rows.items()), keyed


def remove_archive(path: Path) -> None:
    """Delete an archive file and every cache derived from it (its columns hold phone numbers)."""
    path = Path(path)
    for cache in (path.parent / ".cache").glob(f"{path.name}.*"):
        cache.unlink(missing_ok=True)
    path.unlink()


def cache_path(path: Path) -> Path:
    return Path(path).parent / ".cache" / f"{Path(path).name}.columns"


def _light_columns(path: Path) -> tuple[list[int], dict[str, list]]:
    """Row numbers and the LIGHT_KEYS columns the archive has (values as stored; None where a
    row has no value), from the cache when it was made from this version of the file — told by the
    zip directory alone (every part's name, CRC-32 and size), so a hit reads and inspects no part."""
    with _open(path, inspect=False) as zf:
        stamp = [CACHE_FORMAT, __version__, os.path.getsize(path)] + \
            sorted([i.filename, i.CRC, i.file_size] for i in zf.infolist())
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError, IndexError):
        cached = marshal.loads(cache_path(path).read_bytes())
        if cached[0] == stamp:
            return cached[1], cached[2]
    with _open(path) as zf:
        cells, keyed = _cells_of(zf, LIGHT_KEYS)
    rows = [r for r, _ in cells]
    columns = {k: [row.get(c) for _, row in cells] for k, c in zip(keyed.keys, keyed.columns)}
    with contextlib.suppress(OSError, ValueError):  # a cache: it may fail to save
        cache_path(path).parent.mkdir(exist_ok=True)
        atomic_write_bytes(cache_path(path), marshal.dumps([stamp, rows, columns]))
    return rows, columns


def _comms(zf: zipfile.ZipFile, sheet: _Sheet) -> list[dict]:
    """The archive's communication-log entries (times as datetime)."""
    return _tool_rows(zf, COMMS_SHEET, sheet.parts.get(COMMS_SHEET), sheet.strings, "comms")


def _tool_rows(zf: zipfile.ZipFile, name: str, part: str | None, strings: list, role: str) -> list[dict]:
    """The rows of a sheet laid out as the register's tool sheet `role` (times as datetime)."""
    grid, formulas = [], Formulas()
    for buf in _pieces(zf, name, part, strings) if part else ():
        shared = formulas.learn(buf)
        for m in ROW_RE.finditer(buf):
            cells = row_cells(m.group(2) or b"", strings)
            if shared:
                formulas.cells(cells)
            grid.append([cells.get(c) for c in range(1, max(cells, default=0) + 1)])
    return tool_table(grid, role)


def read_audit_archive(path: Path) -> list[dict]:
    """The rows of an audit archive, in the order they were written (sheet after sheet)."""
    with _open(path) as zf:
        sheet = _Sheet(zf)
        return [entry for name, part in sheet.parts.items() if name.startswith(AUDIT_SHEET)
                for entry in _tool_rows(zf, name, part, sheet.strings, "audit")]


def archived_numbers(path: Path) -> set[str]:
    """The complaint numbers an archive file holds (its check after writing; numbering, import and
    the audit split read them of every archive)."""
    _, columns = archive_columns(path, ("complaint_no",))
    numbers = {text_of(n) for n in columns.get("complaint_no", ())}
    numbers.discard("")
    return numbers


def _pieces(zf: zipfile.ZipFile, sheet: str, part: str, strings: list | None):
    """The XML of the sheet named `sheet` (its `part`) in pieces that end on a </row> boundary, each
    checked as a register's sheet is (xlsxstream.sheet_checks; the shared-string indexes when
    `strings` is given)."""
    check = SheetCheck(Path(zf.filename or "").name, sheet, len(strings or ()))
    with zf.open(part) as f:
        for piece in row_pieces(f):
            check.piece(piece, exact=strings is not None)
            yield piece


def write_archive(path: Path, rows: list[dict], comms: list[dict]) -> None:
    """Write the whole archive (existing + new rows), sorted by complaint number. The sheets'
    rows are written as XML in batches (a year of a busy desk is hundreds of thousands of rows)
    into a package openpyxl lays out: headers, frozen panes, a date-and-time style."""
    _write_package(path, {
        ARCHIVE_SHEET: (sorted(rows, key=lambda v: text_of(v.get("complaint_no"))),
                        {c.key: i for i, c in enumerate(COLUMNS, 1)}),
        COMMS_SHEET: (sorted(comms, key=lambda e: (text_of(e.get("complaint_no")), text_of(e.get("time")))),
                      {key: i for i, (key, _, _) in enumerate(COMMS_COLUMNS, 1)}),
    })


def audit_archive_path(folder: Path, day: date, register: Path) -> Path:
    """The file for the audit rows archive runs of that day move: 变更记录_<yyyymmdd>_<register>.xlsx."""
    return Path(folder) / f"{AUDIT_PREFIX}{day:%Y%m%d}_{owner_tag(register)}.xlsx"


def audit_sheet_names(count: int) -> list[str]:
    """变更记录, 变更记录2, ...: as many sheets as `count` rows need under Excel's row limit."""
    sheets = max(1, -(-count // (EXCEL_MAX_ROWS - 1)))
    return [AUDIT_SHEET + (str(i) if i > 1 else "") for i in range(1, sheets + 1)]


def write_audit_archive(path: Path, rows: list[dict]) -> None:
    """The audit rows of archived complaints, in the order they were logged, in a file of their
    own (one per day of archive runs: a later run that day rewrites it with its rows added); a
    sheet holds at most Excel's 1,048,575 rows under its header, the rest go on to 变更记录2, ..."""
    cols = {key: i for i, (key, _, _) in enumerate(AUDIT_COLUMNS, 1)}
    per = EXCEL_MAX_ROWS - 1
    _write_package(path, {name: (rows[i * per:(i + 1) * per], cols)
                          for i, name in enumerate(audit_sheet_names(len(rows)))})


def audit_rows_in(path: Path) -> int:
    """How many rows under the headers an audit archive holds (its check after writing)."""
    with _open(path) as zf:
        count = 0
        for name, part in sheet_parts(zf).items():
            if name.startswith(AUDIT_SHEET):
                count += sum(buf.count(b"<row ") - buf.count(b'<row r="1"') for buf in _pieces(zf, name, part, None))
        return count


def _write_package(path: Path, sheets: dict[str, tuple[list[dict], dict[str, int]]]) -> None:
    """Write `sheets` (name: rows as dicts, column by key) as one workbook, atomically."""
    template, style = _template(list(sheets))

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(io.BytesIO(template)) as src, \
                zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as dst:
            parts = {part: name for name, part in sheet_parts(src).items()}
            for info in src.infolist():
                data = src.read(info.filename)
                if info.filename not in parts:
                    dst.writestr(info, data)
                    continue
                lines, cols = sheets[parts[info.filename]]
                head, rest = data.split(b"<sheetData>", 1)
                header = rest[:rest.find(b"</row>") + 6]
                tail = rest[rest.find(b"</sheetData>"):]
                last = f"{col_letter(len(cols))}{len(lines) + 1}"
                head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}"/>'.encode(), head)
                with dst.open(info.filename, "w", force_zip64=True) as out:
                    out.write(head + b"<sheetData>" + header)
                    for block in table_rows_xml(2, lines, cols, style):  # a block at a time
                        out.write(block)
                    out.write(tail)
    atomic_write(path, write)


def _template(names: list[str]) -> tuple[bytes, int]:
    """An empty package of these sheets (with their headers) and its date-and-time style.
    (openpyxl is imported here: the commands that only read archives never load it.)"""
    from openpyxl import Workbook

    from ..workbook_builder import tool_sheet_header
    from ..xlsx_store import as_cell_value
    wb = Workbook()
    wb.remove(wb.active)
    for name in names:
        if name == ARCHIVE_SHEET:
            ws = wb.create_sheet(name)
            ws.append([c.zh for c in COLUMNS])
            ws.freeze_panes = "B2"
        else:
            tool_sheet_header(wb.create_sheet(name), COMMS_COLUMNS if name == COMMS_SHEET else AUDIT_COLUMNS, "zh")
    probe = wb.create_sheet("probe")
    as_cell_value(probe.cell(1, 1), datetime(2000, 1, 1))  # only to have the style: the sheet is taken out
    style = probe.cell(1, 1).style_id
    wb.remove(probe)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), style
