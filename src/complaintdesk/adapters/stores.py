"""Adapter — choosing and opening the file store of a register: the streaming store for large
files (openpyxl is not even imported for them), the openpyxl store otherwise, either one forced by
`kind` or the COMPLAINTDESK_STORE environment variable. Services ask for a store through here and
get a RegisterStore; they never name a store class."""
from __future__ import annotations

import os
from pathlib import Path

from .store import RegisterStore

FAST_THRESHOLD = 256_000  # bytes (~600 rows): registers from this size use the streaming store


def open_store(path, source: str = "命令行", kind: str | None = None, read_only_check: bool = False,
               snapshot=None) -> RegisterStore:
    """The file store for a register: streaming for large files, openpyxl otherwise.

    `kind` ("fast" / "openpyxl") or the COMPLAINTDESK_STORE environment variable force one. With
    `snapshot` (adapters.snapshot), the store reads that copy and never writes (see services.held)."""
    size_of = snapshot.copy if snapshot is not None else Path(path)
    choice = kind or os.environ.get("COMPLAINTDESK_STORE") or \
        ("fast" if size_of.exists() and size_of.stat().st_size >= FAST_THRESHOLD else "openpyxl")
    store: RegisterStore
    if choice == "fast":  # (openpyxl is not even imported for a large register)
        from .faststore.fast_store import FastStore
        store = FastStore(Path(path), source, read_only_check=read_only_check, snapshot=snapshot)
    else:
        from .xlsx_store import XlsxStore
        store = XlsxStore(Path(path), source, read_only_check=read_only_check, snapshot=snapshot)
    return store
