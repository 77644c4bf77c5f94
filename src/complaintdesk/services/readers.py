"""Services — the register read together with its archives: each complaint once.

A complaint can stand in two places for a while: a run of `archive` stopped after writing the
yearly file and before taking the rows out of the register, an archive copied in twice, two
registers' archives in one folder. Every reader that merges them goes through here: the
register's copy wins, and of several archived copies the first (oldest file) is kept.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from ..adapters.store import RegisterStore
from ..domain.model import RegisterRow
from ..domain.parsing import text_of
from .common import archives


def register_numbers(store: RegisterStore) -> set[str]:
    """Every complaint number the register holds (open and closed rows)."""
    return numbers_of(*store.split_rows(("complaint_no",)))


def numbers_of(open_rows, closed) -> set[str]:
    """The complaint numbers of rows already read as store.split_rows gives them."""
    numbers = {text_of(n) for n in closed.columns["complaint_no"]}
    numbers |= {text_of(r.values.get("complaint_no")) for r in open_rows}
    numbers.discard("")
    return numbers


class Once:
    """A filter that lets each complaint number through once, never one in `taken`."""

    def __init__(self, taken: Iterable[str] = ()):
        self.seen = set(taken)

    def __call__(self, number) -> bool:
        number = text_of(number)
        if not number:
            return True  # an archived row without a number is its own complaint
        if number in self.seen:
            return False
        self.seen.add(number)
        return True


def archived_rows(store: RegisterStore, rows: Iterable[RegisterRow] | None = None,
                  taken: set[str] | None = None) -> Iterator[RegisterRow]:
    """The archived rows (all, or `rows` of the archives) not in the register, each complaint once
    (the register's numbers are read only when there is an archived row to compare)."""
    once = None
    for row in archives(store).rows() if rows is None else rows:
        if once is None:
            once = Once(register_numbers(store) if taken is None else taken)
        if once(row.values.get("complaint_no")):
            yield row


def archived_columns(store: RegisterStore, keys, taken: set[str] | None = None) -> dict[str, list]:
    """archives(store).columns(keys) without the complaints the register holds or already listed
    (`keys` must hold complaint_no)."""
    columns = archives(store).columns(keys)
    if not columns["complaint_no"]:
        return columns
    once = Once(register_numbers(store) if taken is None else taken)
    keep = [once(n) for n in columns["complaint_no"]]
    if all(keep):
        return columns
    return {k: [v for v, kept in zip(values, keep) if kept] for k, values in columns.items()}


def archive_record(store: RegisterStore, now) -> list[dict]:
    """The 归档记录 rows: each archive file of the register and how many complaints it holds."""
    shelf = archives(store)
    return [{"file": path.name, "complaints": shelf.complaints_in(path.name), "recorded_at": now}
            for path in shelf.files()]


KEPT_NOTE = ("缺少归档时，重复投诉标记、关联投诉编号以及因重复而提高的优先级保持原值，不会降低；"
             "请把归档文件放回 archive 文件夹（或从备份中取回）")


def missing_archives(store: RegisterStore) -> list[str]:
    """Archives the register recorded that are not beside it, or hold fewer complaints than
    recorded (a register copied away from its archive folder, a file deleted or replaced)."""
    shelf = archives(store)
    out = []
    for entry in store.table("archives"):
        name = text_of(entry.get("file"))
        recorded = entry.get("complaints")
        recorded = int(recorded) if isinstance(recorded, (int, float)) and not isinstance(recorded, bool) else 0
        if not name:
            continue
        held = shelf.complaints_in(name)
        if held is None:
            out.append(f"登记表记录的归档文件 {name}（{recorded:,} 件投诉）不在 {shelf.folder} 中")
        elif held < recorded:
            out.append(f"归档文件 {name} 只有 {held:,} 件投诉，登记表记录为 {recorded:,} 件")
    return out
