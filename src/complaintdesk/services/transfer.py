"""Services — `import` (append rows from a channel export or an old register) and `export`."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date, datetime
from functools import partial
from itertools import chain
from pathlib import Path

from ..adapters.sources import read_source
from ..adapters.store import RegisterStore
from ..adapters.xlsxstream.sheet_xml import col_letter
from ..domain import labels
from ..domain.intake import number_problem
from ..domain.masking import mask_record
from ..domain.parsing import looks_like_formula, parse_bool, parse_datetime, parse_score, text_of
from ..domain.schema import BY_KEY, COLUMNS, EXCEL_MAX_ROWS, match_headers, nearest_header
from ..errors import ComplaintDeskError, SheetFullError
from .common import Summary, archives, display, save
from .readers import archived_rows, register_numbers

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT = 32000  # an Excel cell holds 32,767 characters


def _clean(value, key: str, problems: list[str]):
    if isinstance(value, str):
        if _CONTROL.search(value):
            value = _CONTROL.sub("", value)
            problems.append(f"“{BY_KEY[key].zh}”含控制字符，已删除")
        if len(value) > MAX_TEXT:
            value = value[:MAX_TEXT]
            problems.append(f"“{BY_KEY[key].zh}”超过 {MAX_TEXT} 字，已截断")
        value = value.strip()
        if value == "":
            return None
    kind = BY_KEY[key].kind
    if kind == "datetime" and value is not None:
        moment, msg = parse_datetime(value)
        return moment if moment and not msg else value
    if kind == "score" and value is not None:
        score, msg = parse_score(value)
        return score if score is not None and not msg else value
    return value


NEW_ROW = "（新增行）"        # the audit line of an imported row ...
JOURNAL_PREFIX = "导入指纹 "    # ... whose 'old' cell keeps the fingerprint of the source line


def line_fingerprint(values: dict) -> str:
    """A source line's values as cleaned, as a short digest: the same complaint exported twice has
    the same fingerprint, whatever the file it comes in."""
    text = json.dumps({k: display(v) for k, v in sorted(values.items()) if v not in (None, "")}, ensure_ascii=False)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def imported_lines(store: RegisterStore) -> dict[str, str]:
    """Fingerprint -> where the line was imported from, of every imported line the audit still holds."""
    return {text_of(line.get("old"))[len(JOURNAL_PREFIX):]: text_of(line.get("new")).split(" → ")[0]
            for line in store.table("audit")
            if text_of(line.get("column")) == NEW_ROW and text_of(line.get("old")).startswith(JOURNAL_PREFIX)}


def _legacy_pattern(store: RegisterStore) -> str:
    """设置's legacy number pattern ("" when 设置 cannot be read: `assign` reports that)."""
    try:
        return text_of(store.settings().param("legacy_number_pattern"))
    except ComplaintDeskError:
        return ""


def import_rows(store: RegisterStore, source: Path, now: datetime) -> Summary:
    headers, data = read_source(source)
    return import_table(store, Path(source).name, headers, data, now)


def import_table(store: RegisterStore, name: str, headers: list, data: list[list], now: datetime,
                 strict: bool = False) -> Summary:
    """Append the rows of a source already read (`name` is its file name, for the audit); with
    `strict`, a header that names no column refuses the whole import."""
    summary = Summary("import")
    mapping = _source_columns(headers, summary, strict)
    if not mapping:
        summary.warnings.append("源文件没有可识别的列（表头应为字段名或中文/英文列名）")
        return summary
    existing = _known_numbers(store)
    legacy = _legacy_pattern(store)
    journal = imported_lines(store)
    audit = []
    for line_no, raw in enumerate(data, 2):
        problems: list[str] = []
        values = {key: _clean(raw[i] if i < len(raw) else None, key, problems) for i, key in mapping.items()}
        if all(v in (None, "") for v in values.values()):
            continue
        fingerprint = line_fingerprint(values)
        if fingerprint in journal:  # a rerun (after a crash, or by mistake) adds nothing twice
            summary.messages.append(f"源文件第 {line_no} 行已经导入过（{journal[fingerprint]}），未再导入")
            summary.add("skipped")
            continue
        journal[fingerprint] = f"{name} 第 {line_no} 行"
        number = text_of(values.get("complaint_no"))
        refused = number_problem(number, legacy) if number else None
        if refused:  # another system's value never decides a file name: the row is numbered afresh
            problems.append(refused + "，已忽略，登记编号时重新编号")
            values["complaint_no"] = number = ""
        if number and number in existing:
            summary.messages.append(f"源文件第 {line_no} 行：投诉编号 {number} 已存在，未导入")
            summary.add("skipped")
            continue
        existing.add(number)
        try:
            row_id = store.append_register(values)
        except SheetFullError:  # (a store that refuses at once; the streaming one refuses at save)
            row_id = EXCEL_MAX_ROWS + 1
        if row_id > EXCEL_MAX_ROWS:
            raise register_full(store, row_id - 1)
        summary.add("imported")
        for p in problems:
            summary.messages.append(f"源文件第 {line_no} 行：{p}")
        audit.append({"time": now, "source": store.source, "complaint_no": number, "column": NEW_ROW,
                      "old": JOURNAL_PREFIX + fingerprint, "new": f"{name} 第 {line_no} 行 → 登记表第 {row_id} 行"})
    if audit:
        store.append_table("audit", audit)
        save(store, summary, now)
    return summary


def register_full(store: RegisterStore, last: int) -> ComplaintDeskError:
    """The register's last row is Excel's last: name what stands there (often one cell typed or
    pasted far below the data by mistake), so the user can find it."""
    cells = next((row.values for row in store.read_full([last])), {})
    shown = [(key, value) for key, value in cells.items() if value not in (None, "") and not key.startswith("_")]
    where = "、".join(f"{col_letter(store.columns[k])}{last}（{BY_KEY[k].label(store.lang)}）" for k, _ in shown[:3]
                     if k in store.columns)  # where, never what (the value may be a customer's)
    return ComplaintDeskError(
        f"登记表第 {last:,} 行已是 Excel 的最后一行且有内容（{where or '有内容的单元格'}），新行要接在它之后，"
        f"超出 Excel 的上限 {EXCEL_MAX_ROWS:,} 行，未导入任何行。如果这是误填的内容，请在 Excel 中删除后重试；"
        f"否则请先运行“归档”")


def _source_columns(headers: list, summary: Summary, strict: bool = False) -> dict[int, str]:
    """Column index -> key of a source's headers (register names in either language, keys, or the
    aliases other systems use); an unknown header is ignored with a warning naming the nearest
    register header (with `strict`, it refuses the import), a repeated one likewise."""
    match = match_headers(enumerate(headers))
    unknown = []
    for _, header in match.unknown:
        guess = nearest_header(header)
        unknown.append(f"“{header}”" + (f"（您是不是想写“{guess}”？）" if guess else ""))
    if unknown and strict:
        raise ComplaintDeskError("源文件有无法识别的列：" + "、".join(unknown) + "。未导入任何行；请改正表头后重试"
                                 "（表头可为登记表的列名、英文列名或字段名）")
    summary.warnings += [f"未识别的列{u}，已忽略" for u in unknown]
    summary.warnings += [f"列“{header}”重复，只取第一列" for _, header, _ in match.repeated]
    summary.warnings += [f"列“{header}”与已有的“{BY_KEY[key].zh}”列含义相同，只取“{BY_KEY[key].zh}”"
                         for _, header, key in match.shadowed]
    return match.columns


def _known_numbers(store: RegisterStore) -> set[str]:
    """Every complaint number the register and its archives hold: an imported row never repeats one."""
    return register_numbers(store) | archives(store).numbers()


def record(values: dict) -> dict:
    """A register row read in full as export data: keys, stable codes, ISO times, JSON booleans."""
    out = {key: convert(values.get(key)) for key, convert in _CONVERTER_ITEMS}
    if any(values.get(key).__class__ is str for key in _TIME_ITEMS):  # rare: a time typed as text
        _years_from_row(out, values)
    return out


_TIME_ITEMS = tuple(c.key for c in COLUMNS if c.kind == "datetime")


def _years_from_row(out: dict, values: dict) -> None:
    """Times typed without their year (10月8日下午3点) as assign read them: the received time near
    the day its number carries, the others near the received time (domain.model.parse_complaint)."""
    number = text_of(values.get("complaint_no"))
    near = None
    if len(number) >= 8 and number[:8].isdigit():
        try:
            near = datetime.strptime(number[:8], "%Y%m%d").replace(hour=12)
        except ValueError:
            pass
    received, _ = parse_datetime(values.get("received_at"), near)
    for key in _TIME_ITEMS:
        if values.get(key).__class__ is str and out.get(key) == text_of(values.get(key)):
            moment, _ = parse_datetime(values[key], near if key == "received_at" else received or near)
            if moment is not None:
                out[key] = moment.isoformat()


def _converter(column):
    """The function turning one column's cells into export data (worked out once per column:
    a monthly report converts millions of cells)."""
    table = labels.ENUMS.get(column.key)
    if table is not None:
        return lambda value: None if value is None else labels.to_code(table, value) or (text_of(value) or None)
    if column.kind == "bool":
        return lambda value: None if value is None or value == "" else parse_bool(value)[0]

    def plain(value):
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.replace(microsecond=0).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if column.kind == "datetime" and value != "":
            moment, _ = parse_datetime(value)
            return moment.isoformat() if moment else text_of(value)
        return value if value != "" else None

    def usual_first(value):  # what nearly every cell holds, tested by exact type: a time, a text
        kind = type(value)
        if kind is datetime and not value.microsecond:
            return value.isoformat()
        if kind is str and column.kind != "datetime":
            return value or None
        return plain(value)
    return usual_first


CONVERTERS = {column.key: _converter(column) for column in COLUMNS}
_CONVERTER_ITEMS = tuple(CONVERTERS.items())


def export_rows(store: RegisterStore, fmt: str = "json", include_archive: bool = False,
                masked: bool = False) -> tuple[str, int]:
    """The export as one text (for small registers and tests); see write_export."""
    buffer = io.StringIO()
    count = write_export(store, buffer, fmt, include_archive, masked)
    return buffer.getvalue(), count


def export_to_file(store: RegisterStore, path: Path, fmt: str = "json", include_archive: bool = False,
                   masked: bool = False) -> Summary:
    """`export` into a file, written atomically (CSV with a BOM, so Excel reads it as UTF-8)."""
    from ..adapters.files import atomic_write
    counted = []

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as f:
            counted.append(write_export(store, f, fmt, include_archive, masked))
    atomic_write(Path(path), write)
    return Summary("export", counts={"exported": counted[0]}, files=[Path(path)])


def write_export(store: RegisterStore, out, fmt: str = "json", include_archive: bool = False,
                 masked: bool = False) -> int:
    """Write every complaint to the text stream `out` as JSON (a list of records, as json.dumps
    with indent 2 writes it) or CSV, one record at a time; return how many. The store turns its
    rows into text (a large register does it on two cores)."""
    convert = partial(export_text, fmt=fmt, masked=masked)
    texts = store.converted_rows(convert)
    if include_archive:
        texts = chain((convert(r.values) for r in archived_rows(store)), texts)
    count = 0
    if fmt == "json":
        for text in texts:
            out.write(("[\n  " if not count else ",\n  ") + text)
            count += 1
        out.write("\n]\n" if count else "[]\n")
        return count
    out.write(",".join(EXPORT_KEYS) + "\r\n")
    for text in texts:
        out.write(text)
        count += 1
    return count


EXPORT_KEYS = tuple(c.key for c in COLUMNS)


def export_text(values: dict, fmt: str, masked: bool) -> str:
    """One register row as export text: a JSON record (as it stands in the list) or a CSV line."""
    r = record(values)
    if masked:
        r = mask_record(r)
    if fmt == "json":
        return json_record(r)
    line = io.StringIO()  # \r\n as Excel writes: every text holding a CR or LF is quoted
    csv.writer(line, lineterminator="\r\n").writerow([csv_safe(r.get(k)) for k in EXPORT_KEYS])
    return line.getvalue()


_FLAT = json.JSONEncoder(ensure_ascii=False, separators=(",\n    ", ": "), default=str)


def json_record(r: dict) -> str:
    """A record (keys to plain values, never empty) as json.dumps(indent=2) writes it inside the
    export's list, but by the C encoder: an indent makes json use its pure-Python one, 3x slower."""
    return "{\n    " + _FLAT.encode(r)[1:-1] + "\n  }"


def csv_safe(value) -> str:
    """OWASP CSV-injection guard: a text a spreadsheet could take for a formula gets a ' prefix."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if looks_like_formula(text) else text
