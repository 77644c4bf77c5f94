"""Entry point — the scheduler: runs due jobs against one register with the `schedule` library.

`Scheduler.tick()` asks the pure planner (domain.jobs) what is due, runs each
job in its own session, isolates failures, and keeps its state in a JSON file
beside the register. While the register is held open (the normal state of an
office day) the jobs read the last saved version and mail from it; what they
would write waits (the job is `deferred`) and is written at the first tick the
file is free — or at once through Excel when it is open on this PC without
unsaved typing. `run_forever` ticks every minute; `--once` ticks once (for
cron or Windows Task Scheduler).
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import time as _time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

import schedule

from ..adapters.files import atomic_write, scheduler_lock
from ..adapters.holder import holder_of
from ..adapters.live_excel import ExcelBusy, clean_book, find_open_book
from ..adapters.mailer import Mailer
from ..domain.jobs import RETRY_AFTER_FAILURE, RETRY_AFTER_LOCKED, WRITES_REGISTER, JobState, due_jobs, job_key
from ..errors import WorkbookLockedError
from ..services.common import build_calendar
from ..services.held import Session, open_live_session, open_session
from ..services.scheduled import JOB_FUNCTIONS, JOB_TITLES


def state_path(register: Path) -> Path:
    return register.parent / f".{register.name}.schedule.json"


def make_logger(register: Path) -> logging.Logger:
    logger = logging.getLogger(f"complaintdesk.scheduler.{register}")
    if not logger.handlers:
        logger.setLevel(logging.INFO)
        handler = logging.handlers.RotatingFileHandler(register.parent / "complaintdesk.log",
                                                       maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        logger.addHandler(console)
    return logger


@dataclass
class TickReport:
    """What one tick did, for the closing line of `schedule --once`."""
    done: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not (self.done or self.failed):
            return "没有到期的任务"
        parts = ["、".join(JOB_TITLES.get(n, n) for n in self.done)] if self.done else []
        parts += [f"{JOB_TITLES.get(n, n)}失败" for n in self.failed]
        return "，".join(parts)


class Scheduler:
    def __init__(self, register: Path, clock: Callable[[], datetime] = datetime.now,
                 mailer: Mailer | None = None, jobs: dict | None = None,
                 live: Callable[[Path], object] | None = find_open_book):
        self.register = Path(register)
        self.clock = clock
        self.mailer = mailer
        self.jobs = jobs or JOB_FUNCTIONS
        self.live = live  # finds the register open in Excel on this PC (None: never)
        self.log = make_logger(self.register)
        self.report = TickReport()

    def load_state(self) -> dict[str, JobState]:
        path = state_path(self.register)
        if not path.exists():
            return {}
        try:
            return {k: JobState.from_json(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
        except (ValueError, AttributeError):
            self.log.warning("调度状态文件损坏，已重新开始")
            return {}

    def save_state(self, states: dict[str, JobState]) -> None:
        text = json.dumps({k: v.to_json() for k, v in states.items()}, ensure_ascii=False, indent=1)
        atomic_write(state_path(self.register), lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def _live_store(self):
        """The live store of the register open in Excel on this PC, when it may be written."""
        if self.live is None or holder_of(self.register) is None:
            return None
        book = self.live(self.register)
        if book is None:
            return None
        try:
            from ..adapters.xlwings_store import XlwingsStore
            return XlwingsStore(clean_book(book), "调度器")
        except ExcelBusy as exc:
            self.log.info("%s", exc)
            return None

    @contextmanager
    def session(self, now: datetime) -> Iterator[Session]:
        live = self._live_store()
        if live is not None:
            with open_live_session(self.register, live, now) as session:
                yield session
            return
        with open_session(self.register, "调度器", now) as session:
            yield session

    def _say(self, session: Session, now: datetime) -> None:
        for line in ([session.notice(now)] if session.held else []) + session.pending.warnings:
            if line and line not in self.report.notes:
                self.report.notes.append(line)
                self.log.info("%s", line)
        if session.live:
            note = "登记表在本机 Excel 中打开且没有未保存的修改：通过 Excel 写入"
            if note not in self.report.notes:
                self.report.notes.append(note)
                self.log.info("%s", note)

    def tick(self) -> list[str]:
        """Run every due job once; returns the names of jobs that ran successfully. Two schedulers
        on one register (two PCs, a task started twice) never both run a tick: the second skips it."""
        now = self.clock().replace(microsecond=0)
        self.report = TickReport()
        with scheduler_lock(self.register) as mine:
            if not mine:
                note = "跳过本轮：另一个调度器正在运行此登记表的任务"
                self.report.notes.append(note)
                self.log.info("%s", note)
                return []
            return self._tick(now)

    def _tick(self, now: datetime) -> list[str]:
        states = self.load_state()
        try:
            with self.session(now) as session:
                self._say(session, now)
                due = due_jobs(now, states, session.store.settings(), build_calendar(session.store), session.held)
        except WorkbookLockedError as exc:  # another complaintdesk run has it: the next tick
            self.log.info("跳过本轮：%s", exc)
            return []
        except Exception as exc:  # a broken register: log and try next tick
            self.log.error("无法读取登记表：%s", exc)
            self.report.notes.append(f"无法读取登记表：{exc}")
            return []
        for name in due:
            self._run(name, states.setdefault(name, JobState()), now)
        self.save_state(states)
        return self.report.done

    def _run(self, name: str, state: JobState, now: datetime) -> None:
        title = JOB_TITLES.get(name, name)
        try:
            with self.session(now) as session:
                self._say(session, now)
                summary = self.jobs[name](session.store, now, self.mailer, session.ledger)
            state.last_run, state.failed_at = now, None
            state.last_key = job_key(name, now) or state.last_key
            state.deferred = session.held and name in WRITES_REGISTER
            counts = "，".join(f"{k} {v}" for k, v in summary.counts.items())
            self.log.info("%s 完成 %s", title, counts)
            if state.deferred:
                self.report.deferred.append(name)
                self.log.info("%s：到期时间、状态和预警表待登记表关闭后写入", title)
            for warning in summary.warnings:  # e.g. a sheet near Excel's row limit: weeks to act
                self.log.warning("%s：%s", title, warning)
            self.report.done.append(name)
        except WorkbookLockedError as exc:
            state.failed_at, state.retry_after = now, RETRY_AFTER_LOCKED
            self.log.info("%s 推迟：%s", title, exc)
        except Exception as exc:  # isolate: one failing job never stops the others
            state.failed_at, state.retry_after = now, RETRY_AFTER_FAILURE
            self.report.failed.append(name)
            self.log.error("%s 失败（30 分钟后重试）：%s: %s", title, type(exc).__name__, exc)

    def run_forever(self, interval_minutes: int = 1) -> None:  # pragma: no cover - loops forever
        self.log.info("调度器已启动：%s", self.register)
        self.tick()
        schedule.every(interval_minutes).minutes.do(self.tick)
        while True:
            schedule.run_pending()
            _time.sleep(5)
