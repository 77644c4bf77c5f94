"""Adapter — the group's workbooks (xlsxwriter): 集团月度投诉分析 and the 督导抽查 sample.

Same conventions as the branch report (report_writer): strings always as text, rates as %, "—"
for an empty denominator, A4 print set-up, atomic save.
"""
from __future__ import annotations

from pathlib import Path

from .files import atomic_write
from .report_writer import _Sheet, open_workbook, print_setup

LIGHT_COLOURS = {"绿": "#C6EFCE", "黄": "#FFEB9C", "红": "#FFC7CE"}
SIDE_BY_SIDE = (  # (label, getter, percent)
    ("计入投诉", lambda k: k["total"], False),
    ("响应及时率", lambda k: k["on_time_response_rate"], True),
    ("处理及时率", lambda k: k["on_time_resolution_rate"], True),
    ("方案及时率", lambda k: k["on_time_plan"]["rate"], True),
    ("满意度均分(1–5)", lambda k: k["satisfaction_avg"], False),
    ("CSAT(平均≥4分占比)", lambda k: k["csat"], True),
    ("重复投诉率", lambda k: k["repeat_rate"], True),
    ("升级率", lambda k: k["escalation_rate"], True),
    ("首次解决率", lambda k: k["first_contact_resolution_rate"], True),
    ("有效率", lambda k: k["validity_rate"], True),
    ("平均响应时长(小时)", lambda k: k["response_hours"]["avg"], False),
    ("P90 响应时长(小时)", lambda k: k["response_hours"]["p90"], False),
    ("平均处理时长(小时)", lambda k: k["resolve_hours"]["avg"], False),
    ("已回访投诉", lambda k: k["surveyed"], False),
    ("上月计入投诉", lambda k: k["previous"]["total"], False),
)
NOTES = (
    ("口径", "每个分支机构的指标与其自己的月度报告（complaintdesk report）相同："
           "计入投诉、及时率、CSAT 等定义见月度报告“说明”表。"),
    ("红绿灯", "两个目标都达到为绿、达到一个为黄、都未达到为红：CSAT ≥ 分支设置表“满意度目标”，"
            "平均首次响应时长 ≤ “平均响应时长目标(小时)”。"),
    ("排名", "先按达到的目标数，再按 CSAT（高在前）、平均响应时长（短在前）。"),
    ("高频问题", "全集团本月同一“产品/服务 × 类别”的计入投诉达到各分支高频问题阈值中最大者的组合。"),
    ("跨分支客户", "本月在两个及以上分支机构投诉的客户；客户以加盐散列标识，集团看不到姓名和电话。"),
    ("群诉事件", "各分支按设置表的群诉规则识别；列出本月开始或尚未全部关闭的事件。"),
    ("隐私", "上报集团的数据中，姓名、电话、客户ID 与自由文本均已脱敏。"),
)


def _save(path: Path, fill) -> None:
    def build(tmp: Path) -> None:
        wb, fmt = open_workbook(tmp)
        fill(wb, fmt)
        for ws in wb.worksheets():
            print_setup(ws)
        wb.close()
    atomic_write(Path(path), build)


def write_group_report(path: Path, data: dict) -> None:
    def fill(wb, fmt):
        _overview(wb, fmt, data)
        _side_by_side(wb, fmt, data)
        s = _Sheet(wb, "高频问题", fmt)
        s.title(f"全集团高频问题（阈值 {data['hotspot_threshold']}）")
        s.table(["产品/服务", "类别", "本月", "上月", "涉及分支", "示例编号"],
                [(h["product"], h["category"], h["count"], h["previous"], "、".join(h["branches"]),
                  "、".join(h["examples"])) for h in data["hotspots"]], wrap_cols=(4, 5), widths=[22, 12, 8, 8, 30, 40])
        s = _Sheet(wb, "跨分支客户", fmt)
        total, listed = data["shared_customers_total"], len(data["shared_customers"])
        more = f"，列出投诉最多的 {listed} 位" if total > listed else ""
        s.title(f"本月在多个分支机构投诉的客户（共 {total} 位{more}）")
        s.table(["客户标识", "分支机构", "投诉数", "类别", "投诉编号"],
                [(c["customer"], "、".join(c["branches"]), c["complaints"], "、".join(c["categories"]),
                  "、".join(c["numbers"])) for c in data["shared_customers"]],
                wrap_cols=(1, 4), widths=[16, 30, 8, 20, 50])
        s = _Sheet(wb, "群诉事件", fmt)
        s.title("群诉事件")
        s.table(["分支机构", "群诉编号", "首起接收", "投诉数", "类别", "产品/服务", "状态", "投诉编号"],
                [(e["branch"], e["event"], e["first_received"], e["complaints"], e["category"], e["product"],
                  e["status"], "、".join(e["numbers"])) for e in data["group_events"]],
                wrap_cols=(7,), widths=[16, 16, 18, 8, 12, 20, 22, 50])
        s = _Sheet(wb, "集团案例库", fmt)
        listed = f"，列出前 {len(data['cases'])} 件" if data["cases_total"] > len(data["cases"]) else ""
        s.title(f"集团案例库 · 本月新增 {data['cases_total']} 件{listed}（各分支标记“入案例库”的投诉，已脱敏）")
        s.table(["分支机构", "投诉编号", "类别", "产品/服务", "问题描述", "处理措施", "解决方式", "责任方",
                 "评分(效率/态度/方案)"],
                [(c["branch"], c["complaint_no"], c["category"], c["product"], c["description"], c["plan_measures"],
                  c["resolution_type"], c["responsibility"],
                  "/".join(str(c[k]) if c[k] is not None else "-" for k in ("score_efficiency", "score_attitude",
                                                                             "score_solution")))
                 for c in data["cases"]], wrap_cols=(4, 5), widths=[16, 20, 12, 18, 40, 30, 12, 10, 12])
        s = _Sheet(wb, "说明", fmt)
        s.title("说明")
        s.table(["项目", "说明"], NOTES, widths=[14, 100], wrap_cols=(1,))
    _save(path, fill)


def _overview(wb, fmt, data: dict) -> None:
    s = _Sheet(wb, "概览", fmt)
    s.title(f"集团月度投诉分析 {data['month']}")
    if not data["ranking"]:
        s.ws.write_string(s.row, 0, "集团数据库中还没有分支机构上报。")
        return
    headers = ["排名", "分支机构", "红绿灯", "计入投诉", "CSAT", "CSAT目标", "满意度均分", "平均响应(小时)",
               "响应目标(小时)", "响应及时率", "处理及时率", "重复投诉率", "升级率"]
    keys = ("rank", "branch", "light", "total", "csat", "csat_target", "satisfaction_avg", "response_hours_avg",
            "response_hours_target", "on_time_response_rate", "on_time_resolution_rate", "repeat_rate",
            "escalation_rate")
    percent = {4, 5, 9, 10, 11, 12}
    start = s.table(headers, [[r[k] for k in keys] for r in data["ranking"]], percent_cols=percent)
    for i, r in enumerate(data["ranking"], start + 1):
        colour = LIGHT_COLOURS.get(r["light"])
        if colour:
            s.ws.write_string(i, 2, r["light"], wb.add_format({"bg_color": colour, "align": "center", "bold": True}))
    chart = wb.add_chart({"type": "column"})
    last = start + len(data["ranking"])
    chart.add_series({"name": "计入投诉", "categories": ["概览", start + 1, 1, last, 1],
                      "values": ["概览", start + 1, 3, last, 3], "data_labels": {"value": True}})
    chart.set_title({"name": "各分支计入投诉", "name_font": {"name": "Microsoft YaHei", "size": 11}})
    chart.set_legend({"none": True})
    s.ws.insert_chart(s.row, 0, chart)


def _side_by_side(wb, fmt, data: dict) -> None:
    s = _Sheet(wb, "分支对比", fmt)
    s.title("各分支机构指标对比（与各自月度报告同口径）")
    names = list(data["branches"])
    rows = [[label] + [get(data["branches"][n]) for n in names] for label, get, _ in SIDE_BY_SIDE]
    start = s.table(["指标", *names], [], widths=[22] + [14] * len(names))
    for i, (row, (_, _, pct)) in enumerate(zip(rows, SIDE_BY_SIDE), start + 1):
        s.ws.write_string(i, 0, row[0])
        for c, value in enumerate(row[1:], 1):
            s.cell(i, c, value, pct)


SAMPLE_HEADERS = (("branch", "分支机构"), ("complaint_no", "投诉编号"), ("received_at", "接收时间"),
                  ("channel", "渠道"), ("category", "类别"), ("product", "产品/服务"), ("priority", "优先级"),
                  ("department", "处理部门"), ("handler", "受理人"), ("status", "状态"),
                  ("response_status", "响应时效"), ("resolve_status", "处理时效"), ("score_efficiency", "效率"),
                  ("score_attitude", "态度"), ("score_solution", "方案"), ("resolution_type", "解决方式"),
                  ("description", "问题描述"), ("plan_measures", "处理措施"), ("customer_name", "客户"),
                  ("contact", "联系方式"))
REVIEW_HEADERS = ("抽查结论", "发现的问题", "整改要求", "抽查人", "抽查日期")


def write_sample(path: Path, sample: dict) -> None:
    def fill(wb, fmt):
        s = _Sheet(wb, "督导抽查", fmt)
        s.title(f"督导抽查 {sample['month']}（随机种子 {sample['seed']}，共 {sample['population']} 件中抽 "
                f"{len(sample['rows'])} 件）")
        headers = [h for _, h in SAMPLE_HEADERS] + list(REVIEW_HEADERS)
        rows = [[(r.get(k) or "").replace("T", " ")[:16] if k == "received_at" else r.get(k)
                 for k, _ in SAMPLE_HEADERS] + [""] * len(REVIEW_HEADERS) for r in sample["rows"]]
        start = s.table(headers, rows, wrap_cols=(16, 17), widths=[14, 18, 16, 9, 10, 16, 7, 10, 9, 9, 9, 9, 6, 6, 6,
                                                                     10, 36, 28, 8, 14, 10, 24, 24, 9, 11])
        if rows:
            verdict = len(SAMPLE_HEADERS)
            s.ws.data_validation(start + 1, verdict, start + len(rows), verdict,
                                 {"validate": "list", "source": ["合格", "基本合格", "不合格"]})
        s.ws.freeze_panes(start + 1, 2)
    _save(path, fill)
