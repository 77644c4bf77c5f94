"""Services — `report`: the monthly analysis workbook and its KPI values."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from ..adapters.report_writer import write_report
from ..domain import labels
from ..domain.kpis import counted, last_months, monthly_kpis, previous_month
from ..domain.parsing import excel_serial, parse_datetime
from ..domain.masking import mask_record
from ..domain.schema import BY_KEY
from ..errors import ComplaintDeskError
from .common import Summary, archived_rows
from .transfer import _exported, record


def default_month(now: datetime) -> str:
    return previous_month(f"{now:%Y-%m}")


def _label_record(r: dict) -> dict:
    out = dict(r)
    for key, table in labels.ENUMS.items():
        if out.get(key) in table:
            out[key] = labels.label(table, out[key])
    return out


TREND_KEYS = ("request_type", "is_valid", "status")


def _trend_record(values: dict) -> dict:
    """What the 12-month trend needs of a complaint outside the report's two months."""
    received = parse_datetime(values.get("received_at"))[0]
    out = {key: _exported(BY_KEY[key], values.get(key)) for key in TREND_KEYS}
    out["received_at"] = received.isoformat() if received else None
    return out


def _received_between(start: datetime, end: datetime):
    """A predicate over row values: received in [start, end) — Excel serials compared as numbers."""
    low, high = excel_serial(start), excel_serial(end)

    def inside(values: dict) -> bool:
        received = values.get("received_at")
        if isinstance(received, (int, float)) and not isinstance(received, bool):
            return low <= received < high
        received = parse_datetime(received)[0]
        return received is not None and start <= received < end
    return inside


def monthly_report(store, now: datetime, month: str | None = None, out: Path | None = None,
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
    records = [record(r.values) for r in archived_rows(store) if in_trend(r.values)] + \
        [(record if in_report(r.values) else _trend_record)(r.values)
         for r in store.rows(full=in_report) if in_trend(r.values)]
    settings = store.settings()
    kpis = monthly_kpis(records, month, int(settings.param("hotspot_threshold")))
    summary = Summary("report", counts={"complaints": kpis["total"]}, data={"kpis": kpis})
    if write:
        base = Path(getattr(store, "path", Path.cwd() / "x")).parent
        path = Path(out) if out else base / f"月度投诉分析报告_{month}.xlsx"
        details = [_label_record(mask_record(r)) for r in counted(records, month)]
        write_report(path, kpis, sorted(details, key=lambda r: r.get("complaint_no") or ""),
                     float(settings.param("csat_target")))
        summary.files.append(path)
    return summary
