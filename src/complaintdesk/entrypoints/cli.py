"""Entry point — the `complaintdesk` command line (typer). Each command calls one service.

Messages are Chinese; every command ends with a summary of what changed.
Exit codes: 0 success (row warnings included), 1 `check` found problems,
2 file/rule error, 3 file locked or open in Excel, 4 mail failed.
"""
from __future__ import annotations

import os
import sys
import zipfile
from contextlib import nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress

from ..errors import ComplaintDeskError
from ..services.common import COUNT_LABELS, Summary
from ..services.held import open_session, owner_notices, submit
from .cli_zh import ZhTyper
from .clock import now_from
from .ribbon import ribbon_source

app = ZhTyper(help="客户投诉处理与跟踪：登记编号、优先级、分派、时效预警、文档、月度报告。",
              no_args_is_help=True, add_completion=False)
console = Console(soft_wrap=True)  # a message is one line, never cut mid-phrase in a file or log
err_console = Console(stderr=True, soft_wrap=True)  # notes beside data written to stdout
NOW_HELP = "当前时间（如 2026-10-08T14:30 或 2026/10/8 14:30），用于复现；默认取系统时间"
REGISTER = typer.Argument(..., metavar="登记表", help="登记表文件（.xlsx / .xlsm）", show_default=False)
MAX_SHOWN = 40
BULK_IMPORT_ROWS = 5000  # an import of this many rows goes through the streaming store whatever the register's size
MAX_FILES = 8


def _version(value: bool) -> None:
    if value:
        from .. import __version__
        console.print(f"complaintdesk {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main_options(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                               help="显示版本并退出。")) -> None:
    """客户投诉处理与跟踪：登记编号、优先级、分派、时效预警、文档、月度报告。"""


def parse_now(text: Optional[str]) -> datetime:
    try:
        return now_from(text)
    except ValueError:
        raise typer.BadParameter(f"无法识别的时间“{text or os.environ.get('COMPLAINTDESK_NOW')}”，"
                                 "可写成 2026-10-08T14:30、2026-10-08 14:30、2026/10/8 14:30 或 2026年10月8日 14:30")


def report(summary: Summary, title: str, nothing: str = "没有需要更改的内容") -> None:
    """The summary's messages and warnings, then ✔ with what changed (`nothing`: what to say when
    nothing did — a read-only command says what it found, never "没有需要更改的内容")."""
    for message in summary.messages[:MAX_SHOWN]:
        console.print(f"  [yellow]•[/] {message}", highlight=False)
    if len(summary.messages) > MAX_SHOWN:
        console.print(f"  … 另有 {len(summary.messages) - MAX_SHOWN} 条提示（见登记表“校验提示”列）")
    for warning in summary.warnings:  # work waiting for a click is said as what it is, not a warning
        label = "  [cyan]ⓘ[/] " if warning.startswith("待办：") else "  [bold yellow]注意：[/]"
        console.print(f"{label}{warning}", highlight=False)
    parts = [f"{COUNT_LABELS.get(k, k)} {v}" for k, v in summary.counts.items() if v or k in ("numbered",)]
    said = "" if summary.files or not nothing else "：" + nothing
    console.print(f"[green]✔ {title}[/]" + ("：" + "，".join(parts) if parts else said), highlight=False)
    for path in summary.files[:MAX_FILES]:
        console.print(f"  → {path}", highlight=False)
    if len(summary.files) > MAX_FILES:
        console.print(f"  → … 共 {len(summary.files)} 个文件，位于 {summary.files[0].parent}", highlight=False)


def run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ComplaintDeskError as exc:
        console.print(f"[bold red]✘ {exc}[/]", highlight=False)
        raise typer.Exit(exc.exit_code)
    except zipfile.BadZipFile as exc:  # damage found while reading a part (sizes, CRC)
        console.print(f"[bold red]✘ 文件已损坏，未做任何更改：{exc}。请用 restore 恢复备份[/]", highlight=False)
        raise typer.Exit(2)
    except OSError as exc:  # a file that vanished, a share gone, a folder without permission
        console.print(f"[bold red]✘ 文件操作失败：{exc.strerror or type(exc).__name__}"
                      f"{f'（{exc.filename}）' if exc.filename else ''}[/]", highlight=False)
        raise typer.Exit(2)


def show_session(session, now: datetime, out: Console) -> None:
    """Say whose the register is (held: which saved version was read) and what waits or was applied."""
    lines = ([session.notice(now)] if session.held else []) + session.pending.warnings + session.pending.messages
    for line in lines:
        out.print(f"  [cyan]ⓘ[/] {line}", highlight=False)


def in_session(path: Path, fn, now: datetime, write: bool = True, source: str = "命令行",
               kind: Optional[str] = None, spinner: bool = True, out: Console = console):
    """fn(session) on the register: free — the file itself; held open — its last saved version,
    writes queued (services.held)."""
    def work():
        big = spinner and Path(path).exists() and Path(path).stat().st_size > 1_000_000
        with console.status(f"正在处理 {Path(path).name} …") if big else nullcontext():
            with open_session(path, source, now, kind, write) as session:
                show_session(session, now, out)
                return fn(session)
    return run(work)


def in_register(path: Path, fn, now: datetime, write: bool = True, **kwargs):
    """fn(store) on the register (see in_session)."""
    return in_session(path, lambda session: fn(session.store), now, write, **kwargs)


def source_args(source: Path) -> dict:
    """A source file read once, as the arguments of a queued import (the file may move later)."""
    from ..adapters.sources import read_source
    headers, data = run(read_source, source)
    return {"name": Path(source).name, "headers": list(headers), "data": data}  # rows are lists already


@app.command()
def init(path: Path = typer.Argument(..., help="新登记表的路径，如 客户投诉登记表.xlsx"),
         lang: str = typer.Option("zh", help="表头语言：zh 或 en"),
         force: bool = typer.Option(False, "--force", help="覆盖已有文件（先备份）")):
    """创建新的客户投诉登记表（含下拉选项、设置、说明）。"""
    from ..services.setup import init_register
    report(run(init_register, path, lang, force), "已创建登记表")


@app.command("import")
def import_cmd(register: Path = REGISTER, source: Path = typer.Argument(..., help=".csv（UTF-8/GBK）或 .xlsx"),
               strict: bool = typer.Option(False, "--strict", help="有无法识别的列时不导入（默认忽略该列并提示）"),
               now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """从渠道导出或旧登记表追加投诉行（表头可为字段名或中/英文列名）。"""
    moment = parse_now(now)
    args = source_args(source) | {"strict": strict}
    many = len(args["data"]) >= BULK_IMPORT_ROWS  # a small register about to hold them: the streaming store
    report(in_session(register, lambda s: submit(s, "import", args, moment), moment,
                      kind="fast" if many and not os.environ.get("COMPLAINTDESK_STORE") else None), "导入完成")


@app.command()
def assign(register: Path = REGISTER, now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """为新投诉编号，判定优先级与重复投诉，分派部门、受理人与抄送。"""
    moment = parse_now(now)
    report(in_session(register, lambda s: submit(s, "assign", {}, moment), moment), "登记编号完成")


@app.command()
def sla(register: Path = REGISTER, now: Optional[str] = typer.Option(None, help=NOW_HELP),
        notify: bool = typer.Option(False, "--notify", help="给受理人/抄送/经理发送预警邮件")):
    """按中国工作日历计算各项时限，标记即将超时/已超时，更新预警表。"""
    moment = parse_now(now)

    def work(session):
        summary = submit(session, "sla", {}, moment)
        if notify:
            from ..services.notify import notify_alerts
            sent = notify_alerts(session.store, moment, summary.data["alerts"], ledger=session.ledger)
            summary.counts["sent"] = sent.counts.get("sent", 0)
            summary.messages += sent.messages
            summary.warnings += [w for w in sent.warnings if w != sent.data.get("mail_unavailable")]
            summary.data["mail_unavailable"] = sent.data.get("mail_unavailable")
        return summary
    summary = in_session(register, work, moment)
    report(summary, "时效检查完成")
    if summary.data.get("mail_unavailable"):  # mail was asked for: not sending it is a failure (exit 4)
        console.print(f"[bold red]✘ 预警邮件：{summary.data['mail_unavailable']}[/]", highlight=False)
        raise typer.Exit(4)


@app.command()
def export(register: Path = REGISTER, format: str = typer.Option("json", "--format", help="json 或 csv"),
           out: Optional[Path] = typer.Option(None, help="输出文件；不给时写到标准输出（须重定向到文件或管道）"),
           include_archive: bool = typer.Option(False, "--include-archive", help="包括归档中的投诉"),
           masked: bool = typer.Option(False, "--masked", help="遮盖客户姓名、电话、邮箱")):
    """导出全部投诉（字段名、标准代码、ISO 时间）。"""
    from ..services.transfer import export_to_file, write_export
    if format not in ("json", "csv"):
        raise typer.BadParameter("--format 只能是 json 或 csv")
    moment = parse_now(None)
    if out is None and sys.stdout.isatty():  # every row, unmasked, onto a screen: not what anyone wants
        console.print("[bold red]✘ 导出的是全部投诉（含客户信息），不直接显示在屏幕上：请用 --out 指定文件，"
                      "如 --out 投诉导出.csv --format csv（或重定向：> 投诉导出.json）[/]", highlight=False)
        raise typer.Exit(2)
    if out is None:  # rows stream from the register to stdout, which carries the data itself: no spinner
        in_register(register, lambda s: write_export(s, sys.stdout, format, include_archive, masked), moment,
                    write=False, spinner=False, out=err_console)
        return
    report(in_register(register, lambda s: export_to_file(s, out, format, include_archive, masked), moment,
                       write=False), "导出完成")


@app.command()
def check(register: Path = REGISTER, now: Optional[str] = typer.Option(None, help=NOW_HELP),
          repair: bool = typer.Option(False, "--repair",
                                      help="只修复登记表结构（表格范围、筛选、下拉、冻结首行），不改任何数据")):
    """检查登记表：表头、设置、编号重复、计数器、自动列是否与规则一致，表格结构是否完整。发现问题时退出码为 1。"""
    from ..errors import SchemaError
    from ..services.setup import check_register
    moment = parse_now(now)
    if repair:
        report(in_session(register, lambda s: submit(s, "repair", {}, moment), moment), "结构修复完成")
        return

    def work(session):
        summary = check_register(session.store, moment)
        summary.warnings += [f"无法写入的排队更改：{p}" for p in session.queue.failed()]
        summary.warnings += owner_notices(register)
        return summary
    try:
        with open_session(register, "命令行", moment, write=False) as session:
            show_session(session, moment, console)
            summary = run(work, session)
    except SchemaError as exc:
        console.print(f"[bold red]✘ {exc}[/]", highlight=False)
        raise typer.Exit(1)
    except ComplaintDeskError as exc:
        console.print(f"[bold red]✘ {exc}[/]", highlight=False)
        raise typer.Exit(exc.exit_code)
    report(summary, "检查完成")
    if summary.messages:
        raise typer.Exit(1)


@app.command()
def restore(register: Path = REGISTER, list_: bool = typer.Option(False, "--list", help="列出备份"),
            backup: Optional[int] = typer.Option(None, "--backup", help="恢复第 N 份备份（1 为最新）")):
    """列出或恢复 .bak 文件夹中的历史版本。"""
    from ..services.setup import restore as service
    summary = run(service, register, None if list_ else backup)
    if list_ or backup is None:
        for i, (path, broken) in enumerate(summary.data["backups"], 1):
            note = f"  [red]✘ {broken}，不能恢复[/]" if broken else ""
            console.print(f"  {i}. {path.name}{note}", highlight=False)
    if backup and not list_:
        report(summary, "恢复完成")
    else:
        count = len(summary.data["backups"])
        report(summary, "备份列表", f"共 {count} 份备份" if count else "还没有备份（第一次保存后才会有）")


@app.command()
def docs(register: Path = REGISTER, numbers: list[str] = typer.Argument(None, help="投诉编号（可多个）"),
         all_due: bool = typer.Option(False, "--all-due", help="生成当前到期的全部文档"),
         kind: list[str] = typer.Option(None, "--kind", help="assignment / plan / confirmation / survey，可多次指定"),
         format: str = typer.Option("html", "--format", help="html 或 docx"),
         out: Optional[Path] = typer.Option(None, "--out", help="输出文件夹（默认：登记表旁的“文档”文件夹）"),
         unmasked: bool = typer.Option(False, "--unmasked", help="不遮盖客户信息（仅限主管使用）"),
         lang: Optional[str] = typer.Option(None, help="文档语言 zh / en（默认随登记表）"),
         now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """生成任务分配记录表、处理方案表、结果确认表、满意度调查表。"""
    from ..services.casework import document_kinds, make_documents
    from ..services.held import queue_followup
    run(document_kinds, kind, format)  # an unknown kind is said as what it is, first
    if not numbers and not all_due:
        raise typer.BadParameter("请给出投诉编号，或使用 --all-due")
    moment = parse_now(now)

    def work(session):
        summary = make_documents(session.store, moment, numbers, all_due, kind, format, out, unmasked, lang)
        sent = summary.data.get("surveys_sent")
        if sent and session.held:
            queue_followup(session, "surveys_sent", {"numbers": sent}, moment)
            summary.warnings.append(f"{len(sent)} 份调查表的回访发送时间已排队，登记表关闭后写入")
        return summary
    report(in_session(register, work, moment, write=all_due), "文档已生成")


@app.command()
def log(register: Path = REGISTER, number: str = typer.Argument(..., help="投诉编号"),
        channel: str = typer.Option("电话", help="沟通渠道"),
        content: str = typer.Option(..., help="沟通内容"),
        next_step: str = typer.Option("", "--next-step", help="下一步"),
        who: str = typer.Option("", help="沟通人"),
        now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """在“沟通记录”追加一条，并更新最近进度反馈时间。"""
    moment = parse_now(now)
    args = {"number": number, "channel": channel, "content": content, "next_step": next_step, "who": who}
    report(in_session(register, lambda s: submit(s, "log", args, moment), moment), "沟通已记录")


@app.command()
def reply(register: Path = REGISTER, number: str = typer.Argument(..., metavar="投诉编号", help="投诉编号"),
          kind: str = typer.Option("ack", "--kind", help="ack 受理致歉 / progress 进度 / result 处理结果"),
          channel: str = typer.Option("短信", help="发送渠道，记入沟通记录"),
          who: str = typer.Option("", help="发送人"),
          now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """给客户的回复（短信/微信）：按模板生成，打印出来并记入“沟通记录”。"""
    from ..services.replies import reply_text
    moment = parse_now(now)
    made = in_register(register, lambda s: reply_text(s, number, kind, s.lang), moment, write=False)
    console.print(f"  {made.data['text']}", highlight=False, soft_wrap=True)
    args = {"number": made.data["number"], "channel": channel, "content": made.data["text"],
            "next_step": "", "who": who}
    summary = in_session(register, lambda s: submit(s, "log", args, moment), moment)
    summary.warnings[:0] = made.warnings
    report(summary, "回复已生成并记入沟通记录")


@app.command()
def merge(register: Path = REGISTER,
          duplicate: str = typer.Argument(..., metavar="重复编号", help="重复登记的投诉编号"),
          into: str = typer.Option(..., "--into", help="主投诉编号（保留计时和统计的那一个）"),
          now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """合并重复登记：重复的一条保留编号、填写“合并到”，不再计时、不计入统计。"""
    moment = parse_now(now)
    args = {"duplicate": duplicate, "main": into}
    report(in_session(register, lambda s: submit(s, "merge", args, moment), moment), "合并完成")


@app.command("survey-campaign")
def survey_campaign(register: Path = REGISTER,
                    start: str = typer.Option(..., "--from", help="关闭时间从（如 2026-05-01）"),
                    end: str = typer.Option(..., "--to", help="关闭时间到（含当天，如 2026-10-31）"),
                    sample: int = typer.Option(20, "--sample", help="抽取的客户数"),
                    seed: int = typer.Option(20261, "--seed", help="随机种子（同一种子抽样结果相同）"),
                    name: str = typer.Option("", "--name", help="活动名称（默认：期间）"),
                    format: str = typer.Option("html", "--format", help="html 或 docx"),
                    out: Optional[Path] = typer.Option(None, "--out", help="调查表输出文件夹"),
                    now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """定期满意度回访：从期间内关闭的投诉中按种子抽取客户，生成调查表并记入“回访活动”表。"""
    from ..services.campaign import survey_campaign as draw_campaign
    from ..services.held import queue_followup
    moment, first, last = parse_now(now), parse_day(start), parse_day(end) + timedelta(days=1, seconds=-1)
    if format not in ("html", "docx"):
        raise typer.BadParameter("--format 只能是 html 或 docx")
    title = name or f"{first:%Y%m%d}-{last:%Y%m%d}回访"

    def work(session):
        summary = draw_campaign(session.store, moment, title, first, last, sample, seed, format, out)
        if session.held and summary.data.get("campaign_rows"):
            queue_followup(session, "campaign_rows", {"rows": summary.data["campaign_rows"]}, moment)
            summary.warnings.append("回访活动记录已排队，登记表关闭后写入“回访活动”表")
        return summary
    report(in_session(register, work, moment), "回访活动已生成")


def parse_day(text: str) -> datetime:
    """A date as staff type it (2026-05-01, 2026/5/1, 2026年5月1日), at 00:00."""
    from ..domain.parsing import parse_datetime
    value, _ = parse_datetime(text)
    if value is None:
        raise typer.BadParameter(f"无法识别的日期“{text}”，可写成 2026-05-01、2026/5/1 或 2026年5月1日")
    return datetime.combine(value.date(), datetime.min.time())


surveys_app = ZhTyper(help="满意度回访结果。", no_args_is_help=True)
app.add_typer(surveys_app, name="surveys")


@surveys_app.command("import")
def surveys_import(register: Path = REGISTER, source: Path = typer.Argument(..., help="回访结果 .csv / .xlsx"),
                   now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """导入回访评分（投诉编号 + 三项 1–5 分 + 意见）；任一项 ≤3 分需主管回访。"""
    moment = parse_now(now)
    args = source_args(source)
    args.pop("name")
    report(in_session(register, lambda s: submit(s, "surveys", args, moment), moment), "回访结果已导入")


@app.command("report")
def report_cmd(register: Path = REGISTER,
               month: Optional[str] = typer.Option(None, help="月份，如 2026-10；默认上个月"),
               out: Optional[Path] = typer.Option(None, help="输出文件；默认登记表旁 月度投诉分析报告_<月份>.xlsx"),
               json_: bool = typer.Option(False, "--json", help="打印 KPI 数值（JSON）"),
               now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """生成月度投诉分析报告（概览、分布图、趋势、时效、满意度、高频问题、明细）。"""
    import json

    from ..services.report import monthly_report
    moment = parse_now(now)
    summary = in_register(register, lambda s: monthly_report(s, moment, month, out), moment, write=False,
                          out=err_console if json_ else console)
    if json_:
        sys.stdout.write(json.dumps(summary.data["kpis"], ensure_ascii=False, indent=2) + "\n")
        return
    k = summary.data["kpis"]
    pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
    console.print(f"  {k['month']}：计入投诉 {k['total']}，响应及时率 {pct(k['on_time_response_rate'])}，"
                  f"处理及时率 {pct(k['on_time_resolution_rate'])}，CSAT {pct(k['csat'])}", highlight=False)
    report(summary, "月度报告已生成")


@app.command("archive")
def archive_cmd(register: Path = REGISTER,
                older_than: Optional[int] = typer.Option(None, "--older-than", help="关闭超过 N 天（默认取设置）"),
                purge_expired: bool = typer.Option(False, "--purge-expired", help="列出超过保留期的归档文件"),
                yes: bool = typer.Option(False, "--yes", help="与 --purge-expired 一起使用：确认删除"),
                now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """把已关闭较久的投诉移到按年份的归档文件；或清理超过保留期的归档。"""
    from ..services import archive as service
    moment = parse_now(now)
    if purge_expired:
        report(in_register(register, lambda s: service.purge_expired(s, moment, yes), moment), "归档保留期检查")
        return
    report(in_session(register, lambda s: submit(s, "archive", {"older_than": older_than}, moment), moment),
           "归档完成")


@app.command()
def find(register: Path = REGISTER, query: str = typer.Argument(..., help="投诉编号、电话、客户ID、订单号或文字"),
         unmasked: bool = typer.Option(False, "--unmasked", help="显示完整客户信息")):
    """在登记表和归档中查找投诉。"""
    from ..services.archive import find as service
    summary = in_register(register, lambda s: service(s, query, unmasked), parse_now(None), write=False)
    for h in summary.data["hits"]:
        console.print(f"  [{h['source']}] {h['complaint_no']}  {h['received_at']}  {h['category']}  {h['customer']}  "
                      f"{h['contact']}  {h['status']}  {h['description']}", highlight=False, markup=False)
    report(summary, "查找完成", "没有找到匹配的投诉（可输入投诉编号、电话、客户ID、订单号或文字）")


@app.command("schedule")
def schedule_cmd(register: Path = REGISTER,
                 once: bool = typer.Option(False, "--once", help="只运行一次到期任务后退出（供计划任务/cron 使用）"),
                 now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """定时运行：工作时间内定期检查时效并发预警邮件、每日汇总、回访提醒、每月 1–5 日生成并发送月报。"""
    from .scheduler import Scheduler
    fixed = now or os.environ.get("COMPLAINTDESK_NOW")
    moment = parse_now(fixed) if fixed else None
    clock = (lambda: moment) if moment else (lambda: datetime.now())
    scheduler = Scheduler(register, clock)
    if once:
        scheduler.tick()
        for note in scheduler.report.notes:
            console.print(f"  [cyan]ⓘ[/] {note}", highlight=False)
        if scheduler.report.deferred:
            console.print("  [cyan]ⓘ[/] 到期时间、状态和预警表将在登记表关闭后的下一轮写入"
                          "（预警邮件已按已保存的版本发出）", highlight=False)
        console.print(f"[green]✔ 调度完成[/]：{scheduler.report.line()}", highlight=False)
        if scheduler.report.failed:
            raise typer.Exit(2)
        return
    console.print("调度器运行中（Ctrl+C 退出），日志：" + str(register.parent / "complaintdesk.log"), highlight=False)
    scheduler.run_forever()


excel_app = ZhTyper(help="Excel 选项卡（投诉管理）：生成 .xlsm / 加载项，检查设置，在 Windows 上安装。",
                    no_args_is_help=True)
app.add_typer(excel_app, name="excel")


@excel_app.command("build")
def excel_build(register: Optional[Path] = typer.Argument(None, help="登记表 .xlsx（生成加载项时不需要）"),
                out: Path = typer.Option(..., "--out", help="输出的 .xlsm（或 --addin 时的 .xlam）"),
                addin: bool = typer.Option(False, "--addin", help="生成对当前工作簿生效的加载项 .xlam")):
    """生成带“投诉管理”选项卡和宏的工作簿（.xlsm）或加载项（.xlam）。"""
    from ..services.frontend import build
    report(run(build, register, out, ribbon_source(), addin), "已生成")


@excel_app.command("check")
def excel_check(path: Optional[Path] = typer.Argument(None, help="要检查的 .xlsm / .xlam（可选）")):
    """检查 xlwings 版本、Python 路径、程序包与登记表结构。"""
    from ..services.frontend import check_setup
    summary = run(check_setup, path, ribbon_source())
    for line in summary.warnings:
        console.print("  " + line, highlight=False)
    for line in summary.messages:
        console.print("  " + line, highlight=False)
    if not summary.data["ok"]:
        raise typer.Exit(1)
    console.print("[green]✔ 设置正常[/]")


@excel_app.command("install")
def excel_install(register: Path = REGISTER, out: Path = typer.Option(..., "--out", help="输出的 .xlsm")):
    """（Windows）通过 Excel 导入宏模块并另存为 .xlsm。需开启“信任对 VBA 工程对象模型的访问”。"""
    from ..services.frontend import install_windows
    report(run(install_windows, register, out, ribbon_source()), "已安装")


@excel_app.command("generate")
def excel_generate(root: Path = typer.Option(Path("."), help="项目根目录")):
    """（开发）由按钮登记表重新生成 workbook/customUI.xml 与 macros/*.bas。"""
    from ..services.frontend import generate
    report(run(generate, root, ribbon_source()), "已生成")


@app.command()
def demo(folder: Path = typer.Argument(Path("demo"), help="演示文件夹"),
         now: Optional[str] = typer.Option(None, help=NOW_HELP),
         count: int = typer.Option(60, help="样例投诉数量"),
         force: bool = typer.Option(False, "--force", help="清空已有的演示文件夹后重新生成")):
    """生成一份含样例投诉的登记表，并依次运行全部操作。"""
    from ..services.demo import demo_steps, prepare_folder
    run(prepare_folder, folder, force)
    steps = demo_steps(folder, parse_now(now), count)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("演示", total=len(steps))
        results = []
        for title, step in steps:
            progress.update(task, description=title)
            results.append((title, run(step)))
            progress.advance(task)
    for title, summary in results:
        report(summary, title)
    console.print(f"[bold green]演示完成。[/]打开 {folder / '客户投诉登记表.xlsx'} 查看结果。", highlight=False)


from . import cli_group  # noqa: E402,F401  (registers publish and group on `app`)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
