"""Adapter — scanning the pieces of a large register sheet on two cores.

A full read of a sheet of hundreds of MB is bound by the regular-expression scan, which holds
Python's GIL: one worker process (started with "spawn", the same way on every platform) scans
some of the pieces while this process inflates the sheet and scans the others. A piece is
handed over only while the worker has little queued, so the two stay balanced.

The worker is only help: whatever goes wrong with it (it cannot start, it dies, a result cannot
be sent back) the piece is scanned here instead, so the rows read are the same either way — an
error in the sheet itself is raised by that scan as it would be without a worker.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor

from .sheet_scan import Scanned, scan_chunk

PARALLEL_FROM = 64 << 20  # uncompressed sheet bytes from which a worker is worth its start-up
IN_FLIGHT = 2             # pieces queued for the worker at most

_spec = None


def _start_worker(spec) -> None:
    global _spec
    _spec = spec


def _scan_in_worker(buf: bytes) -> Scanned:
    return scan_chunk(buf, _spec)


def worth_a_worker(sheet_size: int) -> bool:
    return sheet_size >= PARALLEL_FROM and (os.cpu_count() or 1) > 1 \
        and os.environ.get("COMPLAINTDESK_WORKERS", "1") != "0"


def scan_pieces(pieces, spec, parallel: bool) -> list[Scanned]:
    """scan_chunk of every piece, in order; with `parallel`, partly in a worker process."""
    if not parallel:
        return [scan_chunk(buf, spec) for buf in pieces]
    results: list[Scanned | None] = []
    handed: dict[int, tuple[Future, bytes]] = {}  # at most IN_FLIGHT pieces, kept until scanned
    pool = executor = _pool(spec)
    try:
        for buf in pieces:
            _collect(handed, results, spec, wait=False)
            results.append(None)
            if pool is not None and len(handed) < IN_FLIGHT:
                try:
                    handed[len(results) - 1] = (pool.submit(_scan_in_worker, buf), buf)
                    continue
                except Exception:  # the worker is gone: go on alone
                    pool = None
            results[-1] = scan_chunk(buf, spec)
        _collect(handed, results, spec, wait=True)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    return results


def _collect(handed: dict, results: list, spec, wait: bool) -> None:
    """Take the worker's finished pieces (all of them with `wait`); a piece it failed on is
    scanned here instead — and a fault of the sheet itself is raised by that scan."""
    for at, (future, buf) in list(handed.items()):
        if wait or future.done():
            del handed[at]
            try:
                results[at] = future.result()
            except Exception:
                results[at] = scan_chunk(buf, spec)


def _pool(spec) -> ProcessPoolExecutor | None:
    try:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(spec,))
    except Exception:
        return None
