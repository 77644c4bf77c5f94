"""The register open in Excel all day: reads use the saved version, alerts go out, writes wait.

Owner files are written with the bytes Excel writes (a user name in ANSI and UTF-16); mail goes
through a real local SMTP server (aiosmtpd); both file stores run the same story.
"""
import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook

from complaintdesk.adapters.holder import excel_owner_bytes, holder_of
from complaintdesk.entrypoints.scheduler import Scheduler
from tests.conftest import complaint, kill_after, read_rows, type_rows
from tests.integration.test_scheduler_and_mail import smtp  # noqa: F401  (fixture)

EXE = [sys.executable, "-m", "complaintdesk.entrypoints.cli"]


def hold(register, user="王芳"):
    owner = register.parent / ("~$" + register.name)
    owner.write_bytes(excel_owner_bytes(user))
    return owner


def overdue_register(register, cli, n=3):
    type_rows(register, [complaint(received_at=datetime(2026, 10, 12, 8, 0) + timedelta(minutes=10 * i),
                                   safety_risk="是", contact=f"1381234{i:04d}", customer_name="欧阳娜娜")
                         for i in range(n)])
    cli("assign", register, "--now", "2026-10-12T08:30")
    return [r["complaint_no"] for r in read_rows(register)]


def alert_keys(inbox):
    """(recipient, alert line) of every immediate alert mailed (the daily digest repeats by design)."""
    out = []
    for rcpts, msg in inbox.messages:
        if "投诉时效预警" not in msg["Subject"]:
            continue
        for line in msg.get_content().splitlines():
            if line.startswith("- "):
                out.append((tuple(rcpts), line.split("，截止")[0]))
    return out


def sheet(register, name):
    return list(load_workbook(register)[name].iter_rows(min_row=2, values_only=True))


def test_owner_files_name_their_user(tmp_path):
    register = tmp_path / "客户投诉登记表.xlsx"
    register.write_bytes(b"")
    assert holder_of(register) is None
    owner = tmp_path / "~$投诉登记表.xlsx"         # Excel's short form for a long name
    owner.write_bytes(excel_owner_bytes("王芳"))
    held = holder_of(register)
    assert held.user == "王芳" and held.program == "Excel/WPS" and "王芳 在 Excel/WPS 中打开" in held.describe()
    owner.unlink()
    (tmp_path / ".~lock.客户投诉登记表.xlsx#").write_text(",zhangwei,PC-07,03.12.2026 09:12,file:///home;")
    assert holder_of(register).user == "zhangwei" and holder_of(register).program == "LibreOffice"


@pytest.mark.parametrize("listing, program", [
    (b'"excel.exe","4312","console","1","250,000 k"', "Excel"),
    (b'"et.exe","5120","console","1","180,000 k"', "WPS"),
    (b"/opt/kingsoft/wps-office/office6/et /home/wf/\xe7\x99\xbb.xlsx", "WPS"),
    (b'"excel.exe","1"\n"et.exe","2"', "Excel/WPS"),   # both run here: cannot tell which
    (b"bash\npython3", "Excel/WPS"),                    # neither here: opened on another PC
    (None, "Excel/WPS"),                                 # processes cannot be listed
])
def test_an_owner_file_names_excel_or_wps_when_it_can_be_told(tmp_path, monkeypatch, listing, program):
    from complaintdesk.adapters import holder as holder_module
    monkeypatch.setattr(holder_module, "_process_listing", lambda: listing)
    register = tmp_path / "登记表.xlsx"
    register.write_bytes(b"")
    (tmp_path / "~$登记表.xlsx").write_bytes(excel_owner_bytes("王芳"))
    held = holder_of(register)
    assert held.program == program and f"王芳 在 {program} 中打开" in held.describe()


def test_this_machine_s_processes_can_be_listed():
    from complaintdesk.adapters.holder import running_programs
    assert running_programs() is not None  # /proc here; tasklist on Windows


@pytest.mark.parametrize("store", ["openpyxl", "fast"])
def test_a_working_day_with_the_register_open(register, cli, smtp, monkeypatch, store):  # noqa: F811
    monkeypatch.setenv("COMPLAINTDESK_STORE", store)
    numbers = overdue_register(register, cli)
    owner = hold(register)
    before = register.read_bytes()

    # reading while held: the saved version, said so, exit 0, the file untouched
    out = cli("find", register, numbers[0])
    assert numbers[0] in out.output and "王芳 在 Excel/WPS 中打开" in out.output and "保存的版本" in out.output
    exported = cli("export", register).stdout
    assert [r["complaint_no"] for r in json.loads(exported)] == numbers
    cli("report", register, "--month", "2026-10", "--now", "2026-10-12T12:00")
    cli("check", register, "--now", "2026-10-12T12:00")

    # the scheduler in working hours: alerts mailed from the saved version, once
    out = cli("schedule", register, "--once", "--now", "2026-10-12T12:00")
    assert "时效检查" in out.output and "没有到期的任务" not in out.output and "王芳" in out.output
    mailed = alert_keys(smtp)
    assert mailed and len(mailed) == len(set(mailed))
    assert any(numbers[0] in line and "响应已超时" in line for _, line in mailed)
    out = cli("schedule", register, "--once", "--now", "2026-10-12T12:31")
    assert alert_keys(smtp) == mailed                                  # nothing mailed twice

    # a supervisor logs a call from another PC: accepted, shown by find/export, not written
    out = cli("log", register, numbers[1], "--content", "客户来电询问进度", "--now", "2026-10-12T12:40")
    assert "已排队" in out.output
    shown = {r["complaint_no"]: r for r in json.loads(cli("export", register).stdout)}
    assert shown[numbers[1]]["last_update_at"] == "2026-10-12T12:40:00"
    assert register.read_bytes() == before
    log = (register.parent / "complaintdesk.log").read_text(encoding="utf-8")
    assert "王芳 在 Excel/WPS 中打开" in log and "待登记表关闭后写入" in log

    # Excel closes: the next scheduler run writes everything, once, and mails nothing again
    owner.unlink()
    out = cli("schedule", register, "--once", "--now", "2026-10-12T12:45")
    assert "已写入登记表打开期间排队的 1 项更改" in out.output
    assert alert_keys(smtp) == mailed
    comms = [r for r in sheet(register, "沟通记录") if r[0]]
    assert [(r[0], r[4]) for r in comms] == [(numbers[1], "客户来电询问进度")]
    rows = {r["complaint_no"]: r for r in read_rows(register)}
    assert rows[numbers[1]]["last_update_at"] == datetime(2026, 10, 12, 12, 40)
    assert rows[numbers[0]]["response_status"] == "已超时"
    assert sheet(register, "预警") and len(sheet(register, "通知记录")) == len(mailed)
    applied = [r for r in sheet(register, "变更记录") if r[3] == "待写入更改"]
    assert len(applied) == 1 and "12:40 提交" in applied[0][4] and "12:45 写入" in applied[0][5]
    assert not (register.parent / f".{register.name}.notified.jsonl").exists()
    cli("schedule", register, "--once", "--now", "2026-10-12T13:20")
    assert len([r for r in sheet(register, "沟通记录") if r[0]]) == 1 and alert_keys(smtp) == mailed


def test_queued_changes_whose_row_went_are_reported(register, cli):
    numbers = overdue_register(register, cli, 1)
    owner = hold(register)
    cli("log", register, numbers[0], "--content", "已回电", "--now", "2026-10-12T09:00")
    owner.unlink()
    wb = load_workbook(register)   # meanwhile someone deleted the row in Excel
    wb.worksheets[0].delete_rows(2)
    wb.save(register)
    out = cli("assign", register, "--now", "2026-10-12T09:30")
    assert "无法写入" in out.output and numbers[0] in out.output
    folder = register.parent / f".{register.name}.pending"
    assert len(list((folder / "failed").glob("*.json"))) == 1 and not list(folder.glob("*.json"))
    assert "无法写入的排队更改" in cli("check", register, "--now", "2026-10-12T09:30").output


def test_restore_waits_for_the_file(register, cli):
    overdue_register(register, cli, 1)
    hold(register)
    out = cli("restore", register, "--backup", "1", code=3)
    assert "替换整个登记表文件" in out.output


def test_schedule_honours_complaintdesk_now(register, cli, monkeypatch):
    overdue_register(register, cli, 1)
    monkeypatch.setenv("COMPLAINTDESK_NOW", "2026-10-12T12:00")
    cli("schedule", register, "--once")
    state = json.loads((register.parent / f".{register.name}.schedule.json").read_text(encoding="utf-8"))
    assert state["sla"]["last_run"] == "2026-10-12T12:00:00"


class BusyOnce:
    """Excel's COM answer while a cell is in edit mode: rejected, then fine."""

    def __init__(self, saved):
        self.calls, self._saved = 0, saved

    @property
    def Saved(self):  # noqa: N802 (Excel's name)
        self.calls += 1
        if self.calls == 1:
            raise OSError("Call was rejected by callee")
        return self._saved


def test_scheduler_writes_through_excel_on_this_pc(register, cli, monkeypatch):
    """On the PC where the register is open, the scheduler writes through that Excel — only when the
    book has no unsaved typing — retrying while Excel is busy, never taking focus."""
    from tests.fakebook import FakeBook
    monkeypatch.setattr("complaintdesk.adapters.live_excel.BUSY_WAIT", 0)
    numbers = overdue_register(register, cli, 1)
    hold(register)
    book = FakeBook(register)
    book.api = BusyOnce(saved=False)                       # a person is typing: not ours to save
    clock = lambda: datetime(2026, 10, 12, 12, 0)         # noqa: E731
    scheduler = Scheduler(register, clock, live=lambda path: book)
    assert "sla" in scheduler.tick()
    assert book.writes == 0 and "sla" in scheduler.report.deferred
    book.api = BusyOnce(saved=True)
    clock = lambda: datetime(2026, 10, 12, 12, 31)        # noqa: E731
    scheduler = Scheduler(register, clock, live=lambda path: book)
    assert "sla" in scheduler.tick()
    assert book.writes > 0 and book.activated is None and scheduler.report.deferred == []
    rows = {r["complaint_no"]: r for r in read_rows(register)}   # FakeBook.save wrote the file
    assert rows[numbers[0]]["response_status"] == "已超时"


def test_sigkill_never_mails_twice_nor_loses_a_queued_change(register, cli, smtp):  # noqa: F811
    numbers = overdue_register(register, cli, 4)
    rng = random.Random(11)
    accepted, started = [], []
    owner = register.parent / ("~$" + register.name)
    now = datetime(2026, 10, 12, 9, 0)
    kills = 0
    for i in range(24):
        if rng.random() < 0.6:
            owner.write_bytes(excel_owner_bytes("王芳"))
        else:
            owner.unlink(missing_ok=True)
        now += timedelta(minutes=40)
        if now.hour >= 18:
            now = now.replace(hour=9) + timedelta(days=1)
        if i % 2:
            text = f"第{i}次回电"
            args = ["log", str(register), numbers[i % len(numbers)], "--content", text]
            started.append(text)
        else:
            text, args = None, ["schedule", str(register), "--once"]
        proc = subprocess.Popen(EXE + args + ["--now", now.isoformat()], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        kills += kill_after(proc, rng.uniform(0.2, 2.2))
        if proc.wait() == 0 and text:
            accepted.append(text)
        mailed = alert_keys(smtp)
        assert len(mailed) == len(set(mailed)), "an alert was mailed twice"
    owner.unlink(missing_ok=True)
    cli("schedule", register, "--once", "--now", (now + timedelta(minutes=40)).isoformat())
    cli("sla", register, "--now", (now + timedelta(minutes=41)).isoformat())
    logged = [r[4] for r in sheet(register, "沟通记录") if r[0]]
    assert kills >= 4
    assert all(logged.count(t) == 1 for t in accepted), (accepted, logged)
    assert all(logged.count(t) <= 1 for t in started)
    assert not list((register.parent / f".{register.name}.pending").glob("*.json"))
    mailed = alert_keys(smtp)
    assert mailed and len(mailed) == len(set(mailed))


def test_a_run_dying_after_the_save_does_not_apply_twice(register, cli, monkeypatch):
    """The narrow window SIGKILL seldom hits: the register saved with the queued change, the entry
    not yet removed. The next run finds the change's audit line and only removes the entry."""
    from complaintdesk.adapters.pending import PendingQueue
    numbers = overdue_register(register, cli, 1)
    owner = hold(register)
    cli("log", register, numbers[0], "--content", "已回电", "--now", "2026-10-12T09:00")
    owner.unlink()

    def die(self, entry):
        raise KeyboardInterrupt("killed after the save")
    monkeypatch.setattr(PendingQueue, "remove", die)
    cli("assign", register, "--now", "2026-10-12T09:30", code=130)  # (the runner's exit for an interrupt)
    monkeypatch.undo()
    assert [r[4] for r in sheet(register, "沟通记录") if r[0]] == ["已回电"]      # saved, entry still queued
    cli("assign", register, "--now", "2026-10-12T09:40")
    assert [r[4] for r in sheet(register, "沟通记录") if r[0]] == ["已回电"]
    assert not list((register.parent / f".{register.name}.pending").glob("*.json"))


def test_a_lock_left_by_a_libreoffice_that_is_gone_blocks_nothing(register, cli, monkeypatch):
    """A killed LibreOffice on this PC leaves .~lock.<name># behind: the register is free, check says so."""
    import socket

    from complaintdesk.adapters import holder as holder_module
    type_rows(register, [complaint()])
    lock = register.parent / f".~lock.{register.name}#"
    lock.write_text(f",zhangwei,{socket.gethostname()},03.12.2026 09:12,file:///home/zw/.config/libreoffice/4;")
    monkeypatch.setattr(holder_module, "_libreoffice_running", lambda: False)
    out = cli("assign", register, "--now", "2026-10-12T09:05").output
    assert "新编号 1" in out and "排队" not in out  # written at once, not queued behind a ghost
    notes = cli("check", register, "--now", "2026-10-12T09:10").output.replace("\n", "")
    assert "LibreOffice（zhangwei）退出时未删除的打开标记" in notes
    monkeypatch.setattr(holder_module, "_libreoffice_running", lambda: True)  # it runs: the lock holds
    assert "排队" in cli("log", register, "20261009-CS-001", "--content", "回电", "--now", "2026-10-12T09:20").output


def test_an_owner_file_much_older_than_the_last_save_is_reported(register, cli):
    """Another PC's Excel cannot be asked: an owner file 30 hours older than the last save is named by
    check, with what to do; the register stays held until a person decides."""
    type_rows(register, [complaint()])
    owner = hold(register)
    old = register.stat().st_mtime - 30 * 3600
    os.utime(owner, (old, old))
    notes = cli("check", register, "--now", "2026-10-12T09:10").output.replace("\n", "")
    assert "早 30 小时" in notes and f"请删除“{owner.name}”" in notes
