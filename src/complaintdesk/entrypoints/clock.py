"""Entry point helper — the one place the clock is read: `--now`, else COMPLAINTDESK_NOW, else the
system time (local, to the second). Every command, the scheduler and the ribbon use it."""
from __future__ import annotations

import os
from datetime import datetime


def now_from(text: str | None = None) -> datetime:
    """The moment an action runs at; ValueError for a text that is not an ISO time."""
    text = text or os.environ.get("COMPLAINTDESK_NOW")
    if not text:
        return datetime.now().replace(microsecond=0)
    return datetime.fromisoformat(text.strip()).replace(tzinfo=None, microsecond=0)
