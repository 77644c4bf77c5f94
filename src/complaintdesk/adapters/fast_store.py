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
import zipfile
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Callable

from ..domain import labels
from ..domain.model import RegisterRow
from ..domain.parsing import parse_datetime
from ..domain.schema import BY_KEY, COLUMNS, SHEETS, TOOL_COLUMNS, header_lookup, normalise_header
from ..domain.settings import Settings, build_settings
from ..errors import ComplaintDeskError, SchemaError
from . import sheet_xml as sx
from .files import atomic_write, make_backup, refuse_if_open_in_excel
from .grid import overrides_from, raw_settings, roster_from, staff_from, tool_columns, tool_table
from .package_guard import inspect_package
from .store import FILLABLE_PROCESS_KEYS, StaffCellError, check_automation
from .xlsx_store import REQUIRED_STAFF

CHUNK = 8 << 20
LIGHT_KEYS = ("complaint_no", "received_at", "request_type", "is_valid", "category", "customer_id",
              "contact", "status", "closed_at", "case_library")
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CLOSED = {labels.STATUS["closed"][0], labels.STATUS["closed"][1], "closed"}
DATETIME_NUMFMT = "yyyy-mm-dd hh:mm"


def _attrs(xml: str) -> dict[str, str]:
    return dict(re.findall(r'\b([\w:]+)="([^"]*)"', xml))


class FastStore:
    def __init__(self, path: Path, source: str = "命令行", read_only_check: bool = False):
        self.path = Path(path)
        self.source = source
        if not self.path.exists():
            raise SchemaError(f"找不到登记表文件：{self.path}")
        if not read_only_check:
            refuse_if_open_in_excel(self.path)
        self.warnings = inspect_package(self.path)
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
        a closed row's light values — also those closed rows in full. Results for None / True are cached (writes
        update the cached values in place)."""
        if not callable(full) and full in self._cache:
            return self._cache[full]
        rows = self._read_rows(full)
        if not callable(full):
            self._cache[full] = rows
        return rows

    def _read_rows(self, full) -> list[RegisterRow]:
        keyed = sorted(self.columns.items(), key=lambda kv: kv[1])
        light = [(k, sx.col_letter(c).encode()) for k, c in self.columns.items() if k in LIGHT_KEYS]
        status_letter = sx.col_letter(self.columns["status"]).encode()
        closed_letter = sx.col_letter(self.columns["closed_at"]).encode()
        out = []
        for r, body in self._stream_rows(self.register_part):
            if r == 1:
                continue
            self._last_row = max(self._last_row, r)
            known = self._values.get(r)
            if known is not None and not known.get("_light"):
                out.append(RegisterRow(r, known))  # already read in full: it carries every write
                continue
            rb = str(r).encode()
            if full is not True:
                status = sx.find_cell(body, status_letter, rb, self.strings)
                closed = status in CLOSED and sx.find_cell(body, closed_letter, rb, self.strings) is not None
                if closed:
                    values = {k: self._typed(k, sx.find_cell(body, letter, rb, self.strings)) for k, letter in light}
                    if not (callable(full) and full(values)):
                        values["_light"] = True
                        out.append(RegisterRow(r, self._keep(r, values)))
                        continue
            cells = sx.row_cells(body, self.strings)
            values = {k: self._typed(k, cells.get(c)) for k, c in keyed}
            if any(v not in (None, "") for v in values.values()) or r in self._patches:
                out.append(RegisterRow(r, self._keep(r, values)))
        for offset, values in enumerate(self._appended):
            r = self._last_row - len(self._appended) + 1 + offset
            out.append(RegisterRow(r, self._keep(r, {k: values.get(k) for k, _ in keyed})))
        return out

    def _keep(self, r: int, values: dict) -> dict:
        """Overlay pending writes and keep one dict per row, shared by every read."""
        by_col = {c: k for k, c in self.columns.items()}
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

    @staticmethod
    def _typed(key: str, value):
        if value == "":
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and BY_KEY[key].kind == "datetime":
            moment, _ = parse_datetime(value)
            return moment if moment else value
        return value

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
    def _register_xml(self, out) -> None:
        appended = b"".join(
            self._row_xml(r, {self.columns[k]: (v, self._style_for(k)) for k, v in values.items()})
            for r, values in zip(range(self._last_row - len(self._appended) + 1, self._last_row + 1), self._appended))
        self._stream_patch(self.register_part, out, self._patches, appended, self._last_row,
                           max(self.columns.values()), self._formatting_xml() if self._add_formatting else b"")

    @staticmethod
    def _row_xml(r: int, cells: dict[int, tuple[object, int | None]]) -> bytes:
        body = "".join(sx.cell_xml(f"{sx.col_letter(c)}{r}", v, s) for c, (v, s) in sorted(cells.items()))
        return f'<row r="{r}">{body}</row>'.encode("utf-8")

    def _stream_patch(self, part, out, patches, appended: bytes, last_row: int, last_col: int,
                      formatting: bytes = b"", drop_from: int | None = None) -> None:
        """Copy a sheet part to `out`, patching rows, dropping rows >= drop_from, appending rows."""
        with self.zip.open(part) as f:
            buf = b""
            in_data = False
            while True:
                chunk = f.read(CHUNK)
                buf += chunk
                if not in_data:
                    start = buf.find(b"<sheetData")
                    if start < 0 and chunk:
                        continue
                    head = buf[:start]
                    head = re.sub(rb'<dimension ref="[^"]*"/>',
                                  f'<dimension ref="A1:{sx.col_letter(last_col)}{max(last_row, 1)}"/>'.encode(), head)
                    out.write(head)
                    buf = buf[start:]
                    if buf.startswith(b"<sheetData/>"):
                        buf = b"<sheetData></sheetData>" + buf[len(b"<sheetData/>"):]
                    open_end = buf.find(b">") + 1
                    out.write(buf[:open_end])
                    buf = buf[open_end:]
                    in_data = True
                end = buf.find(b"</sheetData>")
                limit = end if end >= 0 else buf.rfind(b"</row>") + 6 if b"</row>" in buf else 0
                if end < 0 and chunk and limit <= 0:
                    continue
                pos = 0
                for m in sx.ROW_RE.finditer(buf, 0, limit):
                    r = int(m.group(1))
                    out.write(buf[pos:m.start()])
                    if drop_from is not None and r >= drop_from:
                        pass
                    elif r in patches:
                        body = sx.patch_row(m.group(2) or b"", r, patches[r])
                        attrs = m.group(0)[:m.group(0).find(b">") + 1].rstrip(b"/>").rstrip(b">")
                        out.write(attrs + b">" + body + b"</row>")
                    else:
                        out.write(m.group(0))
                    pos = m.end()
                if end >= 0:
                    out.write(buf[pos:end])
                    out.write(appended)
                    rest = buf[end:]
                    if formatting:
                        rest = _insert_formatting(rest, formatting)
                    out.write(rest)
                    out.write(f.read())
                    return
                buf = buf[pos:]
                if not chunk:
                    raise SchemaError(f"{part} 缺少 </sheetData>，文件已损坏")

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
                    if name == self.register_part and (self._patches or self._appended or formatting):
                        with dst.open(target, "w", force_zip64=True) as out:
                            self._register_xml(out)
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
                        with self.zip.open(info) as src, dst.open(target, "w", force_zip64=True) as out:
                            while block := src.read(CHUNK):
                                out.write(block)
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

