"""Builds the hostile corpus beside this script: registers broken the ways a damaged disk, a careless
export or a crafted file breaks them. Each file is a register made by `complaintdesk init` with three
complaints typed in, then one part rewritten. The files are kept in the repository (tests read them);
run this again only to change the corpus:  python tests/hostile/make_corpus.py
"""
from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHEET = "xl/worksheets/sheet1.xml"


def _base(folder: Path) -> Path:
    sys.path.insert(0, str(HERE.parent.parent))
    from tests.conftest import complaint, type_rows
    path = folder / "登记表.xlsx"
    command = str(Path(sys.executable).with_name("complaintdesk"))
    subprocess.run([command, "init", str(path)], check=True, capture_output=True)
    type_rows(path, [complaint(received_at=datetime(2026, 10, 9, 9 + i), customer_name=f"客户{i}")
                     for i in range(3)])
    return path


def _rewrite(base: Path, out: Path, change) -> None:
    """Copy the package, letting `change(name, data)` return new bytes (None drops the part)."""
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = change(info.filename, src.read(info))
            if data is not None:
                dst.writestr(info.filename, data)


def _in_sheet(edit):
    return lambda name, data: edit(data) if name == SHEET else data


def _rows(sheet: bytes) -> list[bytes]:
    return re.findall(rb"<row [^>]*>.*?</row>", sheet, re.S)


def _swap_rows(sheet: bytes) -> bytes:
    rows = _rows(sheet)
    return sheet.replace(rows[1] + rows[2], rows[2] + rows[1])


def _row_twice(sheet: bytes) -> bytes:
    rows = _rows(sheet)
    return sheet.replace(rows[1], rows[1] + rows[1])


def _cell(ref: bytes, body: bytes) -> bytes:
    return b'<c r="' + ref + b'"' + body + b"</c>"


def _add_cell(sheet: bytes, row: int, cell: bytes) -> bytes:
    """Put a cell at the end of row `row`."""
    rows = _rows(sheet)
    target = rows[row - 1]
    return sheet.replace(target, target[:-len(b"</row>")] + cell + b"</row>")


CORRUPTIONS = {
    "没有内容类型表.xlsx": lambda name, data: None if name == "[Content_Types].xml" else data,
    "内容类型表损坏.xlsx": lambda name, data: data[:len(data) // 2] if name == "[Content_Types].xml" else data,
    "无效UTF8.xlsx": _in_sheet(lambda s: s.replace(b"13812341234", b"138\xff\xfe1234", 1)),
    "缺少表格部件.xlsx": lambda name, data: None if name.startswith("xl/tables/table") else data,
    "行号倒序.xlsx": _in_sheet(_swap_rows),
    "行号重复.xlsx": _in_sheet(_row_twice),
    "单元格A0.xlsx": _in_sheet(lambda s: _add_cell(s, 2, _cell(b"BZ0", b' t="inlineStr"><is><t>x</t></is>'))),
    "列超出XFD.xlsx": _in_sheet(lambda s: _add_cell(s, 2, _cell(b"XFE2", b' t="inlineStr"><is><t>x</t></is>'))),
    "行号超出上限.xlsx": _in_sheet(lambda s: s.replace(b"</sheetData>", b'<row r="1048577">' + _cell(
        b"A1048577", b' t="inlineStr"><is><t>x</t></is>') + b"</row></sheetData>")),
    "共享字符串越界.xlsx": _in_sheet(lambda s: _add_cell(s, 3, _cell(b"BZ3", b' t="s"><v>99999</v>'))),
    "单元格超长.xlsx": _in_sheet(lambda s: _add_cell(s, 2, _cell(
        b"BZ2", b' t="inlineStr"><is><t>' + "长".encode() * 40_000 + b"</t></is>"))),
}


def _understated(base: Path, out: Path) -> None:
    """The sheet's declared uncompressed size and CRC lie: it inflates to far more than declared."""
    _rewrite(base, out, lambda name, data: data)
    blob = bytearray(out.read_bytes())
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo(SHEET)
    small = 1000
    struct.pack_into("<I", blob, info.header_offset + 22, small)  # the local header's size field
    for entry in re.finditer(rb"PK\x01\x02", bytes(blob)):      # and the central directory's
        start = entry.start()
        name_len = struct.unpack_from("<H", blob, start + 28)[0]
        if blob[start + 46:start + 46 + name_len] == SHEET.encode():
            struct.pack_into("<I", blob, start + 24, small)
    out.write_bytes(bytes(blob))


def _truncated(base: Path, out: Path) -> None:
    data = base.read_bytes()
    out.write_bytes(data[:len(data) * 2 // 3])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = _base(Path(tmp))
        for name, change in CORRUPTIONS.items():
            _rewrite(base, HERE / name, change)
        _understated(base, HERE / "声明大小不实.xlsx")
        _truncated(base, HERE / "文件被截断.xlsx")
        (HERE / "改名的文本文件.xlsx").write_bytes("投诉编号,客户\n1,张三\n".encode("utf-8"))
        shutil.copy(base, HERE / "完好的登记表.xlsx")


if __name__ == "__main__":
    main()
