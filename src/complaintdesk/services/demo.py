"""Services — `demo`: a register with sample complaints, run through every action."""
from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

from ..adapters.files import atomic_write
from ..domain.parsing import text_of
from ..domain.schema import BY_KEY, INTAKE
from .common import Summary, register_session
from .register import assign, check_sla
from .sample_data import sample_complaints
from .setup import init_register
from .transfer import export_rows, import_rows

Step = tuple[str, Callable[[], Summary]]


def write_sample_csv(path: Path, rows: list[dict], encoding: str = "utf-8-sig") -> None:
    keys = [k for k in BY_KEY if BY_KEY[k].group != "automation"]

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([BY_KEY[k].zh if BY_KEY[k].group == INTAKE else k for k in keys])
            for row in rows:
                writer.writerow([_csv_text(row.get(k)) for k in keys])
    atomic_write(path, write)


def _csv_text(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return text_of(value)


def demo_steps(folder: Path, now: datetime, count: int = 60) -> list[Step]:
    folder = Path(folder)
    register = folder / "客户投诉登记表.xlsx"
    source = folder / "渠道导出_样例.csv"

    def with_store(fn):
        def run():
            with register_session(register, "演示") as store:
                return fn(store)
        return run

    def do_init():
        folder.mkdir(parents=True, exist_ok=True)
        summary = init_register(register, force=True)
        write_sample_csv(source, sample_complaints(count, now))
        summary.files.append(source)
        return summary

    def do_export(store):
        text, n = export_rows(store, "json")
        out = folder / "导出_全部投诉.json"
        atomic_write(out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        summary = Summary("export", counts={"exported": n}, files=[out])
        return summary

    return [
        ("创建登记表并生成样例数据", do_init),
        ("导入渠道导出文件", with_store(lambda s: import_rows(s, source, now))),
        ("登记编号（编号/优先级/重复/分派）", with_store(lambda s: assign(s, now))),
        ("刷新时效与预警", with_store(lambda s: check_sla(s, now + timedelta(minutes=1)))),
        ("导出 JSON", with_store(do_export)),
    ]
