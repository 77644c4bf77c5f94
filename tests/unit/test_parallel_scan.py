"""Adapter: scanning a sheet's pieces with a worker process gives what one process gives."""
from concurrent.futures import Future

import pytest

from complaintdesk.adapters.faststore.sheet_scan import scan_pieces
from complaintdesk.adapters.xlsxstream import parallel_scan
from complaintdesk.errors import SchemaError

from .test_sheet_scan import LETTERS, STRINGS, inline

SPEC = (STRINGS, LETTERS)


def pieces(count=12, rows=40):
    out = []
    for p in range(count):
        xml = []
        for r in range(2 + p * rows, 2 + (p + 1) * rows):
            closed = r % 3 != 0
            xml.append(f'<row r="{r}">' + inline(f"A{r}", f"20261101-CS-{r:04d}")
                       + f'<c r="B{r}"><v>{46300 + r / 7}</v></c>'
                       + inline(f"AK{r}", "已关闭" if closed else "处理中")
                       + (f'<c r="AO{r}"><v>{46330 + r}</v></c>' if closed else "")
                       + inline(f"BO{r}", "是" if r % 5 == 0 else "否") + inline(f"L{r}", f"问题描述 {r}") + "</row>")
        out.append("".join(xml).encode("utf-8"))
    return out


def test_a_worker_gives_the_same_pieces_in_order(monkeypatch):
    alone = scan_pieces(pieces(), SPEC, parallel=False)
    here = []  # pieces scanned in this process (the worker, a process of its own, is not counted)
    monkeypatch.setattr(parallel_scan, "_here", lambda work, buf: here.append(1) or work(buf))
    helped = scan_pieces(iter(pieces()), SPEC, parallel=True)
    assert helped == alone
    assert len(here) <= 10  # the worker scanned at least the two pieces handed to it first
    assert [p.closed[:1] for p in helped] == [p.closed[:1] for p in alone] and len(helped) == 12


def test_a_fault_of_the_sheet_is_raised_with_a_worker():
    bad = pieces(4) + [b'<row r="999">' + inline("A999", "x").encode() + b'</row><row><c><v>1</v></c></row>']
    with pytest.raises(SchemaError):
        scan_pieces(iter(bad), SPEC, parallel=True)


class BrokenPool:
    """A worker that fails every piece, or cannot take one at all."""

    def __init__(self, refuse: bool):
        self.refuse, self.shut = refuse, False

    def submit(self, fn, *args):
        if self.refuse:
            raise RuntimeError("cannot start a process here")
        future = Future()
        future.set_exception(OSError("the worker died"))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        self.shut = True


@pytest.mark.parametrize("refuse", [False, True])
def test_pieces_are_scanned_here_when_the_worker_fails(monkeypatch, refuse):
    pool = BrokenPool(refuse)
    monkeypatch.setattr(parallel_scan, "_pool", lambda spec: pool)
    assert scan_pieces(iter(pieces()), SPEC, parallel=True) == scan_pieces(pieces(), SPEC, parallel=False)
    assert pool.shut  # released however it failed


def test_no_worker_for_small_sheets_or_when_switched_off(monkeypatch):
    assert not parallel_scan.worth_a_worker(1 << 20)
    monkeypatch.setattr(parallel_scan.os, "cpu_count", lambda: 4)
    assert parallel_scan.worth_a_worker(1 << 30)
    monkeypatch.setenv("COMPLAINTDESK_WORKERS", "0")
    assert not parallel_scan.worth_a_worker(1 << 30)


def _length(buf: bytes) -> int:
    return len(buf)


def test_results_come_in_order_as_they_are_done(monkeypatch):
    """map_pieces streams: results are yielded while later pieces are still being read."""
    read = []

    def pieces_read():
        for i in range(30):
            read.append(i)
            yield b"x" * i
    results = parallel_scan.map_pieces(pieces_read(), _length, parallel=True)
    first = next(results)
    assert first == 0 and len(read) < 30
    assert [first, *results] == list(range(30))
