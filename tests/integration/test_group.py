"""The group store on SQLite and on a real PostgreSQL server: branches publish (masked, idempotent,
one transaction each, several at once), the group report equals each branch's own report, the
spot-check sample is reproducible, and bad input is a Chinese message with exit 2, nothing written.

PostgreSQL: `.ci/run` starts a throw-away cluster (scripts/pg_throwaway.sh) and sets
COMPLAINTDESK_TEST_PG_URL; each test gets a database of its own.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from typer.testing import CliRunner

from complaintdesk.entrypoints.cli import app
from complaintdesk.services.demo import write_sample_csv
from complaintdesk.services.sample_data import sample_complaints
from tests.conftest import complaint, read_rows, type_rows

NOW = "2026-11-03T10:00"
MONTH = "2026-10"
PG_ADMIN = os.environ.get("COMPLAINTDESK_TEST_PG_URL")
SHARED_PHONE = "13912345678"  # one customer who complained to two branches in October
BRANCHES = {"华东呼叫中心": 11, "华南客服中心": 22, "华北项目公司": 33}


def invoke(*args, code: int | None = 0):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert code is None or result.exit_code == code, result.output
    return result


def cli_json(*args):
    return json.loads(invoke(*args).stdout)


def need_pg() -> str:
    if not PG_ADMIN:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is required in CI (.ci/run starts it and sets COMPLAINTDESK_TEST_PG_URL)")
        pytest.skip("no PostgreSQL server: run `eval \"$(bash scripts/pg_throwaway.sh start)\"` first")
    return PG_ADMIN


def fresh_pg():
    """A new empty database on the test server; dropped afterwards."""
    admin_url = sa.engine.make_url(need_pg())
    name = "cd_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def group_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/集团汇总.db"
    else:
        yield from fresh_pg()


@pytest.fixture
def pg_url():
    yield from fresh_pg()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Three branch registers (sample complaints, different seeds), numbered and refreshed once."""
    folder = tmp_path_factory.mktemp("branches")
    out = {}
    for name, seed in BRANCHES.items():
        path = folder / f"{name}.xlsx"
        rows = sample_complaints(40, datetime(2026, 11, 3, 10), seed=seed)
        for row in rows:  # member ids of one branch's own system
            row["customer_id"] = f"{name[:2]}{row['customer_id']}" if row["customer_id"] else ""
        if seed != 33:
            rows.append(complaint(received_at=datetime(2026, 10, 20, 10 + seed // 11), contact=SHARED_PHONE,
                                  customer_name="欧阳娜娜", product=f"门店{seed}"))
        source = folder / f"{name}.csv"
        write_sample_csv(source, rows)
        invoke("init", path)
        invoke("import", path, source, "--now", NOW)
        invoke("assign", path, "--now", NOW)
        invoke("sla", path, "--now", NOW)
        out[name] = path
    return out


@pytest.fixture
def registers(built, tmp_path) -> dict[str, Path]:
    """Copies of the three registers for one test."""
    out = {}
    for name, path in built.items():
        (tmp_path / name).mkdir()
        out[name] = Path(shutil.copy(path, tmp_path / name / path.name))
    return out


def publish_all(url, registers):
    for name, path in registers.items():
        invoke("publish", path, "--to", url, "--branch", name, "--now", NOW)


def table_rows(url) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM complaints ORDER BY branch, complaint_no")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_group_report_equals_each_branch_report_on_sqlite_and_postgresql(registers, tmp_path, pg_url):
    sqlite_url = f"sqlite:///{tmp_path}/集团汇总.db"
    reports = []
    for url in (sqlite_url, pg_url):
        invoke("group", "init", url)
        publish_all(url, registers)
        reports.append(cli_json("group", "report", url, "--month", MONTH, "--json"))
    on_sqlite, on_pg = reports
    for data in reports:  # a customer's key is salted per store: equal within a store, not across two
        data["shared_customers"] = [dict(c, customer=None) for c in data["shared_customers"]]
    assert on_sqlite == on_pg
    assert list(on_sqlite["branches"]) == sorted(BRANCHES)
    for name, path in registers.items():
        own = branch_kpis(path, MONTH)
        assert on_sqlite["branches"][name] == own, name
        assert own["total"] > 5
    # a month after the data: no complaints, the month before as its comparison (stored or computed)
    later = cli_json("group", "report", pg_url, "--month", "2026-12", "--json")["branches"]
    for name, path in registers.items():
        assert later[name] == branch_kpis(path, "2026-12"), name
    ranked = on_sqlite["ranking"]
    assert [r["rank"] for r in ranked] == [1, 2, 3] and all(r["light"] in ("红", "黄", "绿") for r in ranked)
    shared = on_sqlite["shared_customers"]
    assert len(shared) == 1 and shared[0]["branches"] == ["华东呼叫中心", "华南客服中心"]
    assert SHARED_PHONE not in json.dumps(on_sqlite, ensure_ascii=False)
    out = tmp_path / "集团.xlsx"
    invoke("group", "report", sqlite_url, "--month", MONTH, "--out", out)
    wb = load_workbook(out)
    assert wb.sheetnames == ["概览", "分支对比", "高频问题", "跨分支客户", "群诉事件", "集团案例库", "说明"]
    assert [c.value for c in wb["分支对比"][3]][1:] == list(on_sqlite["branches"])


def branch_kpis(path, month):
    """A branch's own report figures — without its 整改 and 回访活动 parts, which stay with the branch."""
    own = cli_json("report", path, "--month", month, "--json", "--now", NOW)
    own.pop("improvement")
    own.pop("campaigns")
    return own


def test_republish_changes_nothing_a_changed_row_updates_an_archived_one_stays(registers, group_url):
    invoke("group", "init", group_url)
    publish_all(group_url, registers)
    before = table_rows(group_url)
    path = registers["华东呼叫中心"]
    out = invoke("publish", path, "--to", group_url, "--branch", "华东呼叫中心", "--now", "2026-11-04T10:00").output
    assert "没有变化" in out and table_rows(group_url) == before  # the same file: known by its bytes
    load_workbook(path).save(path)  # saved again, nothing changed: other bytes, the same complaints
    out = invoke("publish", path, "--to", group_url, "--branch", "华东呼叫中心", "--now", "2026-11-04T10:30").output
    published = sum(1 for r in before if r[0] == "华东呼叫中心")
    assert f"未变 {published}" in out and "新增" not in out and "更新" not in out and table_rows(group_url) == before
    wb = load_workbook(path)  # staff record a survey score on one complaint
    ws = wb.worksheets[0]
    head = {c.value: c.column for c in ws[1]}
    ws.cell(2, head["备注"], "客户来电补充说明")
    number = ws.cell(2, head["投诉编号"]).value
    wb.save(path)
    out = invoke("publish", path, "--to", group_url, "--branch", "华东呼叫中心", "--now", "2026-11-04T11:00").output
    assert "更新的已有投诉 1" in out
    after = {(r[0], r[1]): r for r in table_rows(group_url)}
    changed = [k for k, r in after.items() if r != {(b[0], b[1]): b for b in before}[k]]
    assert changed == [("华东呼叫中心", number)]
    invoke("archive", path, "--older-than", "0", "--now", "2026-12-25T10:00")
    assert len(read_rows(path)) < 40
    invoke("publish", path, "--to", group_url, "--branch", "华东呼叫中心", "--now", "2026-12-25T11:00")
    kept = table_rows(group_url)
    assert len(kept) == len(before)  # archived complaints stay, now marked archived
    assert sum(1 for r in kept if r[0] == "华东呼叫中心" and r[13]) > 0


def _count(url) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT COUNT(*) FROM complaints")).scalar()
    engine.dispose()
    return n


def test_bad_input_is_a_clear_message_exit_2_and_nothing_written(registers, group_url, tmp_path):
    east, south = registers["华东呼叫中心"], registers["华南客服中心"]
    out = invoke("publish", east, "--to", group_url, "--branch", "华东呼叫中心", code=2).output
    assert "尚未初始化" in out and "group init" in out
    invoke("group", "init", group_url)
    invoke("publish", east, "--to", group_url, "--branch", "华东呼叫中心", "--now", NOW)
    stored = _count(group_url)
    # another register under a branch name already taken
    out = invoke("publish", south, "--to", group_url, "--branch", "华东呼叫中心", "--now", NOW, code=2).output
    assert "已被另一登记表使用" in out and _count(group_url) == stored
    out = invoke("publish", east, "--to", group_url, "--branch", " 华东呼叫中心 ", "--now", NOW).output
    assert "没有变化" in out  # spaces around a name are no other branch
    out = invoke("publish", south, "--to", group_url, "--branch", "华东 呼叫中心", "--now", NOW, code=2).output
    assert "只差空格或大小写" in out and _count(group_url) == stored
    # a register with one number twice
    wb = load_workbook(south)
    ws = wb.worksheets[0]
    ws.cell(3, 1, ws.cell(2, 1).value)
    wb.save(south)
    out = invoke("publish", south, "--to", group_url, "--branch", "华南客服中心", "--now", NOW, code=2).output
    assert "投诉编号重复" in out and "未上报任何数据" in out and _count(group_url) == stored
    # a store of a newer schema version
    engine = sa.create_engine(group_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'g999'"))
    engine.dispose()
    out = invoke("publish", east, "--to", group_url, "--branch", "华东呼叫中心", code=2).output
    assert "比本程序新" in out and "未写入任何数据" in out
    out = invoke("group", "init", group_url, code=2).output
    assert "比本程序新" in out
    out = invoke("group", "report", "mysql+nosuchdriver://x@y/z", code=2).output
    assert "不支持的数据库类型" in out or "无法识别" in out
    out = invoke("group", "report", f"sqlite:///{tmp_path}/没有的文件夹/集团.db", code=2).output
    assert "不存在" in out


def test_unreachable_server_and_wrong_password(registers, pg_url):
    url = sa.engine.make_url(pg_url)
    wrong = url.set(password="not-the-password").render_as_string(hide_password=False)
    out = invoke("publish", registers["华东呼叫中心"], "--to", wrong, "--branch", "华东", code=2).output
    assert "用户名或密码不对" in out and "not-the-password" not in out and "***" in out
    closed = url.set(port=1).render_as_string(hide_password=False)
    out = invoke("group", "init", closed, code=2).output
    assert "无法连接集团数据库" in out and "cd-test-pw" not in out


def _cli_process(*args) -> subprocess.Popen:
    code = "from complaintdesk.entrypoints.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, COLUMNS="200"))


def test_branches_publishing_at_once_neither_block_nor_lose_anything(registers, group_url):
    invoke("group", "init", group_url)
    east = registers["华东呼叫中心"]
    runs = [_cli_process("publish", path, "--to", group_url, "--branch", name, "--now", NOW)
            for name, path in registers.items()]
    runs.append(_cli_process("publish", east, "--to", group_url, "--branch", "华东呼叫中心", "--now", NOW))
    outputs = [p.communicate(timeout=240)[0] for p in runs]
    assert [p.returncode for p in runs] == [0] * 4, outputs
    one_by_one = [invoke("publish", path, "--to", group_url, "--branch", name, "--now", NOW).output
                  for name, path in registers.items()]
    assert all("没有变化" in out for out in one_by_one)
    expected = sum(len([r for r in read_rows(p) if r.get("complaint_no")]) for p in registers.values())
    assert _count(group_url) == expected


def test_spot_check_sample_is_reproducible_and_masked(registers, group_url, tmp_path):
    invoke("group", "init", group_url)
    publish_all(group_url, registers)
    first = cli_json("group", "sample", group_url, "--month", MONTH, "--n", "8", "--seed", "42", "--json")
    again = cli_json("group", "sample", group_url, "--month", MONTH, "--n", "8", "--seed", "42", "--json")
    other = cli_json("group", "sample", group_url, "--month", MONTH, "--n", "8", "--seed", "7", "--json")
    keys = [(r["branch"], r["complaint_no"]) for r in first["rows"]]
    assert len(keys) == 8 and keys == [(r["branch"], r["complaint_no"]) for r in again["rows"]]
    assert keys != [(r["branch"], r["complaint_no"]) for r in other["rows"]]
    assert all(r["complaint_no"].startswith("2026") for r in first["rows"])
    assert all("****" in (r["contact"] or "****") for r in first["rows"])
    out = tmp_path / "抽查.xlsx"
    invoke("group", "sample", group_url, "--month", MONTH, "--n", "8", "--seed", "42", "--out", out)
    ws = load_workbook(out)["督导抽查"]
    assert ws.max_row == 3 + 8 and ws["U3"].value == "抽查结论"
    assert [ws.cell(r, 2).value for r in range(4, 12)] == [n for _, n in keys]


def test_six_complaints_about_one_product_in_three_hours_make_one_group_event(register, tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller

    from tests.integration.test_scheduler_and_mail import Inbox, free_port
    rows = [complaint(received_at=datetime(2026, 10, 8, 9, 0) + (i * (datetime(2026, 10, 8, 9, 35)
                      - datetime(2026, 10, 8, 9, 0))), contact=f"1390000000{i}", customer_name=f"客户{i}",
                      product="电热水壶 K1") for i in range(6)]
    rows[3]["is_valid"] = "无效"
    type_rows(register, rows)
    invoke("assign", register, "--now", "2026-10-08T12:10")
    marked = [r for r in read_rows(register) if r.get("group_event")]
    assert len(marked) == 5 and {r["group_event"] for r in marked} == {"QS-20261008-01"}
    assert all(r["priority"] == "P0" and r["urgency"] == "紧急" and r["escalated"] == "是" for r in marked)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("COMPLAINTDESK_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("COMPLAINTDESK_SMTP_PORT", str(port))
    try:
        invoke("sla", register, "--notify", "--now", "2026-10-08T12:15")
        invoke("sla", register, "--notify", "--now", "2026-10-08T12:45")
    finally:
        controller.stop()
    alerts = load_workbook(register)["预警"]
    event_lines = [row for row in alerts.iter_rows(values_only=True) if row[1] == "群诉事件"]
    assert len(event_lines) == 1 and event_lines[0][0] == "QS-20261008-01"
    assert all(r["complaint_no"] in event_lines[0][2] for r in marked)
    event_mail = [(to, msg) for to, msg in inbox.messages if "【群诉事件】" in msg.get_content()]
    to_manager = [to for to, _ in event_mail if "chen.jl@example.com" in to]
    assert len(to_manager) == 1


def _set_param(register: Path, label: str, value) -> None:
    """Type a value beside a 设置 parameter's label, as an administrator does."""
    wb = load_workbook(register)
    ws = wb["设置"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == label)
    ws.cell(cell.row, cell.column + 1, value)
    wb.save(register)


def test_the_scheduler_publishes_daily_for_a_register_that_names_its_branch(registers, tmp_path, monkeypatch):
    from complaintdesk.entrypoints.scheduler import Scheduler
    url = f"sqlite:///{tmp_path}/集团汇总.db"
    invoke("group", "init", url)
    path = registers["华北项目公司"]
    monkeypatch.setenv("COMPLAINTDESK_GROUP_URL", url)
    assert "publish" not in Scheduler(path, lambda: datetime(2026, 11, 3, 22, 30), live=None).tick()
    _set_param(path, "分支机构名称", "华北项目公司")
    assert "publish" in Scheduler(path, lambda: datetime(2026, 11, 3, 22, 30), live=None).tick()
    assert _count(url) == len([r for r in read_rows(path) if r.get("complaint_no")])
    assert "publish" not in Scheduler(path, lambda: datetime(2026, 11, 3, 23, 0), live=None).tick()
    assert "publish" in Scheduler(path, lambda: datetime(2026, 12, 1, 0, 10), live=None).tick()
    log = (path.parent / "complaintdesk.log").read_text(encoding="utf-8")
    assert "上报集团 完成" in log


def test_a_register_made_before_the_column_still_gets_urgent_group_complaints(register):
    wb = load_workbook(register)  # as an earlier version made it: no 群诉编号 column
    ws = wb.worksheets[0]
    cell = next(c for c in ws[1] if c.value == "群诉编号")
    cell.value = "内部备注2"
    ws.tables["ComplaintRegister"].tableColumns[cell.column - 1].name = "内部备注2"
    wb.save(register)
    type_rows(register, [complaint(received_at=datetime(2026, 10, 8, 9, 10 * i), contact=f"1380000000{i}")
                         for i in range(5)])
    out = invoke("assign", register, "--now", "2026-10-08T12:00").output
    assert "群诉事件 QS-20261008-01：5 起" in out
    assert all(r["priority"] == "P0" for r in read_rows(register))
    check = invoke("check", register, "--now", "2026-10-08T12:00", code=None).output
    assert "登记表没有“群诉编号”列" in check
