"""Services — `survey-campaign`: a periodic satisfaction survey (seed 002). Draws customers of the
complaints closed in a period (register and archives, seeded), writes their survey forms and one
tracking row each in the 回访活动 sheet; `surveys import` with a 回访活动 column fills the answers
there; the report shows each campaign's satisfaction beside the per-case one."""
from __future__ import annotations

from datetime import datetime
from itertools import chain
from pathlib import Path

from ..adapters import documents
from ..adapters.safe_paths import inside, safe_name
from ..adapters.store import RegisterStore, row_is_closed
from ..domain.campaign import Candidate, candidate, draw
from ..domain.model import SCORE_KEYS
from ..domain.parsing import number_key, parse_datetime, parse_score, text_of
from ..errors import ComplaintDeskError
from .casework import reply_deadline
from .common import Summary, save
from .readers import archived_rows

FORM = "campaign"  # templates/<lang>/campaign.toml


def survey_campaign(store: RegisterStore, now: datetime, name: str, start: datetime, end: datetime,
                    sample: int, seed: int, fmt: str = "html", out_dir: Path | None = None) -> Summary:
    summary = Summary("campaign")
    name = " ".join(name.split())[:40]
    if not name:
        raise ComplaintDeskError("请给回访活动一个名称（--name，如 2026年下半年）")
    if start > end:
        raise ComplaintDeskError("回访活动的开始日期晚于结束日期")
    if sample < 1:
        raise ComplaintDeskError("抽样人数应至少为 1")
    if any(text_of(r.get("campaign")) == name for r in store.table("campaign")):
        raise ComplaintDeskError(f"回访活动“{name}”已抽样过；换一个名称，或在“回访活动”表中删除它的行后重抽")
    pool = _candidates(store, start, end)
    picked = draw(pool, sample, seed)
    if not picked:
        summary.warnings.append(f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d} 没有可回访的已关闭投诉（需有联系方式）")
        return summary
    folder = _folder(store, out_dir, name)
    reply_by = reply_deadline(now, store.settings().param("survey_reply_days"))
    period = f"{start:%Y年%m月%d日}至{end:%Y年%m月%d日}"
    for c in picked:
        path = inside(folder, f"{safe_name(c.number)}_客户满意度定期回访.{fmt}")
        _write_form(c, path, now, store.lang, {"campaign": name, "reply_by": reply_by, "period": period})
        summary.files.append(path)
    rows = [{"campaign": name, "complaint_no": c.number, "customer": c.customer, "contact": c.contact,
             "sent_at": now.isoformat(timespec="minutes")} for c in picked]
    summary.data["campaign_rows"] = rows  # what a held register records once it is free
    record_campaign(store, rows, now, save_now=False)
    summary.add("campaign_forms", len(picked))
    summary.messages.append(f"回访活动“{name}”：{len(pool)} 位客户中抽取 {len(picked)} 位（种子 {seed}），"
                            "回收后用 complaintdesk surveys import 导入（文件中加“回访活动”列）")
    save(store, summary, now)
    return summary


def record_campaign(store: RegisterStore, rows: list[dict], now: datetime, save_now: bool = True) -> Summary:
    """Append a campaign's tracking rows to 回访活动 (its times as ISO text: they pass through the
    queue of a held register) — once: a campaign already recorded is not added again."""
    summary = Summary("campaign")
    names = {text_of(r.get("campaign")) for r in store.table("campaign")}
    fresh = [dict(r, sent_at=parse_datetime(r.get("sent_at"))[0]) for r in rows
             if text_of(r.get("campaign")) not in names]
    if fresh:
        store.append_table("campaign", fresh)
        summary.add("campaign_forms", len(fresh))
        if save_now:
            save(store, summary, now)
    return summary


def _candidates(store: RegisterStore, start: datetime, end: datetime) -> list[Candidate]:
    rows = chain(store.full_rows(), archived_rows(store))
    found = (candidate(r.values, start, end, row_is_closed(r.values)) for r in rows)
    return [c for c in found if c is not None]


def _folder(store: RegisterStore, out_dir: Path | None, name: str) -> Path:
    if out_dir is not None:
        return Path(out_dir)
    base = store.path.parent if store.path is not None else Path.cwd()
    return inside(base / "文档", f"回访活动_{safe_name(name)}")


def _write_form(c: Candidate, path: Path, now: datetime, lang: str, extra: dict) -> None:
    record = {"complaint_no": c.number, "customer_name": c.customer, "contact": c.contact} | extra
    path.parent.mkdir(parents=True, exist_ok=True)
    documents.write_document(path, FORM, record, now.strftime("%Y-%m-%d %H:%M"), lang, False)


def import_campaign_answers(store: RegisterStore, lines: list[tuple[int, dict]], now: datetime) -> Summary:
    """Answers of a campaign's forms (lines with 回访活动, 投诉编号 and the three scores): filled into
    the 回访活动 rows they belong to — an answered row is never overwritten."""
    summary = Summary("surveys")
    rows = store.table("campaign")
    index = {(text_of(r.get("campaign")), number_key(r.get("complaint_no"))): r for r in rows}
    changed = False
    for line_no, values in lines:
        key = (" ".join(text_of(values.get("campaign")).split()), number_key(values.get("complaint_no")))
        if not any(key):
            continue
        row = index.get(key)
        problem = _answer_problem(key, row, values)
        if problem:
            summary.messages.append(f"回访文件第 {line_no} 行：{problem}")
            continue
        assert row is not None
        for k in SCORE_KEYS:
            row[k] = parse_score(values.get(k))[0]
        row["comment"] = text_of(values.get("survey_comment"))[:2000]
        row["answered_at"] = now
        summary.add("campaign_answers")
        changed = True
    if changed:
        store.replace_table("campaign", rows)
        save(store, summary, now)
    return summary


def _answer_problem(key: tuple[str, str], row: dict | None, values: dict) -> str | None:
    if row is None:
        return f"回访活动“{key[0][:20]}”中没有投诉编号“{key[1][:30]}”"
    if any(parse_score(values.get(k))[0] is None for k in SCORE_KEYS):
        return "三项评分不全或无效，整行未导入"
    if any(row.get(k) not in (None, "") for k in SCORE_KEYS):
        return f"{key[1]} 在回访活动“{key[0]}”中已有评分，未覆盖"
    return None

