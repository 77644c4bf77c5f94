"""Entry point — the group commands: `publish` (a branch reports up) and `group init | report |
sample` (the group's store and view). Each command opens the store and calls one service."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .cli import NOW_HELP, REGISTER, app, console, err_console, in_register, parse_now, report, run
from .cli_zh import ZhTyper

URL_HELP = ("集团数据库地址（SQLAlchemy URL）：sqlite:///集团汇总.db，或 postgresql+psycopg://用户:密码@主机:5432/库名；"
            "省略时取环境变量 COMPLAINTDESK_GROUP_URL")

group_app = ZhTyper(help="集团总部：初始化集团数据库、集团月度分析、督导抽查。", no_args_is_help=True)
app.add_typer(group_app, name="group")


def _url(url: Optional[str]) -> str:
    url = url or os.environ.get("COMPLAINTDESK_GROUP_URL", "")
    if not url:
        console.print("[bold red]✘ 请给出集团数据库地址（如 sqlite:///集团汇总.db），或设置环境变量 "
                      "COMPLAINTDESK_GROUP_URL[/]", highlight=False)
        raise typer.Exit(2)
    return url


def _with_group(url: Optional[str], fn):
    """fn(group store) with the store closed afterwards; errors as the CLI says them."""
    from ..adapters.group_store import GroupStore

    def work():
        group = GroupStore(_url(url))
        try:
            return fn(group)
        finally:
            group.close()
    return run(work)


@app.command()
def publish(register: Path = REGISTER,
            to: Optional[str] = typer.Option(None, "--to", help=URL_HELP),
            branch: Optional[str] = typer.Option(None, "--branch",
                                                 help="分支机构名称（如 华东呼叫中心）；省略时取设置表“分支机构名称”"),
            now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """上报集团：把本登记表（含归档）的投诉脱敏后写入集团数据库（按投诉编号更新，重复运行不改变任何数据）。"""
    from ..domain.parsing import text_of
    from ..services.group_publish import group_url
    from ..services.group_publish import publish as publish_service
    moment = parse_now(now)

    def work(store):
        settings = store.settings()
        return _with_group(to or group_url(settings) or None,
                           lambda group: publish_service(store, group, branch or text_of(settings.param("branch_name")),
                                                         moment))
    summary = in_register(register, work, moment, write=False)
    d = summary.data
    took = f"（写入用时 {d['database_seconds']} 秒）" if "database_seconds" in d else ""
    console.print(f"  {d['branch']} → {d['store']}{took}", highlight=False)
    report(summary, "已上报集团", nothing="集团数据库已是最新，没有变化")


@group_app.command("init")
def group_init(url: Optional[str] = typer.Argument(None, metavar="数据库地址", help=URL_HELP)):
    """创建（或升级）集团数据库的表结构。已是最新时不做任何更改。"""
    from ..services.common import Summary
    said = {"created": "已创建集团数据库", "upgraded": "已升级集团数据库", "current": "集团数据库已是最新结构"}
    result = _with_group(url, lambda group: (group.init(), group.shown))
    console.print(f"[green]✔ {said[result[0]]}[/]：{result[1]}", highlight=False)
    return Summary("group_init")


@group_app.command("report")
def group_report_cmd(url: Optional[str] = typer.Argument(None, metavar="数据库地址", help=URL_HELP),
                     month: Optional[str] = typer.Option(None, help="月份，如 2026-10；默认上个月"),
                     out: Optional[Path] = typer.Option(None, help="输出文件；默认 集团月度投诉分析_<月份>.xlsx"),
                     json_: bool = typer.Option(False, "--json", help="打印各分支指标等数据（JSON），不写工作簿"),
                     now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """集团月度投诉分析：各分支指标对比、排名与红绿灯、集团高频问题、跨分支客户、群诉事件、集团案例库。"""
    from ..services.group_report import group_report
    from ..services.report import default_month
    month = month or default_month(parse_now(now))
    summary = _with_group(url, lambda group: group_report(group, month, out, write=not json_))
    if json_:
        for warning in summary.warnings:
            err_console.print(f"注意：{warning}", highlight=False)
        sys.stdout.write(json.dumps(summary.data["group"], ensure_ascii=False, indent=2) + "\n")
        return
    for r in summary.data["group"]["ranking"]:
        csat = "—" if r["csat"] is None else f"{r['csat']:.1%}"
        hours = "—" if r["response_hours_avg"] is None else f"{r['response_hours_avg']} 小时"
        console.print(f"  {r['rank'] or '—'}. {r['branch']}【{r['light']}】计入投诉 {r['total']}，CSAT {csat}，"
                      f"平均响应 {hours}", highlight=False)
    report(summary, "集团月度分析已生成")


@group_app.command("sample")
def group_sample_cmd(url: Optional[str] = typer.Argument(None, metavar="数据库地址", help=URL_HELP),
                     month: Optional[str] = typer.Option(None, help="月份，如 2026-10；默认上个月"),
                     n: int = typer.Option(20, "--n", help="抽查件数"),
                     seed: Optional[int] = typer.Option(None, "--seed",
                                                        help="随机种子：同一种子抽出同样的投诉（默认随机，并在结果中写明）"),
                     out: Optional[Path] = typer.Option(None, help="输出文件；默认 督导抽查_<月份>.xlsx"),
                     json_: bool = typer.Option(False, "--json", help="打印抽中的投诉（JSON），不写工作簿"),
                     now: Optional[str] = typer.Option(None, help=NOW_HELP)):
    """督导抽查：从全集团当月计入投诉中随机抽取，生成供督导填写结论的工作簿。"""
    from ..services.group_report import group_sample
    from ..services.report import default_month
    month = month or default_month(parse_now(now))
    summary = _with_group(url, lambda group: group_sample(group, month, n, seed, out, write=not json_))
    if json_:
        sys.stdout.write(json.dumps(summary.data["sample"], ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"  随机种子 {summary.data['sample']['seed']}（用 --seed 可重抽同一批）", highlight=False)
    report(summary, "督导抽查表已生成")
