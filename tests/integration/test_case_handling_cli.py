"""Case handling on real files through the CLI: a reassigned case and the 工作量 sheet, an approval
without authority, a pause, a reopened case, a merged duplicate — and an older register without
the new columns still working."""
from datetime import datetime

from openpyxl import load_workbook

from complaintdesk.domain.schema import BY_KEY
from tests.conftest import complaint, read_rows, type_rows


def edit(path, number, **values):
    """Staff typing into the row of `number` (by header)."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    headers = {cell.value: cell.column for cell in ws[1]}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, headers["投诉编号"]).value == number)
    for key, value in values.items():
        ws.cell(row, headers[BY_KEY[key].zh], value)
    wb.save(path)


def by_number(path):
    return {r["complaint_no"]: r for r in read_rows(path)}


def sheet(path, name):
    return list(load_workbook(path)[name].iter_rows(values_only=True))


def test_reassignment_wins_is_audited_and_counted_in_the_workload_sheet(register, cli):
    type_rows(register, [complaint(), complaint(contact="13900000002", category="物流履约"),
                         complaint(contact="13900000003", safety_risk="是")])
    cli("assign", register, "--now", "2026-10-09T15:00")
    numbers = sorted(by_number(register))
    edit(register, numbers[0], assignee="李客服", assignee_dept="QA")
    cli("sla", register, "--now", "2026-10-09T16:00")
    rows = by_number(register)
    assert rows[numbers[0]]["handler"] == "李客服" and rows[numbers[0]]["department"] == "质量部"
    assert rows[numbers[0]]["assignee"] == "李客服"                     # the staff cell as typed
    assert rows[numbers[1]]["handler"] == "王主管"
    audit = [a for a in sheet(register, "变更记录") if a[2] == numbers[0] and a[3] == "受理人"]
    assert audit and audit[-1][4:] == ("王主管", "李客服")
    work = {r[0]: r for r in sheet(register, "工作量")[1:]}
    assert work["王主管"][2:6] == (1, 0, 1, 2) and work["李客服"][5] == 1   # P0, P1, P2, total
    assert work["王主管"][9] == numbers[2]                           # the P0's response is due first
    cli("sla", register, "--now", "2026-10-09T16:00")                 # again: nothing changes
    assert sheet(register, "工作量")[1:] == list(work.values())


def test_an_approval_without_authority_is_said_and_keeps_the_plan_clock_running(register, cli):
    plan = dict(first_response_at=datetime(2026, 10, 9, 15), plan_measures="上门更换", cost=3000,
                plan_deadline=datetime(2026, 10, 12, 12), approved_by="刘主管")
    type_rows(register, [complaint(**plan)])
    out = cli("assign", register, "--now", "2026-10-09T16:00").output.replace("\n", "")
    number = next(iter(by_number(register)))
    assert "审批人“刘主管”（客服主管）的审批上限为 1,000 元" in out
    row = by_number(register)[number]
    assert row["plan_made_at"] == datetime(2026, 10, 9, 16) and not row.get("approved_at")   # stamped once
    edit(register, number, approved_by="陈经理")
    cli("sla", register, "--now", "2026-10-09T17:00")
    row = by_number(register)[number]
    assert row["approved_at"] == datetime(2026, 10, 9, 17) and row["plan_status"] == "按时完成"
    assert row["plan_made_at"] == datetime(2026, 10, 9, 16)             # never moved by a later run


def test_a_pause_a_reopen_and_a_merge_on_one_register(register, cli):
    done = dict(first_response_at=datetime(2026, 10, 9, 15), plan_measures="换新",
                plan_deadline=datetime(2026, 10, 10, 12), resolved_at=datetime(2026, 10, 10, 10),
                customer_agrees="是", confirmed_at=datetime(2026, 10, 10, 16))
    type_rows(register, [complaint(safety_risk="是", first_response_at=datetime(2026, 10, 9, 15)),
                         complaint(contact="13900000002", **done),
                         complaint(contact="13900000003", received_at=datetime(2026, 10, 9, 14, 50))])
    cli("assign", register, "--now", "2026-10-09T15:30")
    paused, reopened, twin = sorted(by_number(register))
    edit(register, paused, paused_from=datetime(2026, 10, 9, 16), paused_until=datetime(2026, 10, 9, 22))
    edit(register, reopened, reopened_at=datetime(2026, 10, 12, 9))
    cli("sla", register, "--now", "2026-10-12T10:00")
    rows = by_number(register)
    assert rows[paused]["resolve_due"] == datetime(2026, 10, 10, 20, 30)  # 24 h + 6 h waited
    assert rows[reopened]["status"] == "处理中" and rows[reopened]["resolve_due"] == datetime(2026, 10, 21, 9)
    out = cli("merge", register, twin.lower(), "--into", paused, "--now", "2026-10-12T10:05").output
    assert "合并完成" in out and "合并的重复登记 1" in out
    row = by_number(register)[twin]
    assert row["merged_into"] == paused and row["status"] == "已合并" and row["sla_status"] == "不适用"
    out = cli("merge", register, twin, "--into", paused, "--now", "2026-10-12T10:06").output
    assert "已填写合并到" in out
    cli("merge", register, paused, "--into", "20990101-CS-001", code=2)
    report = cli("report", register, "--month", "2026-10", "--json", "--now", "2026-11-02T09:00").output
    assert '"total": 2' in report and '"merged": 1' in report and '"reopen_rate": 0.5' in report


def test_a_register_made_before_the_new_columns_still_works(register, cli):
    """Older registers lack 处理人 … 重新打开时间 and the 审批权限 block: every command still runs,
    the plan clock keeps its first-sight verdict and `check` names the columns to add."""
    wb = load_workbook(register)
    ws = wb.worksheets[0]
    for name in ("重新打开时间", "等待客户结束", "等待客户开始", "客户同意方案时间", "审批时间", "方案制定时间",
                 "转派部门", "处理人", "合并到"):
        col = next(c.column for c in ws[1] if c.value == name)
        ws.delete_cols(col)
    table = ws.tables["ComplaintRegister"]
    last = ws.cell(1, ws.max_column).column_letter
    table.ref = f"A1:{last}2"
    table.tableColumns = table.tableColumns[:ws.max_column]
    for i, column in enumerate(table.tableColumns, 1):
        column.name = str(ws.cell(1, i).value)
    settings = wb["设置"]
    for row in settings.iter_rows():
        for cell in row:
            if cell.value == "审批权限":
                for r in range(1, 10):
                    for c in range(cell.column, cell.column + 3):
                        settings.cell(r, c).value = None
    wb.save(register)
    type_rows(register, [complaint(first_response_at=datetime(2026, 10, 9, 15), plan_measures="换新",
                                   plan_deadline=datetime(2026, 10, 12, 12), cost=1500, approved_by="陈经理")])
    cli("assign", register, "--now", "2026-10-09T16:00")
    cli("sla", register, "--now", "2026-10-15T16:00")
    row = next(iter(by_number(register).values()))
    assert row["plan_status"] == "按时完成" and row["approval_required"] == "是"
    out = cli("check", register, "--now", "2026-10-15T16:00").output.replace("\n", "")
    assert "处理人" in out and "合并到" in out


def test_evidence_stays_a_link_and_the_plan_prints_the_cause_analysis(register, cli, tmp_path):
    import zipfile
    type_rows(register, [complaint(evidence="https://rec.example.com/call-0931.mp3、javascript:alert(1)",
                                   cause_analysis="同批次内胆涂层附着力不足", plan_measures="整批召回检测",
                                   remarks="客户情绪平稳", plan_deadline=datetime(2026, 10, 12, 12),
                                   first_response_at=datetime(2026, 10, 9, 15))])
    cli("assign", register, "--now", "2026-10-09T16:00")
    number = next(iter(by_number(register)))
    out = tmp_path / "docs"
    cli("docs", register, number, "--out", out, "--now", "2026-10-09T16:00")
    cli("docs", register, number, "--out", out, "--format", "docx", "--now", "2026-10-09T16:00")
    html = (out / f"{number}_投诉任务分配记录表.html").read_text(encoding="utf-8")
    assert '<a href="https://rec.example.com/call-0931.mp3">' in html and 'href="javascript' not in html
    plan = (out / f"{number}_投诉处理方案表.html").read_text(encoding="utf-8")
    assert "同批次内胆涂层附着力不足" in plan and "客户情绪平稳" not in plan   # 原因分析 is the cause, not 备注
    with zipfile.ZipFile(out / f"{number}_投诉任务分配记录表.docx") as z:
        rels = z.read("word/_rels/document.xml.rels").decode("utf-8")
        body = z.read("word/document.xml").decode("utf-8")
    assert 'Target="https://rec.example.com/call-0931.mp3" TargetMode="External"' in rels
    assert "<w:hyperlink" in body and "javascript" not in rels
    cli("report", register, "--month", "2026-10", "--now", "2026-11-02T09:00")
    details = load_workbook(register.parent / "月度投诉分析报告_2026-10.xlsx")["明细"]
    head = [c.value for c in details[1]]
    cell = details.cell(2, head.index("证据链接") + 1)
    assert cell.hyperlink.target == "https://rec.example.com/call-0931.mp3" and "javascript" in cell.value


def test_improvement_actions_alert_and_the_report_lists_problems_without_one(register, cli):
    type_rows(register, [complaint(received_at=datetime(2026, 10, d, 10), contact=f"1390000000{d}",
                                   product=product, category="产品质量")
                         for d in (8, 9, 12) for product in ("智能电饭煲", "无线吸尘器")])
    cli("assign", register, "--now", "2026-10-13T09:00")
    wb = load_workbook(register)
    ws = wb["整改"]
    ws.append(["ZG-01", "", "智能电饭煲 × 产品质量", "更换涂层供应商", "孙强", datetime(2026, 11, 3, 18), None])
    ws.append(["ZG-02", "", "门店导购", "服务培训", "赵敏", datetime(2026, 10, 30, 18), datetime(2026, 10, 29)])
    wb.save(register)
    cli("sla", register, "--now", "2026-11-02T09:00")
    alerts = [r for r in sheet(register, "预警")[1:] if r[1] == "整改"]
    assert [(a[0], a[2], a[6]) for a in alerts] == [("ZG-01", "即将超时", "孙强")]
    out = cli("report", register, "--month", "2026-10", "--now", "2026-11-02T09:00").output.replace("\n", "")
    assert "以下高频问题尚无整改措施" in out and "无线吸尘器 × 产品质量" in out and "智能电饭煲 ×" not in out
    rows = sheet(register.parent / "月度投诉分析报告_2026-10.xlsx", "整改")
    flat = [v for r in rows for v in r if v]
    assert "无线吸尘器" in flat and "ZG-01" in flat and "按时完成" in flat and "更换涂层供应商" in flat


def test_a_survey_campaign_draws_customers_writes_forms_and_takes_answers(register, cli, tmp_path):
    done = dict(first_response_at=datetime(2026, 6, 1, 10), plan_measures="换新", plan_deadline=datetime(2026, 6, 2),
                resolved_at=datetime(2026, 6, 2, 10), customer_agrees="是", confirmed_at=datetime(2026, 6, 2, 12),
                survey_sent_at=datetime(2026, 6, 2, 13), score_efficiency=5, score_attitude=5, score_solution=5)
    type_rows(register, [complaint(received_at=datetime(2026, 6, 1, 9), contact=f"1390000{i:04d}",
                                   customer_name=f"客户{i}", **done) for i in range(12)]
              + [complaint(received_at=datetime(2026, 6, 1, 9), contact="13600000000")])   # still open
    cli("assign", register, "--now", "2026-06-10T09:00")
    cli("archive", register, "--older-than", "1", "--now", "2026-06-20T09:00")   # half of them archived
    args = ("survey-campaign", register, "--from", "2026-05-01", "--to", "2026/6/30", "--sample", "5",
            "--seed", "9", "--name", "2026上半年", "--out", tmp_path / "forms", "--now", "2026-07-01T09:00")
    out = cli(*args).output.replace("\n", "")
    assert "12 位客户中抽取 5 位" in out
    forms = sorted((tmp_path / "forms").glob("*.html"))
    assert len(forms) == 5 and "2026上半年" in forms[0].read_text(encoding="utf-8")
    tracked = sheet(register, "回访活动")[1:]
    assert len(tracked) == 5 and {r[0] for r in tracked} == {"2026上半年"}
    cli(*args, code=2)                                                              # drawn once
    answers = tmp_path / "answers.csv"
    answers.write_text("回访活动,投诉编号,处理效率,服务态度,解决方案,意见\n"
                       f"2026上半年,{tracked[0][1]},5,4,5,很好\n2026上半年,{tracked[1][1]},3,2,3,一般\n"
                       "2026上半年,20990101-CS-001,5,5,5,不存在\n", encoding="utf-8")
    out = cli("surveys", "import", register, answers, "--now", "2026-07-05T09:00").output
    assert "没有投诉编号“20990101-CS-001”" in out
    rows = {r[1]: r for r in sheet(register, "回访活动")[1:]}
    assert rows[tracked[0][1]][5:9] == (5, 4, 5, "很好") and rows[tracked[2][1]][5] is None
    report = cli("report", register, "--month", "2026-06", "--json", "--now", "2026-07-06T09:00").output
    assert '"campaign": "2026上半年"' in report and '"answered": 2' in report and '"csat": 0.5' in report
