"""Services — `assign` and `sla`: recompute the automation columns of the register.

Both run the same pass (number new rows when asked, then evaluate every row
that is not closed) and write only what changed, audited. `sla` also rewrites
the 预警 sheet and makes sure the red/amber formatting is there.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from itertools import chain

from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.engine import Context, evaluate, to_cells
from ..domain.intake import Counter, RepeatIndex
from ..domain.model import parse_complaint
from ..domain.parsing import customer_key, excel_serial, parse_datetime, text_of
from ..domain.settings import CLOCK_LABELS
from ..domain.sla import CLOCK_TABLE
from . import case_library
from .common import (
    Summary,
    apply_changes,
    archived_columns,
    build_calendar,
    display,
    save,
)


def _counter(store: RegisterStore, numbers) -> Counter:
    """The numbering counter: the 编号计数 sheet, raised past every number the register holds."""
    counter = Counter()
    for entry in store.table("counter"):
        try:
            counter.last[text_of(entry.get("prefix"))] = int(float(text_of(entry.get("last")) or 0))
        except ValueError:
            pass
    counter.see_all(n if n.__class__ is str else text_of(n) for n in numbers if n)
    return counter


def _last_contacts(store: RegisterStore) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for entry in store.table("comms"):
        number = text_of(entry.get("complaint_no"))
        moment, _ = parse_datetime(entry.get("time"))
        if number and moment and (number not in out or moment > out[number]):
            out[number] = moment
    return out


# what refresh needs of a closed complaint: its number (numbering, duplicates) and what repeat
# detection compares
CLOSED_KEYS = ("complaint_no", "received_at", "customer_id", "contact", "category")


def refresh(store: RegisterStore, now: datetime, numbering: bool, action: str) -> Summary:
    """Number new rows (when `numbering`) and recompute every row that is not closed."""
    summary = Summary(action)
    settings = store.settings()
    calendar = build_calendar(store)
    open_rows, closed = store.split_rows(CLOSED_KEYS)
    archived = archived_columns(store, CLOSED_KEYS)  # as stored, like the closed rows' columns
    counter = _counter(store, chain((r.values.get("complaint_no") for r in open_rows), archived["complaint_no"],
                                    closed.columns["complaint_no"])) if numbering else Counter()
    counter_before = dict(counter.last)
    repeats = RepeatIndex()
    complaints = {}
    for row in open_rows:
        c = complaints[row.row_id] = parse_complaint(row)
        repeats.add(customer_key(c.customer_id, c.contact), c.category, c.received_at, c.number)
    # closed and archived complaints only feed the repeat index, and only those recent enough
    # to be "earlier within the window" of a complaint that is evaluated now: no full parse
    earliest = min((c.received_at for c in complaints.values() if c.received_at), default=None)
    wanted = {customer_key(c.customer_id, c.contact) for c in complaints.values()} - {None}
    if earliest is not None and wanted:
        cutoff = earliest - timedelta(days=int(settings.param("repeat_days")) + 1)
        cutoff_serial = excel_serial(cutoff)
        earlier = chain(zip(*(closed.columns[k] for k in CLOSED_KEYS)), zip(*(archived[k] for k in CLOSED_KEYS)))
        for number, received, customer_id, contact, category in earlier:
            if isinstance(received, (int, float)) and not isinstance(received, bool):
                if received < cutoff_serial:
                    continue
            key = customer_key(customer_id, contact)
            if key not in wanted:  # no complaint evaluated now is from this customer
                continue
            received = parse_datetime(received)[0]
            if received is None or received < cutoff:
                continue
            repeats.add(key, text_of(category), received, text_of(number))
    ctx = Context(settings, calendar, now, counter, repeats, _last_contacts(store), numbering)
    audit: list[dict] = []
    seen: dict[str, int] = {}  # number -> the first row holding it, among the closed rows
    for r, number in zip(closed.rows, closed.columns["complaint_no"]):
        if number:
            number = number.strip() if number.__class__ is str else text_of(number)
            if number and (number not in seen or r < seen[number]):
                seen[number] = r
    new_rows = sorted((r for r in open_rows if not complaints[r.row_id].number),
                      key=lambda r: (complaints[r.row_id].received_at or datetime.max, r.row_id))
    old_rows = [r for r in open_rows if complaints[r.row_id].number]
    for row in old_rows + new_rows:
        c = complaints[row.row_id]
        if c.number:
            if c.number in seen and seen[c.number] != row.row_id:
                message = f"投诉编号与第 {seen[c.number]} 行重复，请核对"
                apply_changes(store, row, {"validation": message}, c.number, now, audit)
                summary.messages.append(f"第 {row.row_id} 行：{message}")
                continue
            seen[c.number] = row.row_id
        was_new = not c.number
        values = evaluate(c, ctx)
        if values is None:
            continue
        if was_new and c.number:
            summary.add("numbered")
            repeats.add(customer_key(c.customer_id, c.contact), c.category, c.received_at, c.number)
        changed = apply_changes(store, row, to_cells(values, store.lang), c.number, now, audit)
        if changed and not was_new:
            summary.add("updated")
        if values.get("validation"):
            summary.messages.append(f"第 {row.row_id} 行 {c.number or ''}：{values['validation']}".replace(" ：", "："))
        if values.get("is_repeat") and was_new:
            summary.add("repeats")
        if values.get("priority") == "P0" and was_new:
            summary.add("urgent")
    summary.add("cells", len(audit))
    if audit:
        store.append_table("audit", audit)
    if counter.last != counter_before:
        store.replace_table("counter", [{"prefix": k, "last": v} for k, v in sorted(counter.last.items())])
    summary.data["changed"] = bool(audit) or counter.last != counter_before
    if any("节假日安排未发布" in m for m in summary.messages):
        summary.warnings.append("部分时限落在尚未发布节假日安排的年份，已按周一至周五计算，请在 节假日 表中补充。")
    return summary


def assign(store: RegisterStore, now: datetime) -> Summary:
    summary = refresh(store, now, numbering=True, action="assign")
    if summary.data["changed"]:
        save(store, summary)
    return summary


def alert_rows(store: RegisterStore, now: datetime) -> list[dict]:
    """Every at-risk / breached clock and every pending callback, soonest due first."""
    settings = store.settings()
    managers = "、".join(p.name for p in settings.people("manager"))
    out = []
    state_labels = {labels.label(labels.CLOCK_STATE, k, store.lang): k for k in ("at_risk", "breached")}
    state_labels.update({"at_risk": "at_risk", "breached": "breached"})
    open_rows, _ = store.split_rows(())  # a closed complaint has no clock or callback left open
    for row in open_rows:
        v = row.values
        number = text_of(v.get("complaint_no"))
        if not number:
            continue
        escalated = text_of(v.get("escalated")) in ("是", "Yes", "True", "1")
        cc = text_of(v.get("cc")) + (f"；升级：{managers}" if escalated and managers else "")
        common = {"complaint_no": number, "priority": text_of(v.get("priority")),
                  "handler": text_of(v.get("handler")), "department": text_of(v.get("department")),
                  "cc": cc}
        for spec in CLOCK_TABLE:
            state = state_labels.get(text_of(v.get(spec.status_col)))
            if not state:
                continue
            due, _ = parse_datetime(v.get(spec.due_col))
            over = round((now - due).total_seconds() / 3600, 1) if due and now > due else 0
            out.append(dict(common, clock=CLOCK_LABELS[spec.key][0 if store.lang == "zh" else 1],
                            state=labels.label(labels.CLOCK_STATE, state, store.lang), due=due,
                            hours_over=over))
        callback = text_of(v.get("callback_required")) in ("是", "Yes")
        if callback and not v.get("callback_done_at"):
            out.append(dict(common, clock="主管回访" if store.lang == "zh" else "Callback",
                            state="待回访" if store.lang == "zh" else "Pending", due=None, hours_over=0))
    out.sort(key=lambda a: (a["due"] is None, a["due"] or now, a["complaint_no"]))
    return out


def check_sla(store: RegisterStore, now: datetime) -> Summary:
    summary = refresh(store, now, numbering=False, action="sla")
    alerts = alert_rows(store, now)
    formatting_added = store.ensure_formatting()
    # the same alerts give the same repr (values in the order alert_rows puts them): no text per cell
    key = hashlib.sha1(repr(alerts).encode("utf-8")).hexdigest()
    if _replace_if_changed(store, "alerts", lambda: alerts, key):
        summary.data["changed"] = True
    summary.data["alerts"] = alerts
    if _refresh_case_library(store):
        summary.data["changed"] = True
    summary.counts["breached"] = sum(1 for a in alerts if a["state"] in ("已超时", "Breached"))
    summary.counts["at_risk"] = sum(1 for a in alerts if a["state"] in ("即将超时", "At risk"))
    if summary.data["changed"] or formatting_added:
        save(store, summary)
    return summary


def _refresh_case_library(store: RegisterStore) -> bool:
    """Rewrite 案例库 when what it shows changed. A store that can tell keys it by the rows it is
    built from, so nothing is built while they are as they were when it was last written."""
    key = store.rows_fingerprint(case_library.in_case_library, case_library.BUILT_FROM)
    return _replace_if_changed(store, "cases", lambda: case_library.case_library_rows(store), key)


def _replace_if_changed(store: RegisterStore, role: str, build, key: str | None) -> bool:
    """Rewrite the tool sheet `role` with build()'s rows unless it holds them already. A store that
    remembers what its derived sheets were built from (the fast store, by `key`) answers without
    building when the key matches, and without reading the sheet when it does not; otherwise the
    sheet is read and compared as the user sees it (`_comparable`)."""
    built = store.built_from(role) if key is not None else None
    if built is not None and built == key:
        return False
    rows = build()
    if built is not None:  # the sheet is unchanged since it was written from other rows
        changed = True
    else:
        shown = store.table(role)
        changed = len(shown) != len(rows) or [_comparable(r) for r in shown] != [_comparable(r) for r in rows]
    if changed:
        store.replace_table(role, rows)
    if key is not None:
        store.remember_built(role, key)
    return changed


def _comparable(alert: dict) -> tuple:
    return tuple(sorted((k, display(v)) for k, v in alert.items() if v not in (None, "", 0)))
