"""Services — `report`: the monthly analysis workbook and its KPI values."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from ..adapters.report_writer import write_report
from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.campaign import results as campaign_results
from ..domain.improvement import read_actions, summary_of, without_action
from ..domain.kpis import counted, last_months, monthly_kpis, no_complaints, previous_month
from ..domain.masking import mask_record
from ..domain.parsing import excel_serial, parse_datetime
from ..errors import ComplaintDeskError
from .common import Summary, archives
from .readers import Once, register_numbers
from .transfer import CONVERTERS, record


def default_month(now: datetime) -> str:
    return previous_month(f"{now:%Y-%m}")


def _label_record(r: dict) -> dict:
    out = dict(r)
    for key, table in labels.ENUMS.items():
        if out.get(key) in table:
            out[key] = labels.label(table, out[key])
    return out


TREND_KEYS = ("request_type", "is_valid", "status")


def _trend_record(received, request_type, is_valid, status) -> dict:
    """What the 12-month trend needs of a complaint outside the report's two months (TREND_KEYS and
    the received time), as export data. Called for every complaint of the last year."""
    received = parse_datetime(received)[0]
    return {"request_type": CONVERTERS["request_type"](request_type), "is_valid": CONVERTERS["is_valid"](is_valid),
            "status": CONVERTERS["status"](status), "received_at": received.isoformat() if received else None}


def _received_between(start: datetime, end: datetime):
    """A predicate over a received time: in [start, end) — Excel serials compared as numbers."""
    low, high = excel_serial(start), excel_serial(end)

    def inside(received) -> bool:
        if isinstance(received, (int, float)) and not isinstance(received, bool):
            return low <= received < high
        received = parse_datetime(received)[0]
        return received is not None and start <= received < end
    return inside


def _archive_records(store: RegisterStore, in_trend, in_report) -> list[dict]:
    """The same of the archives: the trend's columns of every archived complaint, and in full only
    those received in the report's two months — each complaint once, none the register holds."""
    from ..adapters.faststore.archive_files import read_archive, read_archive_columns
    keys = ("received_at", *TREND_KEYS)
    once = None
    out = []
    for path in archives(store).files():
        once = once or Once(register_numbers(store))
        light = [row for row in read_archive_columns(path, keys + ("complaint_no",))
                 if once(row.values.get("complaint_no"))]
        in_full = {-row.row_id for row in light if in_report(row.values.get("received_at"))}
        found = [(row.row_id, record(row.values)) for row in read_archive(path, in_full, comms=False)[0]] \
            if in_full else []
        found += [(row.row_id, _trend_record(*(row.values.get(k) for k in keys))) for row in light
                  if in_trend(row.values.get("received_at")) and not in_report(row.values.get("received_at"))]
        out += [rec for _, rec in sorted(found, key=lambda item: -item[0])]
    return out


def _register_records(store: RegisterStore, in_trend, in_report) -> list[dict]:
    """Export records of the register's complaints in the trend's months, in row order: in full for
    the report's two months, trend values only for the others. Closed complaints come as columns,
    so only those of the two months are read in full."""
    keys = ("received_at", *TREND_KEYS)
    open_rows, closed = store.split_rows(keys)
    in_full = [r for r, value in zip(closed.rows, closed.columns["received_at"]) if in_report(value)]
    out = [(row.row_id, record(row.values)) for row in store.read_full(in_full)]
    for row in open_rows:
        received = row.values.get("received_at")
        if in_report(received):
            out.append((row.row_id, record(row.values)))
        elif in_trend(received):
            out.append((row.row_id, _trend_record(*(row.values.get(k) for k in keys))))
    out += [(r, _trend_record(*values)) for r, *values in zip(closed.rows, *(closed.columns[k] for k in keys))
            if in_trend(values[0]) and not in_report(values[0])]
    out.sort(key=lambda item: item[0])
    return [rec for _, rec in out]


def monthly_report(store: RegisterStore, now: datetime, month: str | None = None, out: Path | None = None,
                   write: bool = True) -> Summary:
    month = month or default_month(now)
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ComplaintDeskError(f"月份“{month}”格式不对，应为 2026-10")
    first = datetime.strptime(previous_month(month), "%Y-%m")
    after = datetime.strptime(month, "%Y-%m").replace(day=28) + timedelta(days=4)
    after = after.replace(day=1)
    oldest = datetime.strptime(last_months(month)[0], "%Y-%m")  # the 12-month trend's first month
    in_trend = _received_between(oldest, after)  # older (or later) complaints are in no figure
    in_report = _received_between(first, after)  # other months only count in the trend: light values suffice
    records = _archive_records(store, in_trend, in_report) + _register_records(store, in_trend, in_report)
    settings = store.settings()
    kpis = monthly_kpis(records, month, int(settings.param("hotspot_threshold")))
    kpis["campaigns"] = campaign_results(store.table("campaign"))
    actions = read_actions(store.table("actions"))
    kpis["improvement"] = summary_of(actions, now) | {"hotspots_without_action": without_action(kpis["hotspots"],
                                                                                                 actions)}
    summary = Summary("report", counts={"complaints": kpis["total"]}, data={"kpis": kpis})
    if kpis["improvement"]["hotspots_without_action"]:
        summary.warnings.append("以下高频问题尚无整改措施（在“整改”表中登记）：" + "、".join(
            f"{h['product']} × {h['category']}" for h in kpis["improvement"]["hotspots_without_action"]))
    if no_complaints(kpis):
        summary.warnings.append(f"本月无投诉：{month} 没有收到投诉，报告只含概览与说明")
    if write:
        base = (store.path or Path.cwd() / "x").parent
        path = Path(out) if out else base / f"月度投诉分析报告_{month}.xlsx"
        details = [_label_record(mask_record(r)) for r in counted(records, month)]
        del records  # a year of records is not needed while the workbook is written
        write_report(path, kpis, sorted(details, key=lambda r: r.get("complaint_no") or ""),
                     float(settings.param("csat_target")))
        summary.files.append(path)
    return summary
