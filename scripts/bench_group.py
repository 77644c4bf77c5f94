#!/usr/bin/env python3
"""Benchmark: the group store — 30 branches × 20,000 complaints published, then the group report.

Builds one realistic 20,000-complaint register (scripts/bench_register.py's builder), copies it as
30 branch registers, and measures on PostgreSQL (a server given by --pg or COMPLAINTDESK_BENCH_PG_URL,
e.g. the one scripts/pg_throwaway.sh starts) and on SQLite (a file):
  baseline  `complaintdesk export` of every branch register, --jobs processes at a time: reading
            the registers alone, the part of publishing no database can speed up
  publish   `complaintdesk publish` of every branch into a fresh store, --jobs at a time
  republish the same again (nothing changed: one read of each register, no write)
  report    `complaintdesk group report --month …` over the whole store (one process)
and prints seconds, complaints per second, the peak RSS of one process (MB) and the ratio
publish / baseline (what the database adds over reading the registers).

    python scripts/bench_group.py --pg postgresql+psycopg://cdadmin:…@127.0.0.1:54329/postgres
    python scripts/bench_group.py --branches 4 --size 2000     # quick
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOW = "2026-11-20T10:00"
MONTH = "2026-10"


def bench_register():
    spec = importlib.util.spec_from_file_location("bench_register", HERE / "bench_register.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DATABASE_SECONDS = re.compile(r"写入用时 ([0-9.]+) 秒")
database_seconds: list[float] = []  # what each publication spent in its transaction


def run_cli(args: list[str]) -> float:
    """One command in its own process; its peak RSS in MB (the process's high-water mark)."""
    code = ("import resource, sys; from complaintdesk.entrypoints.cli import app\n"
            "try:\n    app(sys.argv[1:], standalone_mode=False)\n"
            "finally:\n    print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                         env={**os.environ, "COMPLAINTDESK_NOW": NOW, "COLUMNS": "200"})
    if out.returncode:
        raise SystemExit(f"{' '.join(map(str, args[:2]))} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    database_seconds.extend(float(m) for m in DATABASE_SECONDS.findall(out.stdout))
    return int(out.stderr.rsplit("RSS", 1)[1].split()[0]) / 1024


def many(commands: list[list[str]], jobs: int) -> dict:
    """Commands `jobs` at a time; wall seconds and the largest single peak."""
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        peaks = list(pool.map(run_cli, commands))
    return {"seconds": time.perf_counter() - start, "rss_mb": max(peaks)}


def fresh_pg(admin: str) -> tuple[str, callable]:
    import sqlalchemy as sa
    url = sa.engine.make_url(admin)
    name = "bench_" + uuid.uuid4().hex[:8]
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False), drop


def measure_store(label: str, url: str, registers: dict[str, Path], jobs: int, baseline: float, total: int) -> dict:
    run_cli(["group", "init", url])
    publish = [["publish", path, "--to", url, "--branch", name, "--now", NOW] for name, path in registers.items()]
    database_seconds.clear()
    first = many(publish, jobs)
    first["database_seconds"] = round(sum(database_seconds), 1)
    again = many(publish, jobs)
    start = time.perf_counter()
    rss = run_cli(["group", "report", url, "--month", MONTH, "--out", Path(tempfile.gettempdir()) / "bench_group.xlsx"])
    report = {"seconds": time.perf_counter() - start, "rss_mb": rss}
    rows = {"store": label, "publish": first, "republish": again, "report": report,
            "complaints_per_second": total / first["seconds"], "ratio_publish_to_baseline": first["seconds"] / baseline}
    print(f"{label:<10} publish {first['seconds']:6.1f} s ({total / first['seconds']:,.0f} 件/s, 其中写库合计 "
          f"{first['database_seconds']:.1f} s = {total / max(first['database_seconds'], 0.01):,.0f} 件/s, "
          f"{first['rss_mb']:.0f} MB/进程)  republish {again['seconds']:6.1f} s  "
          f"report {report['seconds']:5.1f} s ({report['rss_mb']:.0f} MB)  "
          f"publish/baseline {first['seconds'] / baseline:.2f}",
          flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--branches", type=int, default=30)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=4, help="publications running at once")
    parser.add_argument("--pg", default=os.environ.get("COMPLAINTDESK_BENCH_PG_URL", ""))
    parser.add_argument("--out", type=Path, default=HERE.parent / "bench" / "group_results.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_group_"))
    try:
        source = folder / "source.xlsx"
        t = time.perf_counter()
        bench_register().build(source, args.size)
        registers = {}
        for i in range(1, args.branches + 1):
            branch = folder / f"分支{i:02d}"
            branch.mkdir()
            registers[f"分支机构{i:02d}"] = Path(shutil.copy(source, branch / "登记表.xlsx"))
        total = args.branches * args.size
        print(f"{args.branches} 个分支 × {args.size:,} 件 = {total:,} 件（准备 {time.perf_counter() - t:.0f} s），"
              f"同时 {args.jobs} 个进程", flush=True)
        base = many([["export", path, "--out", path.with_suffix(".json")] for path in registers.values()], args.jobs)
        print(f"{'baseline':<10} export  {base['seconds']:6.1f} s ({base['rss_mb']:.0f} MB/进程)", flush=True)
        results = {"branches": args.branches, "size": args.size, "jobs": args.jobs, "baseline": base, "stores": []}
        if args.pg:
            url, drop = fresh_pg(args.pg)
            try:
                results["stores"].append(measure_store("postgresql", url, registers, args.jobs, base["seconds"], total))
            finally:
                drop()
        else:
            print("postgresql 跳过：给出 --pg 或 COMPLAINTDESK_BENCH_PG_URL", flush=True)
        url = f"sqlite:///{(folder / '集团汇总.db').as_posix()}"
        results["stores"].append(measure_store("sqlite", url, registers, args.jobs, base["seconds"], total))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
