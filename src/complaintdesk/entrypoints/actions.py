"""Entry point — the one registry of ribbon actions.

Each action names its button (label, icon, group, tip), what the VBA must ask
the user first (nothing, a file, a line of text) and the service call it
makes. The ribbon XML, the VBA dispatcher and `excel.dispatch` are all
generated from / driven by this table.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from ..errors import ComplaintDeskError
from ..services.common import Summary


@dataclass
class ActionContext:
    store: object
    now: datetime
    argument: str = ""
    selected_no: str = ""
    folder: Path | None = None
    open_file: Callable[[Path], None] | None = None
    show_sheet: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Action:
    tag: str
    zh: str
    en: str
    icon: str       # Office imageMso
    group: str      # ribbon group (zh)
    tip: str        # screen tip (zh)
    prompt: str     # none | file | text
    ask: str        # what the VBA asks (zh), when prompt != none
    run: Callable[[ActionContext], Summary]


def _assign(ctx):
    from ..services.register import assign
    return assign(ctx.store, ctx.now)


def _sla(ctx):
    from ..services.register import check_sla
    return check_sla(ctx.store, ctx.now)


def _docs(ctx):
    from ..services.casework import make_documents
    if ctx.selected_no:
        return make_documents(ctx.store, ctx.now, numbers=[ctx.selected_no])
    return make_documents(ctx.store, ctx.now, all_due=True)


def _surveys(ctx):
    from ..services.casework import import_surveys
    if not ctx.argument:
        return Summary("surveys", warnings=["未选择文件"])
    return import_surveys(ctx.store, Path(ctx.argument), ctx.now)


def _log(ctx):
    from ..services.casework import log_entry
    if not ctx.selected_no:
        raise ComplaintDeskError("请先选中要记录沟通的投诉所在行")
    if not ctx.argument.strip():
        return Summary("log", warnings=["未输入沟通内容"])
    return log_entry(ctx.store, ctx.selected_no, ctx.now, "电话", ctx.argument, "", "")


def _merge(ctx):
    from ..services.casework import merge_complaint
    if not ctx.selected_no:
        raise ComplaintDeskError("请先选中重复登记的那一条投诉所在行")
    if not ctx.argument.strip():
        return Summary("merge", warnings=["未输入主投诉编号"])
    return merge_complaint(ctx.store, ctx.selected_no, ctx.argument.strip(), ctx.now)


def _report(ctx):
    from ..services.report import monthly_report
    summary = monthly_report(ctx.store, ctx.now)
    if ctx.open_file and summary.files:
        ctx.open_file(summary.files[0])
    return summary


def _archive(ctx):
    from ..services.archive import archive
    return archive(ctx.store, ctx.now)


def _find(ctx):
    from ..services.archive import find
    summary = find(ctx.store, ctx.argument) if ctx.argument.strip() else Summary("find")
    summary.messages += [f"[{h['source']}] {h['complaint_no']} {h['received_at']} {h['category']} "
                         f"{h['customer']} {h['status']}" for h in summary.data.get("hits", [])[:15]]
    return summary


def _readme(ctx):
    if ctx.show_sheet:
        ctx.show_sheet("readme")
    return Summary("readme", warnings=["已打开“说明”表"])


ACTIONS: tuple[Action, ...] = (
    Action("assign", "登记编号", "Assign", "TableInsert", "登记",
           "为新投诉编号，判定优先级、重复投诉并分派部门与受理人", "none", "", _assign),
    Action("sla", "刷新时效", "SLA Check", "Refresh", "登记",
           "按中国工作日历重新计算时限，标记即将超时/已超时，更新预警表", "none", "", _sla),
    Action("docs", "生成文档", "Documents", "FileSaveAsPdfOrXps", "处理",
           "为选中的投诉生成全部文档；未选中时生成所有到期文档", "none", "", _docs),
    Action("log", "记录沟通", "Log Contact", "NewComment", "处理", "为选中的投诉追加一条沟通记录并更新进度反馈时间",
           "text", "请输入本次与客户沟通的内容：", _log),
    Action("merge", "合并重复", "Merge", "MergeCells", "处理", "把选中的投诉标记为重复登记，合并到输入的主投诉编号"
           "（保留编号，不再计时、不计入统计）", "text", "请输入主投诉编号（选中的这一条将合并到它）：", _merge),
    Action("surveys", "导入回访", "Import Surveys", "ImportExcel", "处理", "导入满意度调查结果（CSV 或 Excel 文件）",
           "file", "请选择回访结果文件", _surveys),
    Action("report", "月度报告", "Monthly Report", "ChartInsert", "分析", "生成上个月的《月度投诉分析报告》并打开",
           "none", "", _report),
    Action("archive", "归档", "Archive", "FileSaveAs", "分析", "把关闭超过设置天数的投诉移到按年份的归档文件",
           "none", "", _archive),
    Action("find", "查询", "Find", "FindDialog", "分析", "按编号、电话、客户ID、订单号或文字在登记表和归档中查找",
           "text", "请输入要查找的投诉编号、电话、客户ID、订单号或文字：", _find),
    Action("readme", "设置说明", "Read Me", "Help", "帮助", "打开“说明”表", "none", "", _readme),
)
BY_TAG = {a.tag: a for a in ACTIONS}
GROUPS = tuple(dict.fromkeys(a.group for a in ACTIONS))
