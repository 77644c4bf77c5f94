#!/usr/bin/env python3
"""Benchmark: large registers, complaintdesk vs a plain openpyxl baseline, in one run.

For each size it builds a realistic register (seeded: Chinese text, ~3 % open complaints,
~1 % new rows without a number, the rest closed), written as Excel saves a workbook (every text once
in the shared strings table, rows with their spans), then measures in fresh processes:
  baseline    openpyxl load + write the automation cells of every open/new row + save
  first cycle `complaintdesk assign` + `complaintdesk sla` on the built file: a register written
              by another program (as after Excel saved it), so both read the whole sheet once
  rerun       `complaintdesk assign` again (nothing new, nothing changed)
  import      `complaintdesk import` of a channel export with 1 % new complaints
  cycle       `complaintdesk assign` + `complaintdesk sla` after that import: the daily cycle
  held        `complaintdesk schedule --once` while Excel holds the register (an owner file beside
              it): copy and check the saved version, sla + digest + survey reminder from it
  freed       the next `schedule --once` once the file is free: the deferred writes
  report      `complaintdesk report --month <last full month>`
  export      `complaintdesk export --out …json`
  find        `complaintdesk find <a phone number>` (register and archives)
  archive     `complaintdesk archive` forty days later: every closed complaint leaves the register
  after       `assign` + `sla` then, and `find` again, with those archives beside the register
  fresh       `init` + `import` of the whole size as a channel export of a year + `assign`: a desk
              migrating its history into a new register (one 变更记录 line per new row, not per cell);
              its baseline: openpyxl only writing those rows into the new register and saving it
and prints seconds, peak RSS (MB: the larger of the two commands for a cycle; a command that used a
worker process counts both peaks added) and the ratio
baseline / cycle; the table also goes to bench/results.json. Registers are written to a
temporary folder and deleted afterwards.

    python scripts/bench_register.py                 # 10k, 50k, 200k rows
    python scripts/bench_register.py --sizes 10000   # quick
    python scripts/bench_register.py --fresh-only --sizes 200000   # the migration alone
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from datetime import datetime, timedelta
from pathlib import Path

from complaintdesk.adapters.holder import excel_owner_bytes

NOW = datetime(2026, 11, 20, 10, 0)
CHILD = r"""
import glob, json, resource, sys, threading, time


def peak_kb(pid="self"):
    # a process's own memory peak. On Linux ru_maxrss also counts what a process was before it
    # started another program: the benchmark's size for a command, the command's size for the
    # worker it spawned (fork, then exec)
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return None


children = {}  # pid -> its own peak, read while it runs (a worker's /proc is gone once it ended)


def watch(stop):
    while not stop.wait(0.05):
        for path in glob.glob("/proc/self/task/*/children"):
            try:
                pids = open(path).read().split()
            except OSError:
                continue
            for pid in pids:
                kb = peak_kb(pid)
                if kb:
                    children[pid] = max(children.get(pid, 0), kb)


stop = threading.Event()
watching = glob.glob("/proc/self/task/*/children") and peak_kb() is not None
if watching:
    threading.Thread(target=watch, args=(stop,), daemon=True).start()
t = time.perf_counter()
exec(sys.argv[1])
seconds = time.perf_counter() - t
stop.set()
own = peak_kb() or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
# a worker process that scanned alongside counts with its peak, as if both peaked at once
helper = max(children.values(), default=0) if watching else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_mb": (own + helper) / 1024}))
"""
BASELINE = r"""
from openpyxl import load_workbook
path = sys.argv[2]
wb = load_workbook(path)
ws = wb["投诉登记"]
head = {c.value: c.column for c in ws[1]}
cols = [head[h] for h in ("时效状态", "处理状态", "响应时效", "校验提示")]
status = head["处理状态"]
n = 0
for row in ws.iter_rows(min_row=2):
    if row[status - 1].value != "已关闭":
        for c in cols:
            row[c - 1].value = "即将超时"
        n += 1
wb.save(path)
"""
FRESH_BASELINE = r"""
import csv
from openpyxl import load_workbook
from complaintdesk.domain.schema import BY_KEY
wb = load_workbook(sys.argv[2])
ws = wb["投诉登记"]
head = {c.value: c.column for c in ws[1]}
with open(sys.argv[3], encoding="utf-8-sig", newline="") as f:
    rows = csv.reader(f)
    cols = [head[BY_KEY[k].label("zh")] for k in next(rows)]
    for r, values in enumerate(rows, 2):
        for col, value in zip(cols, values):
            if value:
                ws.cell(r, col, value)
wb.save(sys.argv[2])
"""
CLI = r"""
from complaintdesk.entrypoints.cli import app
for args in json.loads(sys.argv[2]):
    try:
        app(args, standalone_mode=False)
    except SystemExit as e:
        assert not e.code, e.code
"""


class SharedStrings:
    """Texts as Excel saves them: each text once in xl/sharedStrings.xml, a cell holding its number."""

    def __init__(self) -> None:
        from complaintdesk.adapters.xlsxstream import sheet_xml
        self.sx = sheet_xml
        self.index: dict[str, int] = {}
        self.count = 0

    def cell(self, ref: str, value, style: int | None) -> str:
        if not isinstance(value, str) or value == "":
            return self.sx.cell_xml(ref, value, style)
        self.count += 1
        s = f' s="{style}"' if style else ""
        return f'<c r="{ref}"{s} t="s"><v>{self.index.setdefault(value, len(self.index))}</v></c>'

    def inline_to_shared(self, xml: bytes) -> bytes:
        """Cells of inline text in `xml` (the template's header row) as shared strings."""
        def shared(m: re.Match) -> bytes:
            text = self.sx.decode_texts([m.group(3)])[0]
            return self.cell(m.group(1).decode(), text, int(m.group(2)) if m.group(2) else None).encode()
        return re.sub(rb'<c r="([A-Z]+\d+)"(?: s="(\d+)")? t="inlineStr"><is><t[^>]*>([^<]*)</t></is></c>', shared, xml)

    def part(self) -> bytes:
        escape = self.sx.escape
        items = "".join(f'<si><t xml:space="preserve">{escape(t)}</t></si>' if t != t.strip()
                        else f"<si><t>{escape(t)}</t></si>" for t in self.index)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
                f'spreadsheetml/2006/main" count="{self.count}" uniqueCount="{len(self.index)}">{items}</sst>').encode()


def build(path: Path, size: int, shared_strings: bool = True) -> None:
    """A register of `size` rows with automation filled in, written straight as sheet XML the way
    Excel saves it (shared strings, row spans); with `shared_strings` False, texts inline in the
    cells as complaintdesk's own writer puts them (the sheet is then ~45 % larger)."""
    from complaintdesk.adapters.calendar_cn import china_calendar
    from complaintdesk.adapters.workbook_builder import build_register
    from complaintdesk.adapters.xlsxstream import sheet_xml as sx
    from complaintdesk.domain.engine import Context, evaluate, to_cells
    from complaintdesk.domain.intake import Counter, RepeatIndex
    from complaintdesk.domain.model import RegisterRow, parse_complaint
    from complaintdesk.domain.parsing import customer_keys
    from complaintdesk.domain.schema import COLUMNS
    from complaintdesk.domain.settings import default_settings
    from complaintdesk.services.sample_data import sample_complaints

    template = path.with_suffix(".template.xlsx")
    build_register("zh").save(template)
    days = max(30, size // 280)
    rows = sample_complaints(size, NOW, seed=size, days=days, bad_rows=False)
    for values in rows:  # a real desk closes almost everything older than two weeks
        received = values["received_at"]
        # which complaints stay open: the same in every process (str hashes differ per process)
        if received < NOW - timedelta(days=14) and zlib.crc32(str(values["order_no"]).encode()) % 100 >= 3:
            values.setdefault("first_response_at", received + timedelta(hours=1))
            values.setdefault("plan_measures", "联系客户核实情况，安排处理")
            values.setdefault("plan_deadline", received + timedelta(days=2))
            values["resolved_at"] = values.get("resolved_at") or received + timedelta(days=1)
            values.pop("objection", None)
            values["customer_agrees"] = "是"
            values["confirmed_at"] = values.get("confirmed_at") or received + timedelta(days=2)
            values["survey_sent_at"] = values.get("survey_sent_at") or received + timedelta(days=3)
            for key in ("score_efficiency", "score_attitude", "score_solution"):
                values[key] = values.get(key) or 5
            values["callback_done_at"] = values["survey_sent_at"] + timedelta(days=1)
    settings, calendar = default_settings(), china_calendar()
    counter, repeats = Counter(), RepeatIndex()
    new_from = int(len(rows) * 0.99)
    style = {c.key: 1 for c in COLUMNS if c.kind == "datetime"}
    sst = SharedStrings() if shared_strings else None
    spans = f' spans="1:{len(COLUMNS)}"' if shared_strings else ""
    last = sx.col_letter(len(COLUMNS))  # the register's last column: the Table and dimension end there
    cell = sst.cell if sst else sx.cell_xml
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        names = src.namelist()
        assert "xl/sharedStrings.xml" not in names, "the template has shared strings of its own"
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, rest = data.split(b"<sheetData>", 1)
                header, tail = rest.split(b"</sheetData>", 1)
                header = header[:header.find(b"</row>") + 6]
                header = sst.inline_to_shared(header) if sst else header
                head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:{last}{size + 1}"/>'.encode(), head)
                with dst.open(info.filename, "w", force_zip64=True) as out:
                    out.write(head + b"<sheetData>" + header)
                    for r, values in enumerate(rows, 2):
                        if r - 2 < new_from and not isinstance(values["received_at"], str):
                            c = parse_complaint(RegisterRow(r, values))
                            ctx = Context(settings, calendar, NOW - timedelta(minutes=30), counter, repeats)
                            auto = evaluate(c, ctx)
                            repeats.add(customer_keys(c.customer_id, c.contact), c.category, c.received_at, c.number)
                            values = {**values, **to_cells(auto)}
                        cells = "".join(cell(f"{sx.col_letter(i)}{r}", values.get(col.key), style.get(col.key))
                                        for i, col in enumerate(COLUMNS, 1) if values.get(col.key) not in (None, ""))
                        out.write(f'<row r="{r}"{spans}>{cells}</row>'.encode("utf-8"))
                    out.write(b"</sheetData>" + tail)
            elif info.filename.startswith("xl/tables/"):
                dst.writestr(info, data.replace(f'ref="A1:{last}2"'.encode(), f'ref="A1:{last}{size + 1}"'.encode()))
            elif sst is None:
                dst.writestr(info, data)
            elif info.filename == "[Content_Types].xml":
                dst.writestr(info, data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                                b'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings'
                                                b'+xml"/></Types>'))
            elif info.filename == "xl/_rels/workbook.xml.rels":
                dst.writestr(info, data.replace(b"</Relationships>", b'<Relationship Id="rIdSharedStrings" Type="http://'
                                                b'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
                                                b' Target="sharedStrings.xml"/></Relationships>'))
            else:
                dst.writestr(info, data)
        if sst is not None:
            dst.writestr("xl/sharedStrings.xml", sst.part())
    template.unlink()


def new_rows_csv(path: Path, size: int, count: int | None = None, days: int = 1) -> int:
    """A channel export with 1 % new complaints received in the last day (intake columns only), or
    `count` complaints over `days` (a desk migrating its history)."""
    import csv

    from complaintdesk.domain.schema import COLUMNS, INTAKE
    from complaintdesk.services.sample_data import sample_complaints
    keys = [c.key for c in COLUMNS if c.group == INTAKE]
    rows = sample_complaints(count or max(10, size // 100), NOW, seed=size + 1, days=days, bad_rows=False)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(keys)
        for values in rows:
            writer.writerow([v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else "" if v is None else v
                             for v in (values.get(k) for k in keys)])
    return len(rows)


def phone_of(path: Path) -> str:
    """The phone number of the first complaint in a channel export (what `find` is asked for)."""
    import csv
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    column = rows[0].index("contact")
    return next(row[column] for row in rows[1:] if row[column])


def measure(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, code, *args], capture_output=True, text=True,
                         env={**os.environ, "COMPLAINTDESK_NOW": NOW.isoformat()})
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli(*commands: list[str]) -> dict:
    """Each command in its own process (as a user or the scheduler runs them); times add up."""
    runs = [measure(CLI, json.dumps([[str(a) for a in c]])) for c in commands]
    return {"seconds": sum(r["seconds"] for r in runs), "rss_mb": max(r["rss_mb"] for r in runs)}


def migration(folder: Path, size: int) -> dict:
    """`init`, then `import` of `size` complaints received over a year, then `assign`; and the
    baseline: openpyxl writing the same rows into the new register (no numbering, no audit)."""
    fresh, plain, history = folder / "fresh.xlsx", folder / "plain.xlsx", folder / "history.csv"
    for name in (fresh, plain):
        name.unlink(missing_ok=True)
    shutil.rmtree(folder / ".cache", ignore_errors=True)
    new_rows_csv(history, size, count=size, days=365)
    now = ["--now", NOW.isoformat()]
    cli(["init", fresh])
    shutil.copy(fresh, plain)
    base = measure(FRESH_BASELINE, str(plain), str(history))
    imported = cli(["import", fresh, history, *now])
    assigned = cli(["assign", fresh, *now])
    seconds = imported["seconds"] + assigned["seconds"]
    return {"fresh_s": round(seconds, 1), "fresh_mb": round(max(imported["rss_mb"], assigned["rss_mb"])),
            "fresh_import_s": round(imported["seconds"], 1), "fresh_import_mb": round(imported["rss_mb"]),
            "fresh_assign_s": round(assigned["seconds"], 1), "fresh_assign_mb": round(assigned["rss_mb"]),
            "fresh_baseline_s": round(base["seconds"], 1), "fresh_baseline_mb": round(base["rss_mb"]),
            "fresh_ratio": round(base["seconds"] / seconds, 2)}


FRESH_COLUMNS = ("rows", "fresh_baseline_s", "fresh_baseline_mb", "fresh_import_s", "fresh_import_mb",
                 "fresh_assign_s", "fresh_assign_mb", "fresh_s", "fresh_mb", "fresh_ratio")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--out", type=Path, default=None,
                        help="bench/results.json (bench/fresh.json with --fresh-only)")
    parser.add_argument("--fresh-only", action="store_true", help="only the migration: import + assign of SIZE rows")
    args = parser.parse_args()
    bench = Path(__file__).resolve().parents[1] / "bench"
    args.out = args.out or bench / ("fresh.json" if args.fresh_only else "results.json")
    month = f"{(NOW.replace(day=1) - timedelta(days=1)):%Y-%m}"
    results = []
    folder = Path(tempfile.mkdtemp(prefix="cd-bench-"))
    try:
        for size in args.sizes:
            if args.fresh_only:
                results.append({"rows": size, **migration(folder, size)})
                print(json.dumps(results[-1]), flush=True)
                continue
            source = folder / f"register_{size}.xlsx"
            t = time.perf_counter()
            build(source, size)
            print(f"built {size:,} rows in {time.perf_counter() - t:.0f} s ({source.stat().st_size / 1e6:.1f} MB)",
                  flush=True)
            work = folder / "work.xlsx"
            for leftover in ("archive", ".cache", ".bak"):  # the smaller register's archives are not this one's
                shutil.rmtree(folder / leftover, ignore_errors=True)
            shutil.copy(source, work)
            base = measure(BASELINE, str(work))
            work.unlink()
            shutil.rmtree(folder / ".cache", ignore_errors=True)
            shutil.copy(source, work)
            now = ["--now", NOW.isoformat()]
            first = cli(["assign", work, *now], ["sla", work, *now])
            rerun = cli(["assign", work, *now])
            added = new_rows_csv(folder / "new.csv", size)
            imported = cli(["import", work, folder / "new.csv", *now])
            cycle = cli(["assign", work, *now], ["sla", work, *now])
            # the register open in Excel all day: the scheduler's tick reads the saved version and
            # defers its writes; the first tick once the file is free writes them
            owner = work.parent / ("~$" + work.name)
            owner.write_bytes(excel_owner_bytes("王芳"))
            tick = ["--now", (NOW + timedelta(minutes=40)).isoformat()]
            held = cli(["schedule", work, "--once", *tick])
            owner.unlink()
            freed = cli(["schedule", work, "--once", "--now", (NOW + timedelta(minutes=41)).isoformat()])
            report = cli(["report", work, "--month", month, "--out", folder / "r.xlsx", *now])
            export = cli(["export", work, "--out", folder / "e.json"])
            phone = phone_of(folder / "new.csv")
            found = cli(["find", work, phone])
            # forty days on, every closed complaint has been closed 30 days: archive them, then the
            # daily cycle and find with the archives beside the register
            later = ["--now", (NOW + timedelta(days=40)).isoformat()]
            archived = cli(["archive", work, *later])
            after = cli(["assign", work, *later], ["sla", work, *later])
            found_after = cli(["find", work, phone])
            migrated = migration(folder, size)
            row = {"rows": size, "file_mb": round(source.stat().st_size / 1e6, 1),
                   "baseline_s": round(base["seconds"], 1), "baseline_mb": round(base["rss_mb"]),
                   "first_cycle_s": round(first["seconds"], 1), "first_cycle_mb": round(first["rss_mb"]),
                   "first_ratio": round(base["seconds"] / first["seconds"], 1),
                   "rerun_s": round(rerun["seconds"], 1), "import_rows": added,
                   "import_s": round(imported["seconds"], 1),
                   "cycle_s": round(cycle["seconds"], 1), "cycle_mb": round(cycle["rss_mb"]),
                   "ratio": round(base["seconds"] / cycle["seconds"], 1),
                   "held_s": round(held["seconds"], 1), "held_mb": round(held["rss_mb"]),
                   "freed_s": round(freed["seconds"], 1),
                   "report_s": round(report["seconds"], 1), "report_mb": round(report["rss_mb"]),
                   "export_s": round(export["seconds"], 1), "export_mb": round(export["rss_mb"]),
                   "find_s": round(found["seconds"], 1), "find_mb": round(found["rss_mb"]),
                   "archive_s": round(archived["seconds"], 1), "archive_mb": round(archived["rss_mb"]),
                   "cycle_archived_s": round(after["seconds"], 1), "cycle_archived_mb": round(after["rss_mb"]),
                   "find_archived_s": round(found_after["seconds"], 1),
                   **migrated}
            results.append(row)
            print(json.dumps(row), flush=True)
            source.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if len(results) > 1 and not args.fresh_only:
        for key in ("first_cycle_s", "cycle_s", "rerun_s", "report_s"):
            growth = results[-1][key] / results[0][key]
            print(f"{key} growth {results[0]['rows']:,} → {results[-1]['rows']:,} rows: ×{growth:.1f} "
                  f"(rows ×{results[-1]['rows'] / results[0]['rows']:.0f})")
    columns = FRESH_COLUMNS if args.fresh_only else (
        "rows", "baseline_s", "baseline_mb", "first_cycle_s", "first_cycle_mb", "first_ratio", "rerun_s",
        "import_s", "cycle_s", "cycle_mb", "ratio", "held_s", "held_mb", "freed_s", "report_s", "report_mb",
        "export_s", "find_s", "archive_s", "cycle_archived_s", "find_archived_s", "fresh_s", "fresh_mb")
    print(" | ".join(columns))
    for r in results:
        print(" | ".join(str(r[k]) for k in columns))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}")
    args.out.write_text(json.dumps({"machine": machine, "measured": datetime.now().date().isoformat(),
                                    "results": results}, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
