"""Shared fixtures: real registers built by the CLI, rows typed in as staff would, the CLI runner."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from complaintdesk.domain.schema import BY_KEY
from complaintdesk.domain.settings import default_settings
from complaintdesk.entrypoints.cli import app

NOW = datetime(2026, 10, 12, 10, 0)
# a test running this long is named as it ends, so a quiet line of dots says what is running
SLOW_SECONDS = float(os.environ.get("COMPLAINTDESK_SLOW_TEST_SECONDS", 15))
_config = None


def pytest_configure(config):
    global _config
    _config = config


def pytest_runtest_logreport(report):
    """Name a slow test when it ends (with xdist the controller hears every worker's reports)."""
    if report.when == "call" and report.duration >= SLOW_SECONDS and _config is not None:
        terminal = _config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(f"\n  ⏱ {report.duration:.0f} s  {report.nodeid}")


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL `proc` if it still runs `seconds` from now; True when it was killed. A process that
    ends sooner is not waited for the rest of the time."""
    try:
        proc.wait(timeout=seconds)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


@pytest.fixture
def settings():
    return default_settings()


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args, code=0):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result
    return invoke


@pytest.fixture
def register(tmp_path, cli) -> Path:
    path = tmp_path / "登记表.xlsx"
    cli("init", path)
    return path


def type_rows(path: Path, rows: list[dict], lang: str = "zh") -> None:
    """Type rows into the register the way staff do: by header, below the last row."""
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    headers = {cell.value: cell.column for cell in ws[1]}
    r = ws.max_row
    while r > 1 and all(c.value in (None, "") for c in ws[r]):
        r -= 1
    for row in rows:
        r += 1
        for key, value in row.items():
            ws.cell(r, headers[BY_KEY[key].label(lang)], value)
    wb.save(path)


def read_rows(path: Path) -> list[dict]:
    """Register rows by field key."""
    from complaintdesk.domain.schema import header_lookup, normalise_header
    wb = load_workbook(path, read_only=True)  # streamed: a large register in a fraction of the time
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # every row the sheet holds, whatever its <dimension> claims
        rows = ws.iter_rows(values_only=True)
        lookup = header_lookup()
        keys = [lookup.get(normalise_header(v)) for v in next(rows, ())]
        width = len(keys)  # a streamed row ends at its last cell: every column is given, as in full mode
        return [{k: v for k, v in zip(keys, values + (None,) * (width - len(values))) if k} for values in rows
                if any(v not in (None, "") for v in values)]
    finally:
        wb.close()


def complaint(**overrides) -> dict:
    row = {"received_at": datetime(2026, 10, 9, 14, 30), "channel": "电话", "request_type": "投诉",
           "customer_name": "张伟", "contact": "13812341234", "member_level": "普通会员",
           "product": "智能电饭煲", "description": "内胆涂层脱落", "demand": "换新",
           "emotion": "平静", "category": "产品质量", "safety_risk": "否", "dept_code": "CS",
           "recorded_by": "李客服"}
    row.update(overrides)
    return row


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    """LibreOffice for 'open it as a spreadsheet would'; CI must have it."""
    exe = soffice()
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required in CI (.ci/run installs libreoffice-calc-nogui)")
        pytest.skip("LibreOffice (soffice) is not installed on this machine")
    return exe


def convert(path: Path, fmt: str, outdir: Path) -> Path:
    exe = require_soffice()
    profile = outdir / "lo-profile"
    if fmt == "csv":  # UTF-8, comma, double quotes, formulas shown as their text results
        fmt = 'csv:Text - txt - csv (StarCalc):44,34,76,1'
    subprocess.run([exe, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", fmt,
                    "--outdir", str(outdir), str(path)], check=True, capture_output=True, timeout=180)
    target = outdir / (path.stem + "." + fmt.split(":")[0])
    assert target.exists(), f"LibreOffice did not produce {target}"
    return target
