"""Services — case documents, the communication log, survey results and the case library."""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path

from ..adapters import documents
from ..adapters.safe_paths import inside, safe_name
from ..adapters.sources import read_source
from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.masking import mask_free_text, mask_record
from ..domain.model import SCORE_KEYS
from ..domain.parsing import number_key, parse_bool, parse_score, text_of
from ..domain.schema import BY_KEY, header_lookup, normalise_header
from ..domain.transitions import DONE_CODES
from ..errors import ComplaintDeskError
from .common import Summary, audit_row, display, save
from .register import refresh

KIND_ALIASES = {"assignment": "assignment", "分配": "assignment", "plan": "plan", "方案": "plan",
                "confirmation": "confirmation", "确认": "confirmation", "survey": "survey", "回访": "survey"}


def _record(values: dict) -> dict:
    return {key: display(values.get(key)) for key in BY_KEY}


def _due(kind: str, v: dict, exists: bool, lang: str) -> bool:
    status = labels.to_code(labels.STATUS, v.get("status"))
    if kind == "survey":  # never again to a customer who answered, nor for a closed complaint
        answered = any(v.get(k) not in (None, "") for k in SCORE_KEYS)
        return bool(v.get("confirmed_at")) and not v.get("survey_sent_at") and not answered \
            and status not in DONE_CODES and parse_bool(v.get("customer_agrees"))[0] is not False
    if exists:
        return False
    if kind == "assignment":  # a new complaint, or one escalated at once (a 群诉) before anyone answered
        return status == "registered" or (status == "escalated" and not v.get("first_response_at"))
    if kind == "plan":
        return bool(text_of(v.get("plan_measures"))) and not v.get("resolved_at")
    return bool(v.get("resolved_at")) and not v.get("confirmed_at")


def make_documents(store: RegisterStore, now: datetime, numbers: list[str] | None = None, all_due: bool = False,
                   kinds: list[str] | None = None, fmt: str = "html", out_dir: Path | None = None,
                   unmasked: bool = False, lang: str | None = None) -> Summary:
    """The documents of the complaints asked for (or of every one a document is due for, with
    `all_due`); a survey issued that way records 回访发送时间."""
    summary = Summary("docs")
    lang = lang or store.lang
    kinds = document_kinds(kinds, fmt)
    out_dir = _documents_folder(store, out_dir, lang)
    wanted = list(numbers or [])
    specs = [(kind, documents.prepare(kind, {}, lang)) for kind in kinds]  # file name, masked or not
    reply_by = reply_deadline(now, store.settings().param("survey_reply_days"))
    audit = []
    for number, row in _rows_asked(store, wanted).items():
        for kind, spec in specs:
            path = inside(out_dir, f"{safe_name(number)}_{spec.file_name}.{fmt}")
            if all_due and not wanted and not _due(kind, row.values, path.exists(), lang):
                continue
            try:
                _write_document(kind, spec.masked and not unmasked, row.values, path, now, lang, reply_by)
            except (OSError, ComplaintDeskError) as exc:  # one document that cannot be written stops no other
                summary.messages.append(f"{number}：{spec.file_name} 未生成（{exc}）")
                continue
            summary.files.append(path)
            summary.add("documents")
            if kind == "survey" and all_due:
                audit += _survey_sent(store, row, number, now, summary)
    if audit:
        store.append_table("audit", audit)
        save(store, summary, now)
    return summary


def _documents_folder(store: RegisterStore, out_dir: Path | None, lang: str) -> Path:
    """Where documents go: the folder asked for, else 文档 (documents) beside the register."""
    if out_dir is not None:
        return Path(out_dir)
    return (store.path or Path.cwd() / "x").parent / ("文档" if lang == "zh" else "documents")


def _rows_asked(store: RegisterStore, wanted: list[str]) -> dict:
    """Number -> row of the complaints asked for, in row order (every numbered one when none is);
    those asked are found whatever their case or spacing and read in full; an unknown one refuses
    the request."""
    if not wanted:
        return {text_of(r.values.get("complaint_no")): r for r in store.rows() if r.values.get("complaint_no")}
    rows = _rows_by_number(store, set(wanted))
    unknown = [typed.strip() for typed in dict.fromkeys(wanted) if number_key(typed) not in rows]
    if unknown:  # nothing is made: a wrong number is a wrong request, not a partial success
        raise ComplaintDeskError("找不到投诉编号 " + "、".join(unknown) +
                                 "，未生成任何文档（编号可在登记表或 find 中查到）")
    return {text_of(r.values.get("complaint_no")): r for r in sorted(rows.values(), key=lambda r: r.row_id)}


def _survey_sent(store: RegisterStore, row, number: str, now: datetime, summary: Summary) -> list[dict]:
    """Record 回访发送时间 of a survey issued now (when the cell is empty): its audit line."""
    if not store.fill_empty(row.row_id, "survey_sent_at", now):
        return []
    summary.data.setdefault("surveys_sent", []).append(number)
    return [audit_row(store, now, number, BY_KEY["survey_sent_at"].label(store.lang), None, now)]


def document_kinds(kinds: list[str] | None, fmt: str) -> list[str]:
    """The kinds asked for by any of their names (every kind when none), checked with the format."""
    kinds = [KIND_ALIASES.get(k, k) for k in (kinds or documents.KINDS)]
    for kind in kinds:
        if kind not in documents.KINDS:
            raise ComplaintDeskError(f"未知的文档类型“{kind}”（可用：assignment / plan / confirmation / survey）")
    if fmt not in ("html", "docx"):
        raise ComplaintDeskError("--format 只能是 html 或 docx")
    return kinds


def reply_deadline(now: datetime, days) -> str:
    """The date a customer is asked to answer a survey form by: counted from the day the form is
    issued (设置 调查表回复天数, at least 1), so a form never carries a date already past."""
    try:
        count = max(1, int(float(days)))
    except (TypeError, ValueError):
        count = 7
    return (now + timedelta(days=count)).strftime("%Y-%m-%d")


def _write_document(kind: str, masked: bool, values: dict, path: Path, now: datetime, lang: str,
                    reply_by: str = "") -> None:
    """One document of one complaint, the customer masked where the document leaves customer service."""
    record = _record(values) | {"reply_by": reply_by}
    if masked:
        record = mask_record(record)
    documents.write_document(path, kind, record, now.strftime("%Y-%m-%d %H:%M"), lang, masked)


def mark_surveys_sent(store: RegisterStore, numbers: list[str], now: datetime) -> Summary:
    """Record 回访发送时间 of surveys issued at `now` (queued while the register was held)."""
    summary = Summary("surveys_sent")
    rows = _rows_by_number(store, set(numbers))
    audit = [audit_row(store, now, text_of(row.values.get("complaint_no")), BY_KEY["survey_sent_at"].label(store.lang),
                       None, now)
             for _, row in sorted(rows.items()) if store.fill_empty(row.row_id, "survey_sent_at", now)]
    summary.messages += [f"找不到投诉编号 {n}，回访发送时间未记录" for n in numbers if number_key(n) not in rows]
    if audit:
        store.append_table("audit", audit)
        summary.add("surveys", len(audit))
        save(store, summary, now)
    return summary


def log_entry(store: RegisterStore, number: str, now: datetime, channel: str, content: str, next_step: str = "",
              who: str = "") -> Summary:
    summary = Summary("log")
    row = next((r for r in store.rows() if number_key(r.values.get("complaint_no")) == number_key(number)), None)
    if row is None:
        raise ComplaintDeskError(f"找不到投诉编号 {number.strip()}")
    number = text_of(row.values.get("complaint_no"))  # as the register writes it
    if not content.strip():
        raise ComplaintDeskError("沟通内容不能为空")
    store.append_table("comms", [{"complaint_no": number, "time": now, "channel": channel,
                                  "who": who or store.source, "content": content, "next_step": next_step}])
    summary.add("logged")
    if store.fill_empty(row.row_id, "last_update_at", now):
        store.append_table("audit", [audit_row(store, now, number, BY_KEY["last_update_at"].label(store.lang),
                                               None, now)])
    refreshed = refresh(store, now, numbering=False, action="log")
    summary.add("cells", refreshed.counts.get("cells", 0))
    save(store, summary, now)
    return summary


SURVEY_HEADERS = {"处理效率": "score_efficiency", "服务态度": "score_attitude", "解决方案": "score_solution",
                  "效率": "score_efficiency", "态度": "score_attitude", "方案": "score_solution",
                  "意见": "survey_comment", "评价": "survey_comment", "编号": "complaint_no",
                  "回访活动": "campaign", "活动": "campaign", "campaign": "campaign"}


def import_surveys(store: RegisterStore, source: Path, now: datetime) -> Summary:
    headers, data = read_source(source)
    return import_survey_table(store, headers, data, now)


def import_survey_table(store: RegisterStore, headers: list, data: list[list], now: datetime) -> Summary:
    """Survey scores from a source already read: fill the empty score cells of each complaint."""
    summary = Summary("surveys")
    mapping = _survey_columns(headers)
    lines = [(line_no, {key: raw[i] if i < len(raw) else None for i, key in mapping.items() if key})
             for line_no, raw in enumerate(data, 2)]
    if "campaign" in mapping.values():  # answers of a periodic survey: into 回访活动, not the complaints
        from .campaign import import_campaign_answers
        return import_campaign_answers(store, lines, now)
    rows = _rows_by_number(store, {text_of(values.get("complaint_no")) for _, values in lines} - {""})
    seen: set[str] = set()
    audit: list[dict] = []
    for line_no, values in lines:
        number = number_key(values.get("complaint_no"))
        if not number and not any(text_of(v) for v in values.values()):
            continue
        problem = _survey_line_problem(number, values, rows, seen)
        if problem:
            summary.messages.append(f"回访文件第 {line_no} 行：{problem}")
            continue
        seen.add(number)
        row = rows[number]
        audit += _fill_survey(store, row, text_of(row.values.get("complaint_no")), values, now, summary)
    if audit:
        store.append_table("audit", audit)
        refresh(store, now, numbering=False, action="surveys")
        save(store, summary, now)
    return summary


def _fill_survey(store: RegisterStore, row, number: str, values: dict, now: datetime,
                 summary: Summary) -> list[dict]:
    """Write one checked survey line's scores and comment into its complaint: the audit lines."""
    scores = {key: parse_score(values.get(key))[0] for key in SCORE_KEYS}
    comment = text_of(values.get("survey_comment"))[:2000]
    filled = dict(scores, survey_comment=comment) if comment else scores
    summary.add("surveys")
    if min(s for s in scores.values() if s is not None) <= 3:
        summary.add("callbacks")
    name = text_of(row.values.get("customer_name"))  # the audit keeps what was written, a comment masked
    return [audit_row(store, now, number, BY_KEY[key].label(store.lang), None,
                      mask_free_text(str(value), name) if key == "survey_comment" else value)
            for key, value in filled.items() if store.fill_empty(row.row_id, key, value)]


def _survey_columns(headers: list) -> dict[int, str | None]:
    """Column index -> key, by the register's headers and the survey forms' own names."""
    lookup = header_lookup()
    lookup.update({normalise_header(k): v for k, v in SURVEY_HEADERS.items()})
    mapping = {i: lookup.get(normalise_header(h)) for i, h in enumerate(headers)}
    if "complaint_no" not in mapping.values() or not set(SCORE_KEYS) <= set(mapping.values()):
        raise ComplaintDeskError("回访文件需要“投诉编号”和三项评分列（处理效率、服务态度、解决方案）")
    return mapping


def _survey_line_problem(number: str, values: dict, rows: dict, seen: set[str]) -> str | None:
    """Why a survey line is not imported (None: it is): an unknown or repeated number, a missing
    or invalid score (the whole line is left out), a complaint already scored (never overwritten)."""
    if number not in rows:
        return f"投诉编号“{number[:30]}”不存在"
    if number in seen:
        return f"投诉编号 {number} 重复，只取第一行"
    problems = []
    for key in SCORE_KEYS:
        score, msg = parse_score(values.get(key))
        if score is None:
            problems.append(f"{BY_KEY[key].zh}{'：' + msg if msg else '为空'}")
    if problems:
        return "；".join(problems) + "，整行未导入"
    if any(rows[number].values.get(k) not in (None, "") for k in SCORE_KEYS):
        return f"{number} 已有评分，未覆盖"
    return None


def _rows_by_number(store: RegisterStore, numbers: set[str]) -> dict:
    """number_key -> the row holding it (the last one, where a number is held twice), read in full.
    The rows are found by the numbers alone, so a large register is not read in full for this."""
    numbers = {number_key(n) for n in numbers}
    open_rows, closed = store.split_rows(("complaint_no",))
    last: dict[str, int] = {}
    for r, number in chain(((row.row_id, row.values.get("complaint_no")) for row in open_rows),
                           zip(closed.rows, closed.columns["complaint_no"])):
        number = number_key(number)
        if number in numbers and r > last.get(number, 0):
            last[number] = r
    by_row = {row.row_id: row for row in store.read_full(list(last.values()))}
    return {number: by_row[r] for number, r in last.items() if r in by_row}


def merge_complaint(store: RegisterStore, duplicate: str, main: str, now: datetime) -> Summary:
    """合并: a complaint registered twice keeps its number and is marked 合并到 the main one (filled
    only when empty, audited); from now on it counts once — as the main complaint — and its clocks
    stop. The register is refreshed so the row shows 已合并 at once."""
    if number_key(duplicate) == number_key(main):
        raise ComplaintDeskError("重复登记的编号与主投诉编号相同，无法合并")
    if store.columns and "merged_into" not in store.columns:
        raise ComplaintDeskError("登记表没有“合并到”列（由较早版本创建）：在表格最右侧加一列，表头写“合并到”后再合并")
    rows = _rows_by_number(store, {duplicate, main})
    dup, target = rows.get(number_key(duplicate)), rows.get(number_key(main))
    for number, row in ((duplicate, dup), (main, target)):
        if row is None:
            raise ComplaintDeskError(f"找不到投诉编号 {number.strip()}")
    assert dup is not None and target is not None
    main_no, dup_no = text_of(target.values.get("complaint_no")), text_of(dup.values.get("complaint_no"))
    onward = text_of(target.values.get("merged_into"))
    if onward:
        raise ComplaintDeskError(f"{main_no} 本身已合并到 {onward}，请合并到 {onward}")
    summary = Summary("merge")
    if not store.fill_empty(dup.row_id, "merged_into", main_no):
        already = text_of(dup.values.get("merged_into"))
        summary.warnings.append(f"{dup_no} 已填写合并到 {already}，未更改（如需改动请在登记表中修改）")
        return summary
    store.append_table("audit", [audit_row(store, now, dup_no, BY_KEY["merged_into"].label(store.lang), None, main_no)])
    summary.add("merged")
    refreshed = refresh(store, now, numbering=False, action="merge")
    summary.add("cells", refreshed.counts.get("cells", 0))
    save(store, summary, now)
    return summary
