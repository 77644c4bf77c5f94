"""Entry point — the scheduler: runs due jobs against one register with the `schedule` library.

`Scheduler.tick()` asks the pure planner (domain.jobs) what is due, runs each
job under the register lock, isolates failures, and keeps its state in a JSON
file beside the register. `run_forever` ticks every minute; `--once` ticks once
(for cron or Windows Task Scheduler).
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import time as _time
from datetime import datetime
from pathlib import Path
from typing import Callable

import schedule

from ..adapters.files import atomic_write
from ..adapters.mailer import Mailer
from ..domain.jobs import RETRY_AFTER_FAILURE, RETRY_AFTER_LOCKED, JobState, due_jobs, job_key
from ..errors import WorkbookLockedError
from ..services.common import build_calendar, register_session
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


class Scheduler:
    def __init__(self, register: Path, clock: Callable[[], datetime] = datetime.now,
                 mailer: Mailer | None = None, jobs: dict | None = None):
        self.register = Path(register)
        self.clock = clock
        self.mailer = mailer
        self.jobs = jobs or JOB_FUNCTIONS
        self.log = make_logger(self.register)

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

    def tick(self) -> list[str]:
        """Run every due job once; returns the names of jobs that ran successfully."""
        now = self.clock().replace(microsecond=0)
        states = self.load_state()
        try:
            with register_session(self.register, "调度器") as store:
                due = due_jobs(now, states, store.settings(), build_calendar(store))
        except WorkbookLockedError as exc:
            self.log.info("跳过本轮：%s", exc)
            return []
        except Exception as exc:  # a broken register: log and try next tick
            self.log.error("无法读取登记表：%s", exc)
            return []
        done = []
        for name in due:
            state = states.setdefault(name, JobState())
            try:
                with register_session(self.register, "调度器") as store:
                    summary = self.jobs[name](store, now, self.mailer)
                state.last_run, state.failed_at = now, None
                state.last_key = job_key(name, now) or state.last_key
                counts = "，".join(f"{k} {v}" for k, v in summary.counts.items())
                self.log.info("%s 完成 %s", JOB_TITLES.get(name, name), counts)
                for warning in summary.warnings:  # e.g. a sheet near Excel's row limit: weeks to act
                    self.log.warning("%s：%s", JOB_TITLES.get(name, name), warning)
                done.append(name)
            except WorkbookLockedError as exc:
                state.failed_at, state.retry_after = now, RETRY_AFTER_LOCKED
                self.log.info("%s 推迟：%s", JOB_TITLES.get(name, name), exc)
            except Exception as exc:  # isolate: one failing job never stops the others
                state.failed_at, state.retry_after = now, RETRY_AFTER_FAILURE
                self.log.error("%s 失败（30 分钟后重试）：%s: %s", JOB_TITLES.get(name, name), type(exc).__name__, exc)
        self.save_state(states)
        return done

    def run_forever(self, interval_minutes: int = 1) -> None:  # pragma: no cover - loops forever
        self.log.info("调度器已启动：%s", self.register)
        self.tick()
        schedule.every(interval_minutes).minutes.do(self.tick)
        while True:
            schedule.run_pending()
            _time.sleep(5)
