"""Services — the scheduler's jobs: SLA check + alerts, daily digest, survey reminder, monthly report."""
from __future__ import annotations

from datetime import datetime

from ..adapters.mailer import Mailer, mailer_for
from ..adapters.pending import AlertLedger
from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.jobs import report_month
from ..domain.parsing import parse_bool, text_of
from ..domain.settings import split_addresses
from ..domain.transitions import DONE_CODES
from ..errors import MailError
from .common import Summary
from .group_publish import publish_job
from .notify import notify_alerts
from .register import alert_rows, check_sla
from .replies import auto_ack
from .report import monthly_report


def sla_job(store: RegisterStore, now: datetime, mailer: Mailer | None = None,
            ledger: AlertLedger | None = None) -> Summary:
    summary = check_sla(store, now)
    if mailer or mailer_for(store.settings()):
        sent = notify_alerts(store, now, summary.data["alerts"], mailer, ledger=ledger)
        summary.add("sent", sent.counts.get("sent", 0))
    return summary


def digest_job(store: RegisterStore, now: datetime, mailer: Mailer | None = None,
               ledger: AlertLedger | None = None) -> Summary:
    return notify_alerts(store, now, alert_rows(store, now), mailer, digest=True, ledger=ledger)


def survey_reminder_job(store: RegisterStore, now: datetime, mailer: Mailer | None = None,
                        ledger: AlertLedger | None = None) -> Summary:
    """Tell each handler which confirmed complaints still wait for their satisfaction survey."""
    summary = Summary("survey_reminder")
    settings = store.settings()
    mailer = mailer or mailer_for(settings)
    waiting: dict[str, list[str]] = {}
    for row in store.split_rows(())[0]:  # closed complaints wait for nothing
        v = row.values
        status = labels.to_code(labels.STATUS, v.get("status"))
        if v.get("confirmed_at") and not v.get("survey_sent_at") and status not in DONE_CODES \
                and parse_bool(v.get("customer_agrees"))[0] is not False:
            due = v.get("survey_due")
            waiting.setdefault(text_of(v.get("handler")), []).append(
                f"- {text_of(v.get('complaint_no'))}（回访截止 {text_of(due)}）")
    summary.add("surveys", sum(len(v) for v in waiting.values()))
    if not mailer:
        return summary
    failures = []
    for handler, lines in sorted(waiting.items()):
        person = settings.person(handler)
        if person and person.mail_to:
            try:
                mailer.send([person.mail_to], f"【满意度回访提醒】{len(lines)} 个投诉待发送调查表",
                            "以下投诉客户已确认结果，请在 3 个工作日内发送《客户投诉满意度调查表》"
                            "（complaintdesk docs --all-due --kind survey）：\n\n" + "\n".join(lines))
            except MailError as exc:  # one recipient's failure stops no other
                failures.append(str(exc))
                continue
            summary.add("sent")
    if failures:
        raise MailError(failures[0] + (f"（另有 {len(failures) - 1} 封失败）" if len(failures) > 1 else ""))
    return summary


def monthly_report_job(store: RegisterStore, now: datetime, mailer: Mailer | None = None,
                       ledger: AlertLedger | None = None) -> Summary:
    """Produce last month's report and mail it to the report recipients in 设置."""
    month = report_month(now)
    summary = monthly_report(store, now, month)
    settings = store.settings()
    recipients, refused = split_addresses(text_of(settings.param("report_recipients")))
    summary.warnings += [f"设置表“月报收件人”中的“{a[:60]}”不是有效邮箱，未发送给它" for a in refused]
    mailer = mailer or mailer_for(settings)
    if recipients and mailer:
        k = summary.data["kpis"]
        pct = lambda v: "—" if v is None else f"{v:.1%}"  # noqa: E731
        body = (f"各位领导：\n\n附件为 {month} 月度投诉分析报告。\n"
                f"计入投诉 {k['total']} 件；响应及时率 {pct(k['on_time_response_rate'])}；"
                f"处理及时率 {pct(k['on_time_resolution_rate'])}；CSAT {pct(k['csat'])}；"
                f"重复投诉率 {pct(k['repeat_rate'])}。\n\n本邮件由 complaintdesk 自动发送。")
        mailer.send(recipients, f"【月度投诉分析报告】{month}", body, summary.files)
        summary.add("sent")
    elif not recipients:
        summary.warnings.append("设置表“月报收件人”为空，报告未发送")
    return summary


def ack_job(store: RegisterStore, now: datetime, mailer: Mailer | None = None,
            ledger: AlertLedger | None = None) -> Summary:
    return auto_ack(store, now, mailer or mailer_for(store.settings()))


JOB_FUNCTIONS = {"sla": sla_job, "ack": ack_job, "digest": digest_job, "survey_reminder": survey_reminder_job,
                 "monthly_report": monthly_report_job, "publish": publish_job}
JOB_TITLES = {"sla": "时效检查", "ack": "受理回复", "digest": "每日预警汇总", "survey_reminder": "回访提醒",
              "monthly_report": "月度报告", "publish": "上报集团"}
