"""Services — `demo`: a register with sample complaints, run through every action."""
from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from ..adapters.files import atomic_write
from ..adapters.store import RegisterStore
from ..domain.parsing import text_of
from ..domain.schema import BY_KEY, INTAKE
from ..errors import ComplaintDeskError
from .archive import archive
from .campaign import survey_campaign
from .casework import import_surveys, log_entry, make_documents, merge_complaint
from .common import Summary, register_session, save
from .demo_group import group_complaint_rows, group_steps
from .register import assign, check_sla
from .replies import reply_text
from .report import monthly_report
from .sample_data import DUPLICATE_NOTE, sample_complaints
from .setup import init_register
from .transfer import export_to_file, import_rows

Step = tuple[str, Callable[[], Summary]]


def write_sample_csv(path: Path, rows: list[dict], encoding: str = "utf-8-sig") -> None:
    keys = [k for k in BY_KEY if BY_KEY[k].group != "automation"]

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([BY_KEY[k].zh if BY_KEY[k].group == INTAKE else k for k in keys])
            for row in rows:
                writer.writerow([_csv_text(row.get(k)) for k in keys])
    atomic_write(path, write)


def _csv_text(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return text_of(value)


DEMO_REGISTER = "客户投诉登记表.xlsx"


def prepare_folder(folder: Path, force: bool) -> None:
    """The demo starts from an empty folder, so two runs give the same results (an earlier run's
    archive would feed the next one). A folder holding anything is refused; with `force`, a folder
    an earlier demo made (it holds the demo register) is emptied first — never any other folder."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ComplaintDeskError(f"“{folder}”是一个文件，不是文件夹")
    if not folder.exists() or not any(folder.iterdir()):
        return
    if not force:
        raise ComplaintDeskError(f"文件夹“{folder}”不是空的：演示需要一个空文件夹（或加 --force 清空上次的演示）")
    if not (folder / DEMO_REGISTER).exists():
        raise ComplaintDeskError(f"文件夹“{folder}”里没有上次演示的 {DEMO_REGISTER}，为免误删，"
                                 "--force 只清空演示文件夹；请换一个空文件夹")
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def demo_steps(folder: Path, now: datetime, count: int = 60) -> list[Step]:
    folder = Path(folder)
    register = folder / DEMO_REGISTER
    source = folder / "渠道导出_样例.csv"

    def with_store(fn, kind=None):
        def run():
            with register_session(register, "演示", kind) as store:
                return fn(store)
        return run

    def do_init():
        folder.mkdir(parents=True, exist_ok=True)
        summary = init_register(register, force=True)
        write_sample_csv(source, sample_complaints(count, now) + group_complaint_rows(now))
        summary.files.append(source)
        return summary

    def do_export(store: RegisterStore):
        return export_to_file(store, folder / "导出_全部投诉.json")

    later = now + timedelta(minutes=15)
    docs = folder / "文档"
    return [
        ("创建登记表并生成样例数据", do_init),
        ("导入渠道导出文件", with_store(lambda s: import_rows(s, source, now))),
        ("登记编号（编号/优先级/重复/分派）", with_store(lambda s: assign(s, now))),
        ("刷新时效与预警", with_store(lambda s: check_sla(s, now + timedelta(minutes=1)))),
        ("生成到期文档（HTML）", with_store(lambda s: make_documents(s, now + timedelta(minutes=2), all_due=True,
                                                                   out_dir=docs))),
        ("生成分配记录表（Word）", with_store(lambda s: make_documents(s, now, all_due=True, kinds=["assignment"],
                                                                  fmt="docx", out_dir=docs))),
        ("记录客户沟通（含一条“等待客户”）", with_store(lambda s: _log_calls(s, now))),
        ("合并重复登记", with_store(lambda s: _merge_twin(s, now))),
        ("给最新投诉发送受理回复", with_store(lambda s: _ack_newest(s, now))),
        ("导入满意度回访结果", with_store(lambda s: _survey_answers(s, folder, now))),
        ("再次刷新时效（关闭已完成投诉）", with_store(lambda s: check_sla(s, later))),
        ("登记整改措施（高频问题）", with_store(lambda s: _improvement_action(s, now))),
        ("月度投诉分析报告（上月）", with_store(lambda s: monthly_report(s, later))),
        ("导出 JSON", with_store(do_export)),
        ("归档已关闭投诉（演示：不等 30 天）", with_store(lambda s: archive(s, later + timedelta(minutes=1), 0),
                                                       kind="openpyxl")),
        ("定期满意度回访（抽样 5 位客户）", with_store(lambda s: survey_campaign(
            s, later + timedelta(minutes=2), "演示回访", now - timedelta(days=60), later, 5, 7,
            out_dir=docs / "回访活动_演示回访"))),
        *group_steps(folder, now, count, write_sample_csv),
    ]


def _log_calls(store: RegisterStore, now: datetime) -> Summary:
    """The demo's communication log: a call to three customers whose complaint is being handled."""
    open_rows = [r for r in store.rows() if r.values.get("first_response_at") and not r.values.get("resolved_at")
                 and r.values.get("complaint_no")]
    summary = Summary("log")
    for i, row in enumerate(open_rows[:3]):
        waiting = i == 2  # the customer is to send photos of the fault: the case waits for them
        part = log_entry(store, text_of(row.values["complaint_no"]), now + timedelta(minutes=5), "电话",
                         "请客户补拍故障照片，收到后继续处理" if waiting else "已致电客户说明处理进度，预计 3 天内完成",
                         "等待客户" if waiting else "跟进处理结果", "李客服")
        summary.add("logged", part.counts.get("logged", 0))
    return summary


def _improvement_action(store: RegisterStore, now: datetime) -> Summary:
    """What a supervisor types into 整改 after the review meeting (the demo types it for them): an
    action against last month's most frequent problem, due in two weeks."""
    month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    hotspots = monthly_report(store, now, month, write=False).data["kpis"]["hotspots"]
    if not hotspots:
        return Summary("actions", warnings=["上月没有高频问题"])
    top = hotspots[0]
    problem = f"{top['product']} × {top['category']}"
    store.append_table("actions", [{"action_no": f"ZG-{now:%Y%m}-01", "problem": problem,
                                    "complaint_nos": "、".join(top["examples"][:3]), "content": "与供应商复盘并整改",
                                    "owner": "孙强", "due": now + timedelta(days=14)}])
    summary = Summary("actions", messages=[f"整改 ZG-{now:%Y%m}-01：{problem}"])
    summary.add("actions")
    save(store, summary, now)
    return summary


def _merge_twin(store: RegisterStore, now: datetime) -> Summary:
    """The sample complaint registered twice (sample_data.DUPLICATE_NOTE) merged into the first."""
    rows = [r.values for r in store.rows() if r.values.get("complaint_no")]
    twin = next((v for v in rows if text_of(v.get("remarks")) == DUPLICATE_NOTE and not v.get("merged_into")), None)
    if twin is None:
        return Summary("merge", warnings=["样例中没有重复登记的投诉"])
    first = next(v for v in rows if v is not twin and text_of(v.get("contact")) == text_of(twin.get("contact"))
                 and text_of(v.get("description")) == text_of(twin.get("description")))
    return merge_complaint(store, text_of(twin["complaint_no"]), text_of(first["complaint_no"]),
                           now + timedelta(minutes=6))


def _ack_newest(store: RegisterStore, now: datetime) -> Summary:
    """Seed 001 立即致歉、告知已受理: the canned acknowledgement for the newest complaint, logged."""
    received: dict[str, datetime] = {}
    for row in store.rows():
        when = row.values.get("received_at")
        if row.values.get("complaint_no") and isinstance(when, datetime):
            received[text_of(row.values["complaint_no"])] = when
    newest = max(received, key=lambda number: received[number])
    made = reply_text(store, newest, "ack", store.lang)
    summary = log_entry(store, made.data["number"], now + timedelta(minutes=7), "短信", made.data["text"], "", "李客服")
    summary.messages.append(f"{made.data['number']}：{made.data['text']}")
    return summary


def _survey_answers(store: RegisterStore, folder: Path, now: datetime) -> Summary:
    """The demo's survey answers: six surveyed complaints (one in three unhappy) and an unknown number."""
    surveyed = [r for r in store.rows() if r.values.get("survey_sent_at") and not r.values.get("score_solution")]
    path = folder / "回访结果_样例.csv"
    lines = ["投诉编号,处理效率,服务态度,解决方案,意见"]
    for i, row in enumerate(surveyed[:6]):
        scores = (5, 4, 5) if i % 3 else (3, 2, 4)
        lines.append(f"{text_of(row.values['complaint_no'])},{scores[0]},{scores[1]},{scores[2]},"
                     + ("处理及时，满意" if i % 3 else "客服态度需要改进"))
    lines.append("20990101-CS-001,5,5,5,不存在的编号")
    atomic_write(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n", encoding="utf-8-sig"))
    return import_surveys(store, path, now + timedelta(minutes=10))
