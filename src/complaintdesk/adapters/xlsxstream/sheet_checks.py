"""xlsxstream — one verdict on a worksheet's XML for both register stores.

A worksheet is refused (SchemaError, exit 2) when its XML is not what Excel writes and reads back:
bytes that are not UTF-8, rows out of order or numbered twice, a row or cell reference outside
A1:XFD1048576, a text longer than Excel's 32,767 characters, a shared-string index past the end of
the table. The openpyxl store runs every check on every sheet before openpyxl parses the file; the
streaming store on the register sheet's first pass as it streams it (about 1 s per 100 MB of sheet
XML) and on the other sheets it parses — so a file gets the same message from either store. Pieces
end on a row boundary (xlsxstream.pieces).
"""
from __future__ import annotations

import re

from ...errors import SchemaError

MAX_ROW = 1_048_576
MAX_TEXT = 32_767
LAST_COLUMN = b"XFD"

ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="([^"]*)"')
BAD_REF = re.compile(rb'<c\b[^>]*?\br="(?![A-Z]{1,3}[1-9][0-9]{0,6}")([^"]*)"')
WIDE_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{3}|[A-Z]+[0-9]{7})')
LONG_TEXT = re.compile(rb'<(?:t|v|f)\b[^>/]*>([^<]{32768,})')
SHARED = re.compile(rb'<c\b[^>]*?\br="([A-Z]+[0-9]+)"[^>]*?\bt="s"[^>]*>\s*<v>\s*([0-9]+)\s*</v>')
CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]+)([0-9]+)"')
# The same searches where every cell carries its reference first (as Excel, WPS, LibreOffice and openpyxl
# write them): a literal prefix the regex engine skips to, ~5x faster on a register's millions of cells.
BAD_REF_R_FIRST = re.compile(rb'<c r="(?![A-Z]{1,3}[1-9][0-9]{0,6}")([^"]*)"')
WIDE_REF_R_FIRST = re.compile(rb'<c r="([A-Z]{3}|[A-Z]+[0-9]{7})')
NOT_R_FIRST = re.compile(rb'<c(?! r=")[\s>/]')  # a cell that does not open with its reference


def at_least(n: int) -> bytes:
    """A regex matching the decimal integers ≥ n written without leading zeros."""
    digits = str(n)
    width = len(digits)
    alternatives = [b"[1-9][0-9]{%d,}" % width, digits.encode()]  # more digits; n itself
    for i, ch in enumerate(digits):
        if ch != "9":  # the same first i digits, a larger one here, anything after
            rest = width - i - 1
            tail = b"[0-9]{%d}" % rest if rest else b""
            alternatives.append(digits[:i].encode() + b"[%d-9]" % (int(ch) + 1) + tail)
    return b"(?:" + b"|".join(alternatives) + b")"


def damaged(book: str, sheet: str, what: str) -> SchemaError:
    return SchemaError(f"“{book}”已损坏：工作表“{sheet}”{what}。未做任何更改；请用 restore 恢复备份，"
                       f"或在 Excel 中打开后另存为新的 .xlsx 再试")


class SheetCheck:
    """Feed a sheet's XML piece by piece, in order; the first problem raises SchemaError."""

    def __init__(self, book: str, sheet: str, strings: int):
        self.book, self.sheet, self.strings = book, sheet, strings
        self.last_row = 0
        # a shared-string cell whose index is past the table (rare): only then is the piece searched
        # cell by cell, to name the cell
        self.past_table = re.compile(rb't="s"[^>]*>\s*<v>\s*0*' + at_least(strings) + rb'\s*</v>')

    def _refuse(self, what: str) -> None:
        raise damaged(self.book, self.sheet, what)

    def piece(self, buf: bytes, exact: bool = True) -> None:
        """Check a piece; `exact` adds the shared-string indexes (one pass over every text cell)."""
        try:
            buf.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._refuse(f"第 {self._row_at(buf, exc.start)} 行附近含有不是 UTF-8 的字节")
        self._rows(buf)
        self._refs(buf)
        for m in LONG_TEXT.finditer(buf):
            if len(m.group(1).decode("utf-8")) > MAX_TEXT and len(_unescaped(m.group(1))) > MAX_TEXT:
                self._refuse(f"第 {self._row_at(buf, m.start())} 行有一个单元格超过 Excel 的上限 "
                             f"{MAX_TEXT:,} 个字符")
        if exact:
            self.shared_indexes(buf)

    def _rows(self, buf: bytes) -> None:
        for raw in ROW_NUMBER.findall(buf):
            if not raw.isdigit() or not 1 <= int(raw) <= MAX_ROW:
                self._refuse(f"有行号为“{raw.decode('utf-8', 'replace')}”的行（应为 1–{MAX_ROW:,}）")
            r = int(raw)
            if r <= self.last_row:
                self._refuse(f"第 {r} 行出现在第 {self.last_row} 行之后（行号重复或倒序）")
            self.last_row = r

    def _refs(self, buf: bytes) -> None:
        r_first = NOT_R_FIRST.search(buf) is None  # every cell opens with r="…"
        bad = (BAD_REF_R_FIRST if r_first else BAD_REF).search(buf)
        if bad:
            self._refuse(f"有引用为“{bad.group(1).decode('utf-8', 'replace')}”的单元格（不是有效的单元格地址）")
        for m in (WIDE_REF_R_FIRST if r_first else WIDE_REF).finditer(buf):
            ref = CELL_REF.match(buf, m.start())
            if ref is None:
                continue
            letters, digits = ref.groups()
            if (len(letters), letters) > (3, LAST_COLUMN) or int(digits) > MAX_ROW:
                self._refuse(f"有单元格“{(letters + digits).decode()}”超出 Excel 的范围 A1:XFD{MAX_ROW}")

    def shared_indexes(self, buf: bytes) -> None:
        """Shared-string indexes past the table (looked for as numbers ≥ its size, then named)."""
        if self.past_table.search(buf) is None:
            return
        for m in SHARED.finditer(buf):
            if int(m.group(2)) >= self.strings:
                self._refuse(f"单元格 {m.group(1).decode()} 引用了第 {int(m.group(2)) + 1:,} 条共享文本，"
                             f"而共享文本表只有 {self.strings:,} 条")

    @staticmethod
    def _row_at(buf: bytes, at: int) -> str:
        found = ROW_NUMBER.findall(buf, 0, at + 1)
        return found[-1].decode("utf-8", "replace") if found else "1"


def _unescaped(raw: bytes) -> str:
    from xml.sax.saxutils import unescape
    return unescape(re.sub(r"&#x?[0-9a-fA-F]+;", "x", raw.decode("utf-8")))


def checked_strings(book: str, strings: list[str]) -> int:
    """The shared-string table's length, once no entry is longer than a cell may hold."""
    if max(map(len, strings), default=0) > MAX_TEXT:
        at = next(i for i, text in enumerate(strings) if len(text) > MAX_TEXT)
        raise SchemaError(f"“{book}”已损坏：共享文本表第 {at + 1:,} 条超过 Excel 的上限 {MAX_TEXT:,} 个字符。"
                          f"未做任何更改；请用 restore 恢复备份")
    return len(strings)


def shared_string_count(zf, book: str) -> int:
    """How many entries the package's shared-string table has (0 without one), each checked."""
    from .sheet_xml import shared_strings
    try:
        data = zf.read("xl/sharedStrings.xml")
    except KeyError:
        return 0
    return checked_strings(book, shared_strings(data))


def check_sheets(zf, book: str, strings: int, skip=(), largest: int | None = None) -> None:
    """Every check over every worksheet of the package (but those named in `skip` and, with
    `largest`, those inflating to more bytes: parts a store does not parse)."""
    from .package import sheet_parts
    from .pieces import row_pieces
    for sheet, part in sheet_parts(zf).items():
        if sheet in skip or part not in zf.namelist():
            continue
        if largest is not None and zf.getinfo(part).file_size > largest:
            continue
        check = SheetCheck(book, sheet, strings)
        with zf.open(part) as f:
            for piece in row_pieces(f):
                check.piece(piece)
