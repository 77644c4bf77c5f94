"""Adapter — writes the monthly analysis workbook (月度投诉分析报告) with xlsxwriter.

Native Excel charts, percentages formatted as %, "—" for empty denominators,
customer data masked in 明细, and every string written as text (never a formula).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import xlsxwriter

from ..domain import labels
from ..domain.kpis import CLOCKS, no_complaints
from ..domain.parsing import display_width
from .files import atomic_write

CLOCK_ZH = {"response": "响应", "plan": "方案", "update": "进度反馈", "resolve": "处理完毕", "survey": "满意度回访"}
DIM_ZH = {"by_category": "投诉类别", "by_channel": "接收渠道", "by_department": "处理部门",
          "by_priority": "优先级", "by_responsibility": "责任方", "by_resolution_type": "解决方式",
          "by_tag": "标签"}
DETAIL_COLUMNS = (("complaint_no", "投诉编号"), ("received_at", "接收时间"), ("channel", "渠道"),
                  ("category", "类别"), ("product", "产品/服务"), ("customer_name", "客户"),
                  ("priority", "优先级"), ("department", "处理部门"), ("handler", "受理人"),
                  ("status", "状态"), ("response_status", "响应时效"), ("plan_status", "方案时效"),
                  ("update_status", "反馈时效"), ("resolve_status", "处理时效"), ("survey_status", "回访时效"),
                  ("is_repeat", "重复"), ("escalated", "升级"), ("first_response_at", "首次响应"),
                  ("resolved_at", "处理完成"), ("score_efficiency", "效率"), ("score_attitude", "态度"),
                  ("score_solution", "方案"), ("responsibility", "责任方"), ("resolution_type", "解决方式"),
                  ("tags", "标签"), ("evidence", "证据链接"))
DEFINITIONS = (
    ("计入投诉", "诉求类型为“投诉”、接收时间在本月、“是否有效”不是“无效”或“否”且未合并到其他投诉的登记行；"
             "咨询、建议和合并的重复登记不计入。"),
    ("及时率", "按时完成 ÷（按时完成 + 超时完成 + 已超时），只统计已结束或已过截止时间的时效；分母为 0 时显示“—”。"),
    ("满意度均分", "三项评分（处理效率、服务态度、解决方案）齐全的投诉，其三项平均分的平均值。"),
    ("CSAT", "三项平均分 ≥ 4 的已回访投诉 ÷ 已回访投诉。"),
    ("重复投诉率", "标记为重复投诉的计入投诉 ÷ 计入投诉。"),
    ("升级率", "已升级（超时、客户异议）的计入投诉 ÷ 计入投诉。"),
    ("首次解决率", "已处理完成且无需进度反馈、客户无异议的投诉 ÷ 已处理完成的投诉。"),
    ("有效率", "计入投诉 ÷ 本月全部投诉（含无效）。"),
    ("响应/处理时长", "首次响应时间或处理完成时间减接收时间（小时）；P90 为最近秩 90 分位数。"),
    ("高频问题", "本月同一“产品/服务 × 类别”达到设置中高频问题阈值的组合，供复盘会使用。"),
    ("重新打开率", "填了“重新打开时间”的计入投诉 ÷ 计入投诉。"),
    ("客户同意方案占比", "填了“客户同意方案时间”的投诉 ÷ 已制定方案（有“方案制定时间”）的投诉。"),
    ("等待客户", "“等待客户开始/结束”都已填写的投诉件数及其等待小时合计；等待期间进度反馈与处理时效暂停。"),
    ("按处理人", "处理人为“处理人”列（转派给的人），未填时为值班受理人。"),
)


class _Sheet:
    def __init__(self, wb, name, fmt):
        self.ws = wb.add_worksheet(name)
        self.fmt = fmt
        self.row = 0
        self.widths: dict[int, float] = {}

    def title(self, text):
        self.ws.write_string(self.row, 0, text, self.fmt["title"])
        self.row += 2

    def table(self, headers, rows, col=0, percent_cols=(), widths=None, wrap_cols=()):
        """A table at the current row; columns as wide as their content (CJK counted double) unless
        `widths` says; `wrap_cols` wrap inside their width instead of spilling out."""
        start = self.row
        rows = list(rows)
        for c, h in enumerate(headers):
            self.ws.write_string(self.row, col + c, h, self.fmt["head"])
        for r in rows:
            self.row += 1
            for c, value in enumerate(r):
                if c in wrap_cols and isinstance(value, str):
                    self.ws.write_string(self.row, col + c, value, self.fmt["wrap"])
                else:
                    self.cell(self.row, col + c, value, c in percent_cols)
        self.row += 2
        for c in range(len(headers)):
            fitted = max([display_width(headers[c])] + [display_width(r[c]) for r in rows if c < len(r)]) + 2
            wanted = widths[c] if widths and c < len(widths) else min(fitted, 40)
            self.widths[col + c] = max(self.widths.get(col + c, 0), wanted)
            self.ws.set_column(col + c, col + c, self.widths[col + c])
        return start

    def cell(self, r, c, value, percent=False):
        if value is None:
            self.ws.write_string(r, c, "—", self.fmt["center"])
        elif isinstance(value, bool):
            self.ws.write_string(r, c, "是" if value else "否")
        elif isinstance(value, (int, float)):
            style = "pct" if percent else "int" if isinstance(value, int) or float(value).is_integer() else "num"
            self.ws.write_number(r, c, value, self.fmt[style])
        else:
            self.ws.write_string(r, c, str(value))


def _chart(wb, kind, sheet, name, first, last, title, subtype=None):
    chart = wb.add_chart({"type": kind, **({"subtype": subtype} if subtype else {})})
    chart.add_series({"name": title, "categories": [sheet, first, 0, last, 0],
                      "values": [sheet, first, 1, last, 1], "data_labels": {"value": kind != "line"}})
    chart.set_title({"name": title, "name_font": {"name": "Microsoft YaHei", "size": 11}})
    chart.set_legend({"none": kind != "pie"})
    chart.set_size({"width": 480, "height": 260})
    return chart


def open_workbook(tmp: Path):
    """An xlsxwriter workbook that writes every string as text, and the report's formats."""
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True,
                                        "strings_to_numbers": False})
    fmt = {"title": wb.add_format({"bold": True, "font_size": 16, "font_name": "Microsoft YaHei"}),
           "head": wb.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF", "border": 1,
                                  "font_name": "Microsoft YaHei", "text_wrap": True, "valign": "vcenter"}),
           "pct": wb.add_format({"num_format": "0.0%"}), "int": wb.add_format({"num_format": "#,##0"}),
           "num": wb.add_format({"num_format": "0.00"}),
           "points": wb.add_format({"num_format": '+0.0"个百分点";-0.0"个百分点";0.0"个百分点"'}),
           "change": wb.add_format({"num_format": "+#,##0.##;-#,##0.##;0"}),
           "wrap": wb.add_format({"text_wrap": True, "valign": "top"}),
           "when": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
           "center": wb.add_format({"align": "center"})}
    return wb, fmt


def write_report(path: Path, k: dict, details: list[dict], csat_target: float) -> None:
    def build(tmp: Path) -> None:
        wb, fmt = open_workbook(tmp)
        _summary(wb, fmt, k, csat_target)
        if not no_complaints(k):  # a month without complaints: no empty charts, the overview says so
            _distributions(wb, fmt, k)
            _trends(wb, fmt, k)
            _timeliness(wb, fmt, k)
            _satisfaction(wb, fmt, k)
            _hotspots(wb, fmt, k)
        if k.get("improvement", {}).get("actions") or not no_complaints(k):  # problems, then what is done
            _improvement(wb, fmt, k)
        if not no_complaints(k):
            _details(wb, fmt, details)
        s = _Sheet(wb, "说明", fmt)
        s.title("指标口径")
        s.table(["指标", "计算方法"], DEFINITIONS, widths=[16, 100])
        for ws in wb.worksheets():
            print_setup(ws)
        wb.close()
    atomic_write(Path(path), build)


def _summary(wb, fmt, k, target):
    s = _Sheet(wb, "概览", fmt)
    s.title(f"月度投诉分析报告 {k['month']}")
    p = k["previous"]
    lines = [("投诉总量", k["total"], p["total"], False),
             ("响应及时率", k["on_time_response_rate"], p["on_time_response_rate"], True),
             ("处理及时率", k["on_time_resolution_rate"], p["on_time_resolution_rate"], True),
             ("满意度均分(1–5)", k["satisfaction_avg"], p["satisfaction_avg"], False),
             ("CSAT(平均≥4分占比)", k["csat"], p["csat"], True),
             ("重复投诉率", k["repeat_rate"], p["repeat_rate"], True),
             ("升级率", k["escalation_rate"], p["escalation_rate"], True),
             ("首次解决率", k["first_contact_resolution_rate"], None, True), ("有效率", k["validity_rate"], None, True),
             ("平均响应时长(小时)", k["response_hours"]["avg"], None, False),
             ("P90 响应时长(小时)", k["response_hours"]["p90"], None, False),
             ("平均处理时长(小时)", k["resolve_hours"]["avg"], None, False),
             ("P90 处理时长(小时)", k["resolve_hours"]["p90"], None, False),
             ("已回访投诉", k["surveyed"], None, False), ("咨询/建议（不计入）", k["non_complaints"], None, False),
             ("疑似安全问题（安全词）", k["suspected_safety"], None, False),
             ("重新打开率", k["reopen_rate"], None, True),
             ("客户同意方案占比", k["plan_agreed_rate"], None, True),
             ("等待客户(件)", k["paused_hours"]["n"], None, False),
             ("等待客户合计(小时)", k["paused_hours"]["total"], None, False),
             ("合并的重复登记（不计入）", k["merged"], None, False)]
    answered = [c for c in k.get("campaigns", ()) if c["answered"]]
    if answered:  # the latest periodic survey beside the per-case CSAT
        lines.insert(5, (f"定期回访 CSAT（{answered[-1]['campaign']}）", answered[-1]["csat"], None, True))
    s.ws.write_string(1, 0, f"上月：{p['month']}；计入口径见“说明”表")
    if no_complaints(k):
        s.ws.write_string(s.row, 0, f"本月无投诉：{k['month']} 没有收到投诉，因此没有分布图、趋势、时效和明细。",
                          fmt["title"])
        s.row += 2
    for c, h in enumerate(["指标", "本月", "上月", "变化", "目标", "达标"]):
        s.ws.write_string(s.row, c, h, fmt["head"])
    for name, now, before, pct in lines:
        s.row += 1
        s.ws.write_string(s.row, 0, name)
        s.cell(s.row, 1, now, pct)
        s.cell(s.row, 2, before, pct)
        if now is None or before is None:
            s.cell(s.row, 3, None)
        else:  # a rate's change is in percentage points, not a percentage of it
            s.ws.write_number(s.row, 3, round((now - before) * (100 if pct else 1), 2),
                              fmt["points"] if pct else fmt["change"])
        if name.startswith("CSAT"):
            s.cell(s.row, 4, target, True)
            s.ws.write_string(s.row, 5, "—" if now is None else ("达标" if now >= target else "未达标"))
    s.ws.set_column(0, 0, 24)
    s.ws.set_column(1, 2, 12)
    s.ws.set_column(3, 3, 16)
    s.ws.set_column(4, 5, 10)


def _distributions(wb, fmt, k):
    s = _Sheet(wb, "分布", fmt)
    s.title(f"{k['month']} 投诉分布")
    for i, (key, zh) in enumerate(DIM_ZH.items()):
        items = list(k[key].items()) or [("无", 0)]
        start = s.table([zh, "数量"], items, widths=[16, 8])
        chart = _chart(wb, "pie" if key == "by_category" else "column", "分布", zh, start + 1,
                       start + len(items), f"按{zh}")
        s.ws.insert_chart(start, 3, chart)
        s.row = max(s.row, start + 14)


def _trends(wb, fmt, k):
    s = _Sheet(wb, "趋势", fmt)
    s.title("投诉趋势")
    for title, data, kind in (("每日投诉量", k["daily"], "line"), ("每周投诉量", k["weekly"], "column"),
                              ("近 12 个月投诉量", k["trend_12_months"], "column")):
        items = list(data.items()) or [("无", 0)]
        start = s.table(["期间", "数量"], items, widths=[12, 8])
        s.ws.insert_chart(start, 3, _chart(wb, kind, "趋势", title, start + 1, start + len(items), title))
        s.row = max(s.row, start + 14)


def _timeliness(wb, fmt, k):
    s = _Sheet(wb, "时效", fmt)
    s.title("各项时效及时率")
    rows = [(CLOCK_ZH[c], k[f"on_time_{c}"]["met"], k[f"on_time_{c}"]["late"], k[f"on_time_{c}"]["breached"],
             k[f"on_time_{c}"]["rate"]) for c in CLOCKS]
    s.table(["时效项", "按时完成", "超时完成", "已超时", "及时率"], rows, percent_cols=(4,),
            widths=[14, 10, 10, 10, 10])
    for key, label in (("by_department_on_time", "处理部门"), ("by_handler_on_time", "受理人")):
        rows = [(name, v["total"], *[v[c] for c in CLOCKS]) for name, v in k[key].items()]
        s.table([label, "投诉数", *[f"{CLOCK_ZH[c]}及时率" for c in CLOCKS]], rows, percent_cols=(2, 3, 4, 5, 6))


def _satisfaction(wb, fmt, k):
    s = _Sheet(wb, "满意度", fmt)
    s.title("客户满意度")
    names = {"score_efficiency": "处理效率", "score_attitude": "服务态度", "score_solution": "解决方案"}
    s.table(["项目", "平均分"], [(names[a], v) for a, v in k["aspect_avg"].items()] +
            [("综合均分", k["satisfaction_avg"]), ("已回访投诉", k["surveyed"])], widths=[16, 10])
    s.table(["CSAT", "主管回访已完成", "主管回访待完成"], [(k["csat"], k["callbacks_done"], k["callbacks_pending"])],
            percent_cols=(0,))
    if k.get("campaigns"):  # the periodic surveys beside the per-case one (seed 002)
        s.table(["定期回访活动", "发出", "回收", "回收率", "综合均分", "CSAT"],
                [(c["campaign"], c["sent"], c["answered"], c["response_rate"], c["satisfaction_avg"], c["csat"])
                 for c in k["campaigns"]] + [("本月逐案回访（对照）", k["surveyed"], k["surveyed"], None,
                                              k["satisfaction_avg"], k["csat"])],
                percent_cols=(3, 5), widths=[22, 8, 8, 10, 10, 10])
    items = [(f"{score} 分", n) for score, n in k["score_distribution"].items()]
    start = s.table(["评分", "次数"], items)
    s.ws.insert_chart(start, 3, _chart(wb, "column", "满意度", "评分", start + 1, start + len(items), "评分分布"))


def _hotspots(wb, fmt, k):
    s = _Sheet(wb, "高频问题", fmt)
    s.title("高频问题（供复盘会）")
    rows = [(h["product"], h["category"], h["count"], h["previous"], "、".join(h["examples"])) for h in k["hotspots"]]
    s.table(["产品/服务", "类别", "本月", "上月", "示例投诉编号"],
            rows or [("本月没有达到阈值的问题", "", None, None, "")],
            widths=[20, 12, 8, 8, 40], wrap_cols=(4,))


def _improvement(wb, fmt, k):
    """整改: every action of the 整改 sheet with its state, and the month's high-frequency
    problems no action answers yet (seed 004 限期整改)."""
    s = _Sheet(wb, "整改", fmt)
    s.title("整改措施与高频问题")
    data = k["improvement"]
    open_ = [(h["product"], h["category"], h["count"], "、".join(h["examples"]))
             for h in data["hotspots_without_action"]]
    s.table(["尚无整改的高频问题：产品/服务", "类别", "本月", "示例投诉编号"],
            open_ or [("本月高频问题均已有整改措施" if k["hotspots"] else "本月没有高频问题", "", None, "")],
            widths=[24, 12, 8, 40], wrap_cols=(3,))
    s.row += 2
    when = lambda iso: (iso or "").replace("T", " ")[:16]  # noqa: E731
    rows = [(a["action"], a["problem"], a["content"], a["owner"], when(a["due"]), when(a["done_at"]),
             labels.label(labels.CLOCK_STATE, a["state"])) for a in data["actions"]]
    s.table(["整改编号", "问题/来源投诉", "整改措施", "负责人", "整改期限", "完成时间", "状态"],
            rows or [("“整改”表中还没有整改措施", "", "", "", "", "", "")],
            widths=[14, 24, 36, 10, 17, 17, 10], wrap_cols=(1, 2))


TIME_COLUMNS = {"received_at", "first_response_at", "resolved_at"}


def _details(wb, fmt, details):
    """Every counted complaint: times as times (a date format, not ISO text), columns as wide as
    their content (CJK counted double), the header row frozen and printed on every page."""
    ws = wb.add_worksheet("明细")
    headers = [zh for _, zh in DETAIL_COLUMNS]
    data = [[_time(d.get(key)) if key in TIME_COLUMNS else _plain(d.get(key)) for key, _ in DETAIL_COLUMNS]
            for d in details]
    if not data:
        data = [[None] * len(headers)]
    columns = [{"header": h, **({"format": fmt["when"]} if key in TIME_COLUMNS else {})}
               for (key, _), h in zip(DETAIL_COLUMNS, headers)]
    ws.add_table(0, 0, len(data), len(headers) - 1,
                 {"data": data, "columns": columns, "name": "MonthDetails", "style": "Table Style Light 9"})
    _evidence_links(ws, [d.get("evidence") for d in details], [k for k, _ in DETAIL_COLUMNS].index("evidence"))
    for c, (key, header) in enumerate(DETAIL_COLUMNS):
        width = 17 if key in TIME_COLUMNS else max([display_width(header) + 3] +
                                                    [display_width(row[c]) for row in data[:2000]])
        ws.set_column(c, c, min(width + 1, 40))
    ws.freeze_panes(1, 1)


MAX_LINKS = 60_000  # Excel keeps 65,530 links a sheet


def _evidence_links(ws, cells: list, col: int) -> None:
    """证据链接 stays a link: the cell's first web address clickable, the text as typed."""
    from .documents import web_links
    written = 0
    for r, text in enumerate(cells, 1):
        links = web_links(text if isinstance(text, str) else "")
        if links and len(links[0]) <= 2000 and written < MAX_LINKS:
            ws.write_url(r, col, links[0], string=str(text)[:1000])
            written += 1


def _time(value):
    """A time as the report's records carry it (ISO text) -> datetime, written with a date format."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return _plain(value)


def print_setup(ws) -> None:
    """Every sheet prints on A4 landscape, all columns on one page wide, the header row repeated."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.set_footer("&C第 &P 页，共 &N 页")


def _plain(value):
    if isinstance(value, bool):
        return "是" if value else "否"
    return value
