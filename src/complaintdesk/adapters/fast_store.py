"""Adapter — the fast register store for large files: streams the worksheet XML.

Reading: the register sheet is streamed row by row; closed complaints are
read *light* (only the cells numbering, repeat detection and the trend need),
every other row in full — so a 200,000-row register is not turned into
millions of Python objects. Small sheets (设置, 人员, …) are read whole.
Writing: only the changed automation cells are patched into their rows, rows
are appended before </sheetData>, tool sheets are appended to or rewritten;
every other part of the package (sharedStrings, styles, tables, validations,
conditional formats, comments, extensions) is copied unchanged. The save is
atomic with a backup, like the openpyxl store's. Same Protocol, same results.
"""
from __future__ import annotations

import re
import struct
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Callable

from ..domain import labels
from ..domain.model import RegisterRow
from ..domain.parsing import parse_datetime
from ..domain.schema import BY_KEY, COLUMNS, DATETIME_KEYS, SHEETS, TOOL_COLUMNS, header_lookup, normalise_header
from ..domain.settings import Settings, build_settings
from ..errors import ComplaintDeskError, SchemaError
from . import sheet_xml as sx
from .files import atomic_write, make_backup, refuse_if_open_in_excel
from .grid import overrides_from, raw_settings, roster_from, staff_from, tool_columns, tool_table
from .package_guard import checked_register
from .store import FILLABLE_PROCESS_KEYS, StaffCellError, check_automation
from .xlsx_store import REQUIRED_STAFF

CHUNK = 8 << 20
ROW_NUM = re.compile(rb'<row r="(\d+)"')
UNUSUAL = (b"<f", b"<r>", b' cm="', b' vm="', b' ph="', b'<c s="', b'<c t="')
LIGHT_KEYS = ("complaint_no", "received_at", "request_type", "is_valid", "category", "customer_id",
              "contact", "status", "closed_at", "case_library")
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CLOSED = {labels.STATUS["closed"][0], labels.STATUS["closed"][1], "closed"}
DATETIME_NUMFMT = "yyyy-mm-dd hh:mm"


def _patterns(letters):
    alt = b"|".join(sorted(letters, key=len, reverse=True))
    cell = re.compile(rb'<c r="(' + alt + rb')(\d+)"(?: s="\d+")?(?: t="([a-zA-Z]+)")?(?: s="\d+")?'
                      rb'(?:/>|>(?:<v>([^<]*)</v>|<is><t(?: xml:space="preserve")?>([^<]*)</t></is>)?</c>)')
    return cell, re.compile(rb'<c r="(' + alt + rb')(\d+)"')


_PATTERNS: dict = {}


def scan_chunk(buf: bytes, spec) -> list[tuple[int, dict]]:
    """(row, values) for every row in a piece of sheet XML: light values for closed complaints
    (not marked for the case library), every column for the rest."""
    strings, by_letter, keyed = spec
    key = tuple(by_letter)
    if key not in _PATTERNS:
        _PATTERNS[key] = _patterns(by_letter)
    cell_re, start_re = _PATTERNS[key]
    starts = {m.group(1): m.start() for m in ROW_NUM.finditer(buf)}
    if len(starts) != buf.count(b"<row"):
        raise SchemaError("登记表中有不带行号的行，请用完整模式处理（设置环境变量 COMPLAINTDESK_STORE=openpyxl）")
    light: dict[bytes, dict] = {}
    found = cell_re.findall(buf)
    value = sx.fast_value
    for letter, r, kind, v, t in found:
        d = light.get(r)
        if d is None:
            d = light[r] = {}
        d[by_letter[letter]] = value(kind, v, t, strings)
    if any(mark in buf for mark in UNUSUAL) and len(found) != len(start_re.findall(buf)):
        for letter, r in set(start_re.findall(buf)) - {(x[0], x[1]) for x in found}:
            light.setdefault(r, {})[by_letter[letter]] = sx.find_cell(_row_body(buf, int(r), starts[r]), letter, r,
                                                                      strings)
    out = []
    for rb, start in starts.items():
        r = int(rb)
        if r == 1:
            continue
        d = light.get(rb, {})
        if d.get("status") in CLOSED and d.get("closed_at") not in (None, "") and d.get("case_library") != "是":
            d["_light"] = True
            out.append((r, d))
            continue
        cells = sx.row_cells(_row_body(buf, r, start), strings)
        out.append((r, {k: typed(k, cells.get(c)) for k, c in keyed}))
    return out


def typed(key: str, value):
    """A cell value as the openpyxl store would give it: times in time columns as datetime."""
    if value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key in DATETIME_KEYS:
        if 1 <= value < 2958466:
            return serial_datetime(value)
    return value


def serial_datetime(value: float) -> datetime:
    """Excel serial -> datetime, rounded to the second (as parse_datetime does, but faster)."""
    days = int(value)
    seconds = round((value - days) * 86400)
    return datetime.fromordinal(693594 + days) + timedelta(seconds=seconds)


def _row_body(buf: bytes, r: int, start: int) -> bytes:
    """The cells of row r, whose <row> element starts at `start`."""
    head_end = buf.find(b">", start)
    if buf[head_end - 1:head_end] == b"/":
        return b""
    end = buf.find(b"</row>", head_end)
    return buf[head_end + 1:end]


def _copy_member(src: zipfile.ZipFile, info: zipfile.ZipInfo, dst: zipfile.ZipFile) -> None:
    """Copy one member's compressed bytes as they are: no inflate, no deflate."""
    src.fp.seek(info.header_offset)
    local = src.fp.read(30)
    if local[:4] != b"PK\x03\x04":
        raise SchemaError(f"{info.filename} 的压缩头损坏")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    src.fp.seek(info.header_offset + 30 + name_len + extra_len)
    copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
    copy.compress_type = info.compress_type
    copy.CRC, copy.compress_size, copy.file_size = info.CRC, info.compress_size, info.file_size
    copy.external_attr, copy.create_system = info.external_attr, info.create_system
    copy.flag_bits = info.flag_bits & ~0x08  # sizes are known: no data descriptor
    copy.header_offset = dst.fp.tell()
    zip64 = info.file_size > zipfile.ZIP64_LIMIT or info.compress_size > zipfile.ZIP64_LIMIT
    dst.fp.write(copy.FileHeader(zip64))
    remaining = info.compress_size
    while remaining:
        block = src.fp.read(min(CHUNK, remaining))
        if not block:
            raise SchemaError(f"{info.filename} 的数据不完整")
        dst.fp.write(block)
        remaining -= len(block)
    dst.filelist.append(copy)
    dst.NameToInfo[copy.filename] = copy
    dst.start_dir = dst.fp.tell()
    dst._didModify = True


def _attrs(xml: str) -> dict[str, str]:
    return dict(re.findall(r'\b([\w:]+)="([^"]*)"', xml))


class FastStore:
    def __init__(self, path: Path, source: str = "命令行", read_only_check: bool = False):
        self.path = Path(path)
        self.source = source
        self.warnings = checked_register(self.path, read_only_check)
        self.zip = zipfile.ZipFile(self.path)
        self.names = set(self.zip.namelist())
        self.parts = self._sheet_parts()
        self.lang = "en" if SHEETS["register"][1] in self.parts and SHEETS["register"][0] not in self.parts else "zh"
        self.register_part = self._part("register", required=True)
        self.strings = sx.shared_strings(self.zip.read("xl/sharedStrings.xml")) \
            if "xl/sharedStrings.xml" in self.names else []
        self.head, self.header_row = self._head()
        self.columns = self._map_headers()
        self.col_styles = self._col_styles()
        self._by_col = {c: k for k, c in self.columns.items()}
        self._settings: Settings | None = None
        self._small: dict[str, list[list]] = {}
        self._values: dict[int, dict] = {}
        self._last_row = 1
        self._patches: dict[int, dict[int, tuple[object, int | None]]] = {}
        self._appended: list[dict] = []
        self._table_ops: dict[str, list] = {}
        self._extra_parts: dict[str, bytes] = {}
        self._add_formatting = False
        self._cache: dict = {}

    # ---- package structure -------------------------------------------------------------
    def _sheet_parts(self) -> dict[str, str]:
        workbook = self.zip.read("xl/workbook.xml").decode("utf-8")
        rels = self.zip.read("xl/_rels/workbook.xml.rels").decode("utf-8")
        targets = {}
        for rel in re.findall(r"<Relationship\b[^>]*>", rels):
            a = _attrs(rel)
            target = a.get("Target", "")
            targets[a.get("Id")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out = {}
        for sheet in re.findall(r"<sheet\b[^>]*>", workbook):
            name = sx._text(re.search(r'\bname="([^"]*)"', sheet).group(1).encode())
            rid = re.search(r'\br:id="([^"]*)"|\bid="([^"]*)"', sheet)
            rid = rid.group(1) or rid.group(2)
            out[name] = str(PurePosixPath(targets[rid]))
        return out

    def _part(self, role: str, required: bool = False) -> str | None:
        for name in SHEETS[role]:
            if name in self.parts:
                return self.parts[name]
        if required:
            raise SchemaError(f"工作簿缺少“{SHEETS[role][0]}”工作表（英文名 {SHEETS[role][1]}）")
        return None

    def _head(self) -> tuple[bytes, dict[int, object]]:
        """The sheet XML before the first data row, and the header row's cells."""
        with self.zip.open(self.register_part) as f:
            buf = b""
            while True:
                chunk = f.read(1 << 20)
                buf += chunk
                m = sx.ROW_RE.search(buf)
                if m or not chunk:
                    break
        head = buf[:buf.find(b"<sheetData")] if b"<sheetData" in buf else buf
        return head, sx.row_cells(m.group(2), self.strings) if m and m.group(1) == b"1" else {}

    def _map_headers(self) -> dict[str, int]:
        lookup = header_lookup()
        found: dict[str, int] = {}
        for col, value in sorted(self.header_row.items()):
            key = lookup.get(normalise_header(value))
            if key and key in found:
                raise SchemaError(f"投诉登记表的列“{BY_KEY[key].zh}”出现两次（{sx.col_letter(found[key])}1 和 "
                                  f"{sx.col_letter(col)}1），请删除或改名其中一列")
            if key:
                found[key] = col
        missing = [c.label(self.lang) for c in COLUMNS if c.key not in found
                   and (c.group == "automation" or c.key in REQUIRED_STAFF)]
        if missing:
            raise SchemaError("投诉登记表缺少列：" + "、".join(missing) + "（可运行 complaintdesk check 查看详情）")
        return found

    def _col_styles(self) -> dict[int, int]:
        styles = {}
        for col in re.findall(rb"<col\b[^>]*>", self.head):
            a = {k.decode(): v.decode() for k, v in sx.ATTR_RE.findall(col)}
            if "style" in a:
                for c in range(int(a["min"]), int(a["max"]) + 1):
                    styles[c] = int(a["style"])
        return styles

    # ---- reading -----------------------------------------------------------------------
    def _stream_rows(self, part: str):
        """(row number, row body bytes) for every row of a sheet part, streamed."""
        with self.zip.open(part) as f:
            buf = b""
            while True:
                chunk = f.read(CHUNK)
                buf += chunk
                end = buf.rfind(b"</row>")
                if chunk and end < 0:
                    continue
                cut = len(buf) if not chunk else end + 6
                last = 0
                for m in sx.ROW_RE.finditer(buf, 0, cut):
                    yield int(m.group(1)), m.group(2) or b""
                    last = m.end()
                buf = buf[max(last, 0):] if chunk else b""
                if not chunk:
                    break

    def rows(self, full: bool | Callable[[dict], bool] | None = None) -> list[RegisterRow]:
        """Rows with values by key. Closed rows are light unless `full` says otherwise.

        `full`: None — every row not closed in full; True — every row in full; a predicate over
        a closed row's light values — also those closed rows in full. One dict per row is kept
        and shared by every call, so writes are visible to later reads."""
        if full is True:
            if True not in self._cache:
                self._materialize(None)
                self._cache[True] = self._cache[None] = self._all_rows()
            return self._cache[True]
        if None not in self._cache:
            self._read_light()
            self._cache[None] = self._all_rows()
        if callable(full):
            wanted = {r for r, v in self._values.items() if v.get("_light") and full(v)}
            if wanted:
                self._materialize(wanted)
        return self._cache[None]

    def _all_rows(self) -> list[RegisterRow]:
        out = [RegisterRow(r, v) for r, v in sorted(self._values.items())
               if any(x not in (None, "") for k, x in v.items() if k != "_light") or r in self._patches]
        return out

    def _chunks(self):
        """The register sheet XML in pieces that end on a </row> boundary."""
        with self.zip.open(self.register_part) as f:
            carry = b""
            while True:
                chunk = f.read(CHUNK)
                buf = carry + chunk
                if not chunk:
                    yield buf
                    return
                cut = buf.rfind(b"</row>")
                if cut < 0:
                    carry = buf
                    continue
                yield buf[:cut + 6]
                carry = buf[cut + 6:]

    def _read_light(self) -> None:
        """One pass: the light cells of every row (C-level scan), full parse of rows not closed.

        Light values stay as stored (a received time is its Excel serial number); every reader
        of register values parses times with parse_datetime, which takes serials."""
        spec = (self.strings, {sx.col_letter(c).encode(): k for k, c in self.columns.items() if k in LIGHT_KEYS},
                sorted(self.columns.items(), key=lambda kv: kv[1]))
        for rows in (scan_chunk(buf, spec) for buf in self._chunks()):
            for r, values in rows:
                if r > self._last_row:
                    self._last_row = r
                known = self._values.get(r)
                if known is not None and not known.get("_light"):
                    continue
                if known is None and r not in self._patches:
                    self._values[r] = values
                else:
                    self._keep(r, values)

    def _materialize(self, rows: set[int] | None) -> None:
        """Read rows in full (None: every row) into their shared dicts."""
        keyed = sorted(self.columns.items(), key=lambda kv: kv[1])
        for buf in self._chunks():
            for m in ROW_NUM.finditer(buf):
                r = int(m.group(1))
                if r == 1 or (rows is not None and r not in rows):
                    continue
                self._last_row = max(self._last_row, r)
                known = self._values.get(r)
                if known is not None and not known.get("_light"):
                    continue
                cells = sx.row_cells(_row_body(buf, r, m.start()), self.strings)
                self._keep(r, {k: self._typed(k, cells.get(c)) for k, c in keyed})
        for offset, values in enumerate(self._appended):
            r = self._last_row - len(self._appended) + 1 + offset
            self._keep(r, {k: values.get(k) for k, _ in keyed})

    def _keep(self, r: int, values: dict) -> dict:
        """Overlay pending writes and keep one dict per row, shared by every read."""
        by_col = self._by_col
        for col, (value, _) in self._patches.get(r, {}).items():
            if col in by_col and (not values.get("_light") or by_col[col] in values):
                values[by_col[col]] = value
        known = self._values.get(r)
        if known is not None:
            known.clear()
            known.update(values)
            return known
        self._values[r] = values
        return values

    _typed = staticmethod(typed)

    def _small_grid(self, role: str) -> list[list]:
        if role not in self._small:
            part = self._part(role)
            grid: list[list] = []
            if part is not None:
                for r, body in self._stream_rows(part):
                    cells = sx.row_cells(body, self.strings)
                    while len(grid) < r:
                        grid.append([])
                    width = max(cells) if cells else 0
                    grid[r - 1] = [cells.get(c) for c in range(1, width + 1)]
            self._small[role] = grid
        return self._small[role]

    def table(self, role: str) -> list[dict]:
        rows = tool_table(self._small_grid(role), role)
        for row in rows:
            if role in ("comms", "audit", "notified", "calendar") and isinstance(row.get("time" if role != "calendar" else "date"), (int, float)):
                key = "time" if role != "calendar" else "date"
                row[key] = parse_datetime(row[key])[0]
        return rows

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = build_settings(raw_settings(self._small_grid("settings")),
                                            staff_from(self.table("staff")), roster_from(self.table("roster")))
        return self._settings

    def calendar_overrides(self) -> dict[date, str]:
        return overrides_from(self.table("calendar"))

    # ---- writing (recorded, applied by save) -------------------------------------------
    def _style_for(self, key: str) -> int | None:
        if BY_KEY[key].kind != "datetime":
            return None
        return self.col_styles.get(self.columns[key]) or self._datetime_style()

    def set_cells(self, row_id: int, values: dict[str, object]) -> None:
        check_automation(values)
        patch = self._patches.setdefault(row_id, {})
        for key, value in values.items():
            patch[self.columns[key]] = (value, self._style_for(key))
            if row_id in self._values:
                self._values[row_id][key] = value

    def fill_empty(self, row_id: int, key: str, value: object) -> bool:
        if key not in FILLABLE_PROCESS_KEYS:
            raise StaffCellError(key)
        current = self._values.get(row_id, {})
        if current.get("_light") or current.get(key) not in (None, ""):
            return False
        self._patches.setdefault(row_id, {})[self.columns[key]] = (value, self._style_for(key))
        current[key] = value
        return True

    def append_register(self, values: dict[str, object]) -> int:
        if not self._values:
            self.rows()
        self._last_row += 1
        self._appended.append({k: v for k, v in values.items() if k in self.columns and v not in (None, "")})
        self._cache.clear()
        return self._last_row

    def remove_register(self, row_ids: list[int]) -> None:
        raise ComplaintDeskError("大文件模式不支持删除行；归档请使用完整模式（COMPLAINTDESK_STORE=openpyxl）")

    def append_table(self, role: str, rows: list[dict]) -> None:
        self._table_ops.setdefault(role, []).append(("append", rows))

    def replace_table(self, role: str, rows: list[dict]) -> None:
        self._table_ops[role] = [("replace", rows)]

    def ensure_formatting(self) -> bool:
        breached = labels.label(labels.CLOCK_STATE, "breached", self.lang).encode("utf-8")
        tail = self._tail()
        if b"conditionalFormatting" in tail and (breached in tail or _ncr(breached) in tail):
            return False
        self._add_formatting = True
        return True

    def _tail(self) -> bytes:
        info = self.zip.getinfo(self.register_part)
        with self.zip.open(info) as f:
            if info.file_size > (1 << 20):
                f.seek(info.file_size - (1 << 20))
            return f.read()

    # ---- styles ------------------------------------------------------------------------
    def _styles_xml(self) -> str:
        if "xl/styles.xml" not in self._extra_parts:
            self._extra_parts["xl/styles.xml"] = self.zip.read("xl/styles.xml")
        return self._extra_parts["xl/styles.xml"].decode("utf-8")

    def _datetime_style(self) -> int:
        if getattr(self, "_dt_style", None) is not None:
            return self._dt_style
        xml = self._styles_xml()
        fmts = dict((v, k) for k, v in re.findall(r'<numFmt\b[^>]*numFmtId="(\d+)"[^>]*formatCode="([^"]*)"', xml))
        fmt_id = fmts.get(DATETIME_NUMFMT)
        if fmt_id is None:
            ids = [int(i) for i in fmts.values()] + [163]
            fmt_id = str(max(ids) + 1)
            entry = f'<numFmt numFmtId="{fmt_id}" formatCode="{DATETIME_NUMFMT}"/>'
            if "<numFmts" in xml:
                xml = re.sub(r"(<numFmts\b[^>]*>)", r"\g<1>" + entry, xml, count=1)
            else:
                xml = xml.replace("<fonts", f'<numFmts count="1">{entry}</numFmts><fonts', 1)
        xfs = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", xml, re.S)
        existing = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", xfs.group(1), re.S)
        for i, xf in enumerate(existing):
            if f'numFmtId="{fmt_id}"' in xf:
                self._dt_style = i
                break
        else:
            new = f'<xf numFmtId="{fmt_id}" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>'
            xml = xml.replace("</cellXfs>", new + "</cellXfs>", 1)
            xml = re.sub(r'<cellXfs count="\d+"', f'<cellXfs count="{len(existing) + 1}"', xml, count=1)
            self._dt_style = len(existing)
        self._extra_parts["xl/styles.xml"] = xml.encode("utf-8")
        return self._dt_style

    def _dxf(self, rgb: str) -> int:
        xml = self._styles_xml()
        dxf = f'<dxf><fill><patternFill patternType="solid"><bgColor rgb="FF{rgb}"/></patternFill></fill></dxf>'
        if "<dxfs" not in xml or "<dxfs/>" in xml or '<dxfs count="0"/>' in xml:
            xml = re.sub(r'<dxfs[^>]*/>', "", xml)
            xml = xml.replace("</cellStyles>", "</cellStyles><dxfs count=\"0\"></dxfs>", 1) \
                if "</cellStyles>" in xml else xml.replace("</styleSheet>", '<dxfs count="0"></dxfs></styleSheet>')
        count = len(re.findall(r"<dxf>", re.search(r"<dxfs\b[^>]*>(.*?)</dxfs>", xml, re.S).group(1)))
        xml = xml.replace("</dxfs>", dxf + "</dxfs>", 1)
        xml = re.sub(r'<dxfs count="\d+"', f'<dxfs count="{count + 1}"', xml, count=1)
        self._extra_parts["xl/styles.xml"] = xml.encode("utf-8")
        return count

    def _formatting_xml(self) -> bytes:
        from .workbook_builder import VALIDATED_ROWS
        letters = [sx.col_letter(self.columns[c.key]) for c in COLUMNS
                   if c.key.endswith("_status") and c.key != "status"]
        ref = " ".join(f"{x}2:{x}{VALIDATED_ROWS}" for x in letters)
        rules = []
        for priority, (state, rgb) in enumerate((("breached", "FFC7CE"), ("at_risk", "FFEB9C")), 1):
            text = sx.escape(labels.label(labels.CLOCK_STATE, state, self.lang))
            rules.append(f'<cfRule type="cellIs" dxfId="{self._dxf(rgb)}" priority="{priority}" operator="equal">'
                         f'<formula>"{text}"</formula></cfRule>')
        return f'<conditionalFormatting sqref="{ref}">{"".join(rules)}</conditionalFormatting>'.encode("utf-8")

    # ---- saving ------------------------------------------------------------------------
    def _register_xml(self, out, formatting: bytes) -> None:
        first_new = self._last_row - len(self._appended) + 1
        rows = []
        for r, values in zip(range(first_new, self._last_row + 1), self._appended):
            cells = {self.columns[k]: (v, self._style_for(k)) for k, v in values.items()}
            cells.update(self._patches.get(r, {}))
            rows.append(self._row_xml(r, cells))
        patches = {r: p for r, p in self._patches.items() if r < first_new}
        self._stream_patch(self.register_part, out, patches, b"".join(rows), self._last_row,
                           max(self.columns.values()), formatting)

    @staticmethod
    def _row_xml(r: int, cells: dict[int, tuple[object, int | None]]) -> bytes:
        body = "".join(sx.cell_xml(f"{sx.col_letter(c)}{r}", v, s) for c, (v, s) in sorted(cells.items()))
        return f'<row r="{r}">{body}</row>'.encode("utf-8")

    def _stream_patch(self, part, out, patches, appended: bytes, last_row: int, last_col: int,
                      formatting: bytes = b"", drop_from: int | None = None) -> None:
        """Copy a sheet part to `out`: patched rows replaced, rows >= drop_from dropped, rows appended.

        Unpatched rows are copied as they are, found by plain byte search, never parsed."""
        pending = sorted(patches)
        with self.zip.open(part) as f:
            buf = b""
            while b"<sheetData" not in buf:
                chunk = f.read(CHUNK)
                if not chunk:
                    raise SchemaError(f"{part} 缺少 <sheetData>，文件已损坏")
                buf += chunk
            start = buf.find(b"<sheetData")
            head = re.sub(rb'<dimension ref="[^"]*"/>',
                          f'<dimension ref="A1:{sx.col_letter(last_col)}{max(last_row, 1)}"/>'.encode(), buf[:start])
            out.write(head)
            buf = buf[start:]
            if buf.startswith(b"<sheetData/>"):
                buf = b"<sheetData></sheetData>" + buf[len(b"<sheetData/>"):]
            open_end = buf.find(b">") + 1
            out.write(buf[:open_end])
            buf = buf[open_end:]
            while True:
                end = buf.find(b"</sheetData>")
                cut = end if end >= 0 else buf.rfind(b"</row>") + 6
                if end < 0 and cut < 6:
                    chunk = f.read(CHUNK)
                    if not chunk:
                        raise SchemaError(f"{part} 缺少 </sheetData>，文件已损坏")
                    buf += chunk
                    continue
                segment, buf = buf[:cut], buf[cut:]
                if drop_from is not None:
                    segment = b"".join(m.group(0) for m in sx.ROW_RE.finditer(segment) if int(m.group(1)) < drop_from)
                    out.write(segment)
                else:
                    pending = self._write_segment(out, segment, pending, patches)
                if end >= 0:
                    out.write(appended)
                    if formatting:
                        buf = _insert_formatting(buf, formatting)
                    out.write(buf)
                    while chunk := f.read(CHUNK):
                        out.write(chunk)
                    return
                buf += f.read(CHUNK)

    @staticmethod
    def _write_segment(out, segment: bytes, pending: list[int], patches) -> list[int]:
        """Write whole rows, replacing the pending patched ones that fall in this segment."""
        last = segment.rfind(b'<row r="')
        last_r = int(ROW_NUM.match(segment, last).group(1)) if last >= 0 else 0
        pos = 0
        while pending and pending[0] <= last_r:
            r = pending.pop(0)
            at = segment.find(b'<row r="%d"' % r, pos)
            if at < 0:  # no such row element (an empty row): insert one before the next row
                nxt = next((m.start() for m in ROW_NUM.finditer(segment, pos) if int(m.group(1)) > r), len(segment))
                out.write(segment[pos:nxt])
                out.write(FastStore._row_xml(r, patches[r]))
                pos = nxt
                continue
            head_end = segment.find(b">", at)
            closed = segment[head_end - 1:head_end] == b"/"
            end = head_end + 1 if closed else segment.find(b"</row>", head_end) + 6
            body = b"" if closed else segment[head_end + 1:end - 6]
            out.write(segment[pos:at])
            out.write(segment[at:head_end].rstrip(b"/") + b">" + sx.patch_row(body, r, patches[r]) + b"</row>")
            pos = end
        out.write(segment[pos:])
        return pending

    def _tool_xml(self, role: str, out) -> None:
        part = self._part(role)
        grid = self._small_grid(role)
        header = grid[0] if grid else [zh if self.lang == "zh" else en for _, zh, en in TOOL_COLUMNS[role]]
        cols = {k: i + 1 for k, i in tool_columns(header, role).items()}
        ops = self._table_ops[role]
        replace = any(kind == "replace" for kind, _ in ops)
        last = 1 if replace else max(len([line for line in grid if line]), 1)
        if not replace:
            while last > 1 and not any(v not in (None, "") for v in grid[last - 1]):
                last -= 1
        rows = [row for _, batch in ops for row in batch]
        def style(value):
            return self._datetime_style() if isinstance(value, date) else None
        appended = b"".join(self._row_xml(last + i, {cols[k]: (v, style(v)) for k, v in row.items() if k in cols})
                            for i, row in enumerate(rows, 1))
        self._stream_patch(part, out, {}, appended, last + len(rows), len(header),
                           drop_from=2 if replace else None)

    def _table_part(self) -> str | None:
        rels = str(PurePosixPath(self.register_part).parent / "_rels" / (PurePosixPath(self.register_part).name + ".rels"))
        if rels not in self.names:
            return None
        for target in re.findall(r'Target="([^"]*tables/[^"]*)"', self.zip.read(rels).decode("utf-8")):
            return str(PurePosixPath(self.register_part).parent.joinpath(target)).replace("worksheets/../", "")
        return None

    def save(self) -> None:
        if not (self._patches or self._appended or self._table_ops or self._add_formatting):
            return
        missing = [role for role in self._table_ops if self._part(role) is None]
        if missing:
            raise ComplaintDeskError("登记表缺少工具工作表：" + "、".join(SHEETS[r][0] for r in missing))
        refuse_if_open_in_excel(self.path)
        try:
            keep = int(self.settings().param("backup_count"))
        except Exception:
            keep = 5
        table_part = self._table_part() if self._appended else None
        formatting = self._formatting_xml() if self._add_formatting else b""
        tool_parts = {self._part(role): role for role in self._table_ops}

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
                for info in self.zip.infolist():
                    name = info.filename
                    target = zipfile.ZipInfo(name, date_time=info.date_time)
                    target.compress_type = zipfile.ZIP_DEFLATED
                    target._compresslevel = 1  # speed over size for the parts we rewrite
                    if name == self.register_part and (self._patches or self._appended or formatting):
                        with dst.open(target, "w", force_zip64=True) as out:
                            self._register_xml(out, formatting)
                    elif name in tool_parts:
                        with dst.open(target, "w", force_zip64=True) as out:
                            self._tool_xml(tool_parts[name], out)
                    elif name == table_part:
                        xml = self.zip.read(name).decode("utf-8")
                        xml = re.sub(r'(\bref="[A-Z]+\d+:[A-Z]+)\d+"', rf'\g<1>{self._last_row}"', xml)
                        dst.writestr(target, xml.encode("utf-8"))
                    elif name in self._extra_parts:
                        dst.writestr(target, self._extra_parts[name])
                    else:
                        _copy_member(self.zip, info, dst)
        make_backup(self.path, keep)
        atomic_write(self.path, write)
        self._reopen()

    def _reopen(self) -> None:
        """After a save: read from the new file; what was written is now in it."""
        self.zip.close()
        self.zip = zipfile.ZipFile(self.path)
        self.names = set(self.zip.namelist())
        for role in self._table_ops:
            self._small.pop(role, None)
        self._patches.clear()
        self._appended.clear()
        self._table_ops.clear()
        self._extra_parts.clear()
        self._add_formatting = False
        self._dt_style = None
        self._cache.clear()

    def close(self) -> None:
        self.zip.close()


def _ncr(text: bytes) -> bytes:
    return "".join(f"&#{ord(ch)};" for ch in text.decode("utf-8")).encode()


_AFTER_CF = (b"<dataValidations", b"<hyperlinks", b"<printOptions", b"<pageMargins", b"<pageSetup",
             b"<headerFooter", b"<rowBreaks", b"<colBreaks", b"<drawing", b"<legacyDrawing", b"<tableParts",
             b"<extLst", b"</worksheet>")


def _insert_formatting(rest: bytes, formatting: bytes) -> bytes:
    at = min((i for i in (rest.find(tag) for tag in _AFTER_CF) if i >= 0), default=len(rest))
    return rest[:at] + formatting + rest[at:]

