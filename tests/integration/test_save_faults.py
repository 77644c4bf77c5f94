"""Saves under faults: a full disk, a broken backup, leftovers of a killed save, a shared file's mode.
Each case ends in a Chinese message and exit 2, with the register as it was."""
from __future__ import annotations

import errno
import os
import shutil
import stat
import time

import pytest
from openpyxl import Workbook

from complaintdesk.adapters import backups
from complaintdesk.adapters.backups import list_backups
from tests.conftest import complaint, read_rows, type_rows

NOW = "2026-10-12T10:00"


@pytest.fixture
def typed(register):
    type_rows(register, [complaint(), complaint(contact="13900000000")])
    return register


def test_too_little_free_space_is_refused_before_anything_is_written(typed, cli, monkeypatch):
    before = typed.read_bytes()
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(10 << 30, 10 << 30, 1 << 20))
    out = cli("assign", typed, "--now", NOW, code=2).output
    assert "磁盘空间不足" in out and "Traceback" not in out
    assert typed.read_bytes() == before and list_backups(typed) == []


def test_a_disk_that_fills_up_during_the_save_leaves_the_register_whole(typed, cli, monkeypatch):
    before = typed.read_bytes()
    real_save = Workbook.save

    def full_disk(self, filename):
        real_save(self, filename)
        with open(filename, "r+b") as handle:
            handle.truncate(100)
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Workbook, "save", full_disk)
    out = cli("assign", typed, "--now", NOW, code=2).output.replace("\n", "")
    assert "无法保存“登记表.xlsx”：磁盘空间不足；原文件未改动" in out
    assert typed.read_bytes() == before
    assert [p for p in typed.parent.iterdir() if p.name.startswith(".~tmp-")] == []
    assert all(p.stat().st_size == len(before) for p in list_backups(typed))  # only whole backups


def test_a_backup_that_does_not_read_back_stops_the_save(typed, cli, monkeypatch):
    before = typed.read_bytes()
    monkeypatch.setattr(backups.shutil, "copyfile", lambda src, dst: open(dst, "wb").close())  # 0 bytes
    out = cli("assign", typed, "--now", NOW, code=2).output
    assert "不完整" in out and typed.read_bytes() == before and list_backups(typed) == []


def test_restore_refuses_a_broken_backup(typed, cli):
    cli("assign", typed, "--now", NOW)
    good = list_backups(typed)
    broken = good[0].with_name(good[0].name.replace(".2", ".3", 1))  # newer than every good one
    broken.write_bytes(b"")
    listing = cli("restore", typed, "--list").output.replace("\n", "")
    assert f"1. {broken.name}" in listing and "不能恢复" in listing
    before = typed.read_bytes()
    out = cli("restore", typed, "--backup", "1", code=2).output
    assert "不完整" in out or "已损坏" in out
    assert typed.read_bytes() == before
    cli("restore", typed, "--backup", "2")
    assert read_rows(typed)[0]["customer_name"] == "张伟"


def test_leftovers_of_a_killed_save_are_removed_by_the_next_run(typed, cli):
    own = typed.parent / ".~tmp-登记表-abcd1234.xlsx"
    stale = typed.parent / ".~tmp-月度报告-xyz98765.xlsx"
    fresh = typed.parent / ".~tmp-月度报告-fresh123.xlsx"
    in_bak = typed.parent / ".bak" / ".~tmp-登记表.20261012-x-qwer5678.xlsx"
    in_bak.parent.mkdir()
    for path in (own, stale, fresh, in_bak):
        path.write_bytes(b"PK personal data")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    os.utime(in_bak, (two_hours_ago, two_hours_ago))
    cli("assign", typed, "--now", NOW)
    assert not own.exists() and not stale.exists() and not in_bak.exists()
    assert fresh.exists()  # another file's save may still be writing it


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_shared_register_keeps_its_mode(typed, cli):
    os.chmod(typed, 0o664)
    cli("assign", typed, "--now", NOW)
    assert stat.S_IMODE(typed.stat().st_mode) == 0o664
    report = typed.parent / "月报.xlsx"
    cli("report", typed, "--month", "2026-10", "--out", report, "--now", NOW)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(report.stat().st_mode) == 0o666 & ~umask  # a new file: as the umask says, not 0600
