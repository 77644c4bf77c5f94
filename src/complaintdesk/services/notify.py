"""Services — alert e-mail: one masked digest per recipient, each alert state sent once.

Recipients: the handler and cc of each alert, and the customer-service
manager(s) for escalated complaints, looked up in 人员. Outside working hours
(nights, weekends, holidays) only the clocks measured in calendar hours — the
urgent ones — and group events go out, to the supervisor on duty at that
moment (值班) and the manager(s) on escalation; the rest wait for working
hours. What was sent is kept in the hidden 通知记录 sheet, so the same clock
state is never mailed twice (to the same person).
"""
from __future__ import annotations

from datetime import datetime

from ..adapters.mailer import Mailer, mailer_for
from ..adapters.pending import Ledger
from ..adapters.store import RegisterStore
from ..domain.intake import duty_supervisor
from ..domain.jobs import in_working_hours, mailed_off_hours
from ..domain.masking import mask_name
from ..domain.parsing import is_yes, text_of
from ..domain.settings import CLOCK_LABELS
from ..errors import MailError
from .common import Summary, build_calendar, display, save
from .held import merge_ledger
from .register import ACTION_CLOCK, EVENT_CLOCK


def _recipients(alert: dict, settings, escalated: bool, on_duty: str | None = None) -> list[str]:
    names = [on_duty] if on_duty is not None else \
        text_of(alert.get("handler")).split("、") + text_of(alert.get("cc")).split("；")[0].split("、")
    if escalated:
        names += [p.name for p in settings.people("manager")]
    out = []
    for name in names:
        person = settings.person(name.strip()) if name else None
        if person and person.mail_to and person.mail_to not in out:
            out.append(person.mail_to)
    return out


def _line(alert: dict, row: dict) -> str:
    customer = mask_name(text_of(row.get("customer_name")))
    over = f"，已超时 {alert['hours_over']} 小时" if alert.get("hours_over") else ""
    due = f"，截止 {display(alert['due'])}" if alert.get("due") else ""
    return (f"- {alert['complaint_no']} [{alert.get('priority', '')}] {text_of(row.get('category'))} "
            f"客户 {customer}：{alert['clock']}{alert['state']}{due}{over}（受理人 {alert.get('handler', '')}）")


def _action_line(alert: dict) -> str:
    return (f"- 【整改】{alert['complaint_no']}（{alert.get('cc', '')}）：{alert['state']}，"
            f"期限 {display(alert['due'])}（负责人 {alert.get('handler', '')}）")


def _event_line(alert: dict) -> str:
    return (f"- 【群诉事件】{alert['complaint_no']}：{alert['state']}，已升为紧急/P0，请客服经理立即关注"
            f"（受理人 {alert.get('handler', '')}）")


def notify_alerts(store: RegisterStore, now: datetime, alerts: list[dict], mailer: Mailer | None = None,
                  digest: bool = False, ledger: Ledger | None = None) -> Summary:
    """Send new alerts (or, with digest=True, all current alerts) by e-mail.

    Each alert mailed is first written to `ledger` (durable, outside the workbook): a run that
    dies after the mail went never mails it again, and a register held open still knows what
    was sent. The records go into 通知记录 with the register's next save."""
    summary = Summary("notify")
    settings = store.settings()
    mailer = mailer or mailer_for(settings)
    if mailer is None:
        summary.data["mail_unavailable"] = ("未配置 SMTP 服务器（设置表“SMTP服务器”或环境变量 "
                                            "COMPLAINTDESK_SMTP_HOST），未发送邮件")
        summary.warnings.append(summary.data["mail_unavailable"])
        return summary
    summary.warnings += settings.email_problems()
    on_duty = None
    if not digest and not in_working_hours(now, settings, build_calendar(store)):
        alerts, on_duty = off_hours(alerts, settings, store.lang), duty_supervisor(now, settings)
        summary.data["on_duty"] = on_duty
    record: Ledger = ledger or MemoryLedger()
    sent_keys = {text_of(r.get("key")) for r in store.table("notified")} | record.keys()
    records = []
    failures = []
    for email, items in sorted(_outbox(store, settings, alerts, sent_keys, digest, on_duty).items()):
        new = [{"key": key, "time": now, "to": email} for key, _ in items if key not in sent_keys]
        record.add(new)
        try:
            mailer.send([email], *_mail(items, now, digest))
        except MailError as exc:  # known not sent: free to go out next time
            record.forget({str(r["key"]) for r in new})
            failures.append(str(exc))
            continue
        summary.add("sent")
        records += new
    if records and merge_ledger(store, records):
        save(store, summary, now)
    if failures:
        raise MailError(failures[0] + (f"（另有 {len(failures) - 1} 封失败）" if len(failures) > 1 else ""))
    return summary


def off_hours(alerts: list[dict], settings, lang: str) -> list[dict]:
    """The alerts mailed outside working hours (jobs.mailed_off_hours): clocks by their label."""
    by_label = {names[0 if lang == "zh" else 1]: key for key, names in CLOCK_LABELS.items()}
    out = []
    for alert in alerts:
        event = alert["clock"] in EVENT_CLOCK.values()
        clock = None if event else by_label.get(alert["clock"], "callback")
        if mailed_off_hours(clock, text_of(alert.get("priority")), settings):
            out.append(alert)
    return out


def _outbox(store: RegisterStore, settings, alerts: list[dict], sent_keys: set[str],
            digest: bool, on_duty: str | None = None) -> dict[str, list[tuple[str, str]]]:
    """Recipient -> (key, line) of every alert to mail them: the ones not mailed yet (every one
    for a digest); a key names the complaint, the clock, its state and the recipient."""
    rows = {text_of(r.values.get("complaint_no")): r.values for r in store.split_rows(())[0]}  # alerts: open only
    outbox: dict[str, list[tuple[str, str]]] = {}
    for alert in alerts:
        event = alert["clock"] in EVENT_CLOCK.values()
        if alert["clock"] in ACTION_CLOCK.values():  # to its owner; the cc field names the problem
            for email in _recipients(dict(alert, cc=""), settings, False):
                key = f"{alert['complaint_no']}|{alert['clock']}|{alert['state']}|{email}"
                if digest or key not in sent_keys:
                    outbox.setdefault(email, []).append((key, _action_line(alert)))
            continue
        row = rows.get(alert["complaint_no"], {})
        for email in _recipients(alert, settings, event or is_yes(row.get("escalated")), on_duty):
            # a group event is mailed once, however many complaints join it later
            key = f"{alert['complaint_no']}|{alert['clock']}|{email}" if event else \
                f"{alert['complaint_no']}|{alert['clock']}|{alert['state']}|{email}"
            if digest or key not in sent_keys:
                outbox.setdefault(email, []).append((key, _event_line(alert) if event else _line(alert, row)))
    return outbox


def _mail(items: list[tuple[str, str]], now: datetime, digest: bool) -> tuple[str, str]:
    """The subject and body of one recipient's mail."""
    title = "每日投诉预警汇总" if digest else "投诉时效预警"
    subject = f"【{title}】{len(items)} 条需要处理（{now:%Y-%m-%d %H:%M}）"
    body = "\n".join([f"您好，以下投诉需要您关注（{now:%Y-%m-%d %H:%M}）：", ""] + [line for _, line in items]
                     + ["", "请在客户投诉登记表中处理；本邮件由 complaintdesk 自动发送，客户信息已脱敏。"])
    return subject, body


class MemoryLedger:
    """The ledger of a run with no register file behind it (tests, the in-memory store)."""

    def __init__(self):
        self.kept: list[dict] = []

    def keys(self) -> set[str]:
        return {r["key"] for r in self.kept}

    def add(self, records: list[dict]) -> None:
        self.kept += records

    def forget(self, keys: set[str]) -> None:
        self.kept = [r for r in self.kept if r["key"] not in keys]
