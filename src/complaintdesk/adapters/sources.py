"""Adapter — reading import sources (.csv in UTF-8 / UTF-8-BOM / GBK, .xlsx) as header + rows."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import SourceError


def read_source(path: Path) -> tuple[list[str], list[list[object]]]:
    """(headers, data rows) of the first sheet / the CSV, each row a list; raises SourceError when
    unreadable."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"找不到文件：{path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise SourceError(f"不支持的文件类型“{suffix}”，请使用 .csv 或 .xlsx")


def _read_csv(path: Path):
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SourceError(f"“{path.name}”的编码无法识别（支持 UTF-8 和 GBK）")
    del raw  # the text is what is parsed: a large export is not held twice
    header = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=header.count)  # the header tells the separator
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    if not rows:
        raise SourceError(f"“{path.name}”是空文件")
    return [h.strip() for h in rows[0]], rows[1:]


def _read_xlsx(path: Path):
    from openpyxl import load_workbook

    from .package_guard import inspect_package
    try:
        inspect_package(path)
    except Exception as exc:
        raise SourceError(str(exc))
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise SourceError(f"无法打开“{path.name}”：{type(exc).__name__}")
    try:
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    if not rows:
        raise SourceError(f"“{path.name}”的第一个工作表是空的")
    return [str(h).strip() if h is not None else "" for h in rows[0]], rows[1:]
