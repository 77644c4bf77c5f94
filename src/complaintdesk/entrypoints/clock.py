"""Entry point helper — the one place the clock is read: `--now`, else COMPLAINTDESK_NOW, else the
system time (local, to the second). Every command, the scheduler and the ribbon use it."""
from __future__ import annotations

import contextlib
import os
from datetime import datetime

from ..domain.parsing import parse_datetime


def now_from(text: str | None = None) -> datetime:
    """The moment an action runs at — written as ISO or in any form a register's time cell takes
    (`2026/10/08 14:30`, `2026年10月8日 下午2点半`); ValueError for a text that is no time."""
    text = text or os.environ.get("COMPLAINTDESK_NOW")
    if not text:
        return datetime.now().replace(microsecond=0)
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(text.strip()).replace(tzinfo=None, microsecond=0)
    moment, problem = parse_datetime(text)
    if moment is None:
        raise ValueError(problem or text)
    return moment.replace(microsecond=0)
