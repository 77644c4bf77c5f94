"""Scheduler with a fake clock and e-mail through a real local SMTP server (aiosmtpd)."""
import socket
from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from complaintdesk.adapters.files import register_lock
from complaintdesk.entrypoints.scheduler import Scheduler
from tests.conftest import complaint, type_rows


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("COMPLAINTDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMPLAINTDESK_SMTP_PORT", str(port))
    monkeypatch.setenv("COMPLAINTDESK_SMTP_FROM", "desk@example.com")
    yield inbox
    controller.stop()


def overdue(register):
    type_rows(register, [complaint(received_at=datetime(2026, 10, 12, 9, 0), safety_risk="是",
                                   customer_name="欧阳娜娜", contact="13812341234")])


def test_sla_notify_sends_masked_digest_once(register, cli, smtp):
    overdue(register)
    cli("assign", register, "--now", "2026-10-12T09:05")
    out = cli("sla", register, "--notify", "--now", "2026-10-12T12:00")
    assert "邮件" in out.output
    recipients = sorted(r for rcpts, _ in smtp.messages for r in rcpts)
    assert "wang.zg@example.com" in recipients and "sun.qiang@example.com" in recipients
    _, msg = smtp.messages[0]
    body = msg.get_content()
    assert "投诉时效预警" in msg["Subject"] and "响应已超时" in body
    assert "欧阳**" in body and "13812341234" not in body and "欧阳娜娜" not in body
    count = len(smtp.messages)
    cli("sla", register, "--notify", "--now", "2026-10-12T12:30")
    assert len(smtp.messages) == count                     # same alert state: not sent again
    cli("sla", register, "--notify", "--now", "2026-10-13T12:00")
    assert len(smtp.messages) > count                      # resolution breach: escalation to the manager
    assert any("chen.jl@example.com" in r for r, _ in smtp.messages[count:])


def test_mail_failure_exit_code(register, cli, monkeypatch):
    overdue(register)
    monkeypatch.setenv("COMPLAINTDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMPLAINTDESK_SMTP_PORT", str(free_port()))  # nothing listens there
    cli("assign", register, "--now", "2026-10-12T09:05")
    out = cli("sla", register, "--notify", "--now", "2026-10-12T12:00", code=4)
    assert "邮件发送失败" in out.output


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def set_param(register, name: str, value) -> None:
    """An admin typing a value beside a 参数 of 设置."""
    from openpyxl import load_workbook
    wb = load_workbook(register)
    ws = wb["设置"]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == name:
                ws.cell(cell.row, cell.column + 1, value)
    wb.save(register)


def test_scheduler_runs_jobs_and_mails_the_monthly_report(register, smtp):
    set_param(register, "月报收件人", "boss@example.com; hq@example.com")
    overdue(register)
    clock = Clock(datetime(2026, 11, 2, 10, 0))  # Monday after the 1st: report catches up
    done = Scheduler(register, clock).tick()
    assert set(done) == {"sla", "digest", "survey_reminder", "monthly_report"}
    assert (register.parent / "月度投诉分析报告_2026-10.xlsx").exists()
    report_mail = [m for r, m in smtp.messages if "boss@example.com" in r]
    assert report_mail and report_mail[0].get_payload()[1].get_filename() == "月度投诉分析报告_2026-10.xlsx"
    clock.now += timedelta(minutes=10)
    assert Scheduler(register, clock).tick() == []           # nothing due again so soon
    clock.now += timedelta(minutes=25)
    assert Scheduler(register, clock).tick() == ["sla"]
    log = (register.parent / "complaintdesk.log").read_text(encoding="utf-8")
    assert "月度报告 完成" in log and "13812341234" not in log


def test_one_failing_job_does_not_stop_the_others(register):
    calls = []

    def broken(store, now, mailer, ledger):
        raise RuntimeError("disk full")

    def fine(name):
        def job(store, now, mailer, ledger):
            from complaintdesk.services.common import Summary
            calls.append(name)
            return Summary(name)
        return job
    jobs = {"sla": broken, "digest": fine("digest"), "survey_reminder": fine("survey"), "monthly_report": fine("r")}
    clock = Clock(datetime(2026, 11, 2, 10, 0))
    assert Scheduler(register, clock, jobs=jobs).tick() == ["digest", "survey_reminder", "monthly_report"]
    clock.now += timedelta(minutes=20)
    assert "sla" not in Scheduler(register, clock, jobs=jobs).tick()   # waits 30 minutes
    clock.now += timedelta(minutes=11)
    jobs["sla"] = fine("sla")
    assert Scheduler(register, clock, jobs=jobs).tick() == ["sla"]
    assert "时效检查 失败" in (register.parent / "complaintdesk.log").read_text(encoding="utf-8")


def test_lock_contention_skips_and_retries(register, monkeypatch):
    monkeypatch.setattr("complaintdesk.adapters.files.LOCK_TIMEOUT", 0.2)
    clock = Clock(datetime(2026, 11, 27, 10, 0))
    with register_lock(register):                            # a button click is writing
        assert Scheduler(register, clock).tick() == []
    assert "sla" in Scheduler(register, clock).tick()


def test_a_jobs_warnings_reach_the_log(register):
    """A desk run by the scheduler alone reads the log: a sheet near Excel's row limit is said there."""
    from complaintdesk.services.common import Summary
    near = "工作表“变更记录”已有 900,001 行，是 Excel 上限 1,048,576 行的 86%，到达上限后将无法保存：请尽快运行“归档”"
    jobs = {"sla": lambda store, now, mailer, ledger: Summary("sla", warnings=[near])}
    assert Scheduler(register, Clock(datetime(2026, 11, 2, 10, 0)), jobs=jobs).tick() == ["sla"]
    log = (register.parent / "complaintdesk.log").read_text(encoding="utf-8")
    assert "时效检查：" + near in log and "WARNING" in log


def set_email(register, old: str, new: str) -> None:
    from openpyxl import load_workbook
    wb = load_workbook(register)
    cell = next(c for row in wb["人员"].iter_rows() for c in row if c.value == old)
    cell.value = new
    wb.save(register)


class PickyInbox(Inbox):
    """A server that refuses one recipient (a mailbox that does not exist)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("sun.qiang"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_bad_address_in_staff_silences_no_one_else(register, cli, smtp):
    overdue(register)
    set_email(register, "wang.zg@example.com", "wang.zg@example.com\r\nBcc: all@example.com")
    cli("assign", register, "--now", "2026-10-12T09:05")
    out = cli("sla", register, "--notify", "--now", "2026-10-12T12:00").output.replace("\n", "")
    assert "邮箱“wang.zg@example.com\\r\\nBcc: all@example.com”无效" in out and "Traceback" not in out
    recipients = {r for rcpts, _ in smtp.messages for r in rcpts}
    assert "sun.qiang@example.com" in recipients and not any("wang" in r or "all@" in r for r in recipients)
    assert "wang.zg@example.com" in cli("check", register, "--now", "2026-10-12T12:00", code=1).output


def test_one_refused_recipient_gets_exit_4_and_the_others_their_mail(register, cli, monkeypatch):
    inbox = PickyInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("COMPLAINTDESK_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("COMPLAINTDESK_SMTP_PORT", str(port))
        overdue(register)
        cli("assign", register, "--now", "2026-10-12T09:05")
        out = cli("sla", register, "--notify", "--now", "2026-10-12T12:00", code=4).output
    finally:
        controller.stop()
    assert "邮件发送失败" in out and "Traceback" not in out
    delivered = {r for rcpts, _ in inbox.messages for r in rcpts}
    assert "wang.zg@example.com" in delivered and "sun.qiang@example.com" not in delivered


def test_two_schedulers_at_the_same_moment_run_each_job_once(register):
    """Two `schedule --once` started together (two PCs, a task started twice): one runs the tick,
    the other skips it and says so in the log — no job runs twice, no report is mailed twice."""
    import subprocess
    import sys
    overdue(register)
    now = "2026-12-01T08:31"  # the digest, the survey reminder and the monthly report are all due
    runs = [subprocess.Popen([sys.executable, "-m", "complaintdesk.entrypoints.cli", "schedule", str(register),
                              "--once", "--now", now], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            for _ in range(2)]
    outputs = [p.communicate(timeout=240)[0].decode("utf-8") for p in runs]
    assert all(p.returncode == 0 for p in runs), outputs
    log = (register.parent / "complaintdesk.log").read_text(encoding="utf-8")
    assert log.count("月度报告 完成") == 1 and log.count("每日预警汇总 完成") == 1, log
    assert "另一个调度器" in log or log.count("没有到期的任务") == 1  # the second skipped, or came after


def test_a_tick_while_another_scheduler_holds_it_is_skipped(register):
    from complaintdesk.adapters.files import scheduler_lock
    clock = Clock(datetime(2026, 11, 27, 10, 0))
    with scheduler_lock(register) as mine:
        assert mine
        scheduler = Scheduler(register, clock)
        assert scheduler.tick() == [] and "另一个调度器" in scheduler.report.notes[0]
    assert "sla" in Scheduler(register, clock).tick()


def test_a_national_day_p0_is_mailed_to_the_supervisor_on_duty_and_working_day_clocks_wait(register, cli, smtp):
    """Seed 000 紧急投诉需立即响应: a safety complaint at 10:00 on 10-03 is due 12:00; the tick at 15:00
    mails it to the supervisor on duty then (王主管 08-20), and at 21:00 the next clock to 刘主管 (20-08).
    A P2 plan clock (working days) breached on Sunday waits for Monday's working hours."""
    type_rows(register, [complaint(received_at=datetime(2026, 10, 3, 10, 0), safety_risk="是"),
                         complaint(received_at=datetime(2026, 10, 9, 14, 30), contact="13900001111",
                                   first_response_at=datetime(2026, 10, 9, 15, 0),
                                   last_update_at=datetime(2026, 10, 11, 14, 0))])
    cli("assign", register, "--now", "2026-10-03T10:05")
    clock = Clock(datetime(2026, 10, 3, 15, 0))
    assert "sla" in Scheduler(register, clock).tick()
    assert [sorted(r) for r, _ in smtp.messages] == [["wang.zg@example.com"]]
    body = smtp.messages[0][1].get_content()
    assert "响应已超时" in body and "[P0]" in body and "方案" in body
    clock.now = datetime(2026, 10, 3, 21, 0)
    Scheduler(register, clock).tick()
    assert [sorted(r) for r, _ in smtp.messages[1:]] == [["liu.zg@example.com"]]   # the night shift
    sent = len(smtp.messages)
    clock.now = datetime(2026, 10, 11, 15, 0)   # Sunday: the P2's plan clock is breached, not mailed
    Scheduler(register, clock).tick()
    assert not any("20261009" in m.get_content() for _, m in smtp.messages[sent:])
    clock.now = datetime(2026, 10, 12, 9, 30)   # Monday morning: it goes to its handler
    Scheduler(register, clock).tick()
    monday = [m.get_content() for _, m in smtp.messages[sent:]]
    assert any("20261009" in body and "方案已超时" in body for body in monday)


def test_the_scheduler_acknowledges_new_complaints_once_when_switched_on(register, cli, smtp):
    """Seed 001 立即致歉、告知已受理: e-mail contacts get a mail, phones a line in 短信待发送.csv; each
    is logged in 沟通记录 and never sent twice; an older complaint is not acknowledged."""
    from openpyxl import load_workbook
    set_param(register, "自动发送受理回复", "是")
    type_rows(register, [complaint(received_at=datetime(2026, 10, 12, 9, 0), contact="ke.hu@example.com",
                                   customer_name="柯女士"),
                         complaint(received_at=datetime(2026, 10, 12, 9, 10), contact="13912345678"),
                         complaint(received_at=datetime(2026, 10, 5, 9, 0), contact="13800000000")])
    cli("assign", register, "--now", "2026-10-12T09:15")
    clock = Clock(datetime(2026, 10, 12, 9, 20))
    assert "ack" in Scheduler(register, clock).tick()
    to_customer = [m for r, m in smtp.messages if r == ["ke.hu@example.com"]]
    assert len(to_customer) == 1 and "您的投诉已受理" in to_customer[0]["Subject"]
    assert "柯女士" in to_customer[0].get_content() and "20261012-CS-001" in to_customer[0].get_content()
    outbox = (register.parent / "短信待发送.csv").read_text(encoding="utf-8-sig").splitlines()
    assert outbox[0].startswith("投诉编号,手机号") and len(outbox) == 2 and "13912345678" in outbox[1]
    comms = list(load_workbook(register)["沟通记录"].iter_rows(min_row=2, values_only=True))
    assert sorted((c[0], c[2]) for c in comms) == [("20261012-CS-001", "邮件"), ("20261012-CS-002", "短信（待发送）")]
    clock.now += timedelta(minutes=40)
    Scheduler(register, clock).tick()
    assert len([m for r, m in smtp.messages if r == ["ke.hu@example.com"]]) == 1
    assert len((register.parent / "短信待发送.csv").read_text(encoding="utf-8-sig").splitlines()) == 2
