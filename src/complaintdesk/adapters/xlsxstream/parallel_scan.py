"""xlsxstream — working through the pieces of a large sheet on two cores.

A full read of a sheet of hundreds of MB is bound by the regular-expression scan, which holds
Python's GIL: one worker process (started with "spawn", the same way on every platform) scans
some of the pieces while this process inflates the sheet and scans the others. A piece is
handed over only while the worker has little queued, so the two stay balanced. An export of
every row works the same way: each piece's rows are parsed and turned into export text.

The worker is only help: whatever goes wrong with it (it cannot start, it dies, a result cannot
be sent back) the piece is worked here instead, so the result is the same either way — an
error in the sheet itself is raised by that work as it would be without a worker.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator

PARALLEL_FROM = 64 << 20  # uncompressed sheet bytes from which a worker is worth its start-up
IN_FLIGHT = 2             # pieces queued for the worker at most
AHEAD = 8                 # results kept back at most while an earlier piece is still in the worker

_work: Callable | None = None


def _start_worker(work: Callable) -> None:
    global _work
    _work = work


def _in_worker(buf: bytes):
    return _work(buf)


def _here(work: Callable, buf: bytes):
    return work(buf)


def worth_a_worker(sheet_size: int, from_size: int | None = None) -> bool:
    return sheet_size >= (PARALLEL_FROM if from_size is None else from_size) and (os.cpu_count() or 1) > 1 \
        and os.environ.get("COMPLAINTDESK_WORKERS", "1") != "0"


def map_pieces(pieces: Iterable[bytes], work: Callable, parallel: bool) -> Iterator:
    """work(piece) of every piece, yielded in order as they are done; with `parallel`, a worker
    process takes pieces while it has fewer than IN_FLIGHT queued. `work` must be picklable
    (a module-level function or a partial of one) to go to the worker."""
    if not parallel:
        yield from (_here(work, buf) for buf in pieces)
        return
    pending: deque[list] = deque()  # [result, future, piece] in order; future None once done
    pool = executor = _pool(work)
    try:
        for buf in pieces:
            yield from _done(pending, work, wait=len(pending) > AHEAD)
            if pool is not None and sum(1 for p in pending if p[1] is not None) < IN_FLIGHT:
                try:
                    pending.append([None, pool.submit(_in_worker, buf), buf])
                    continue
                except Exception:  # the worker is gone: go on alone
                    pool = None
            pending.append([_here(work, buf), None, None])
        while pending:
            yield from _done(pending, work, wait=True)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def _done(pending: deque, work: Callable, wait: bool):
    """The results at the head of `pending` that are ready (with `wait`, the first one at least).
    A piece the worker failed on is worked here instead — so a fault of the sheet itself is
    raised as it would be without a worker."""
    while pending:
        result, future, buf = pending[0]
        if future is not None:
            if not (wait or future.done()):
                return
            try:
                result = future.result()
            except Exception:
                result = _here(work, buf)
        pending.popleft()
        wait = False
        yield result


def _pool(work: Callable) -> ProcessPoolExecutor | None:
    try:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(work,))
    except Exception:
        return None
