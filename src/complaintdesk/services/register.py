"""Services — `assign` and `sla`: recompute the automation columns of the register.

Both run the same pass (number new rows when asked, then evaluate every row
that is not closed) and write only what changed, audited. `sla` also rewrites
the 预警 sheet and makes sure the red/amber formatting is there.
"""
from __future__ import annotations

import hashlib
from collections import Counter as Tally
from datetime import datetime, timedelta
from itertools import chain

from ..adapters.store import RegisterStore
from ..domain import labels
from ..domain.engine import Context, evaluate, to_cells
from ..domain.group_events import EventCandidate, find_group_events
from ..domain.handling import WAITING
from ..domain.improvement import action_state, read_actions
from ..domain.intake import Counter, RepeatIndex
from ..domain.model import Brief, Complaint, brief_of, parse_complaint
from ..domain.parsing import customer_keys, excel_serial, is_yes, number_key, parse_datetime, text_of
from ..domain.schema import STAMP_KEYS
from ..domain.settings import CLOCK_LABELS, group_rule
from ..domain.sla import CLOCK_TABLE
from . import case_library
from .common import (
    Summary,
    apply_changes,
    build_calendar,
    display,
    fill_stamps,
    save,
)
from .readers import KEPT_NOTE, archived_columns, missing_archives, numbers_of
from .workload import workload_rows


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


def _contacts(store: RegisterStore) -> tuple[dict[str, datetime], dict[str, list]]:
    """From 沟通记录: each complaint's latest contact, and the pauses it shows — an entry whose 下一步
    is 等待客户 pauses the case until the complaint's next entry (None: still waiting)."""
    entries: dict[str, list[tuple[datetime, bool]]] = {}
    for entry in store.table("comms"):
        number = text_of(entry.get("complaint_no"))
        moment, _ = parse_datetime(entry.get("time"))
        if number and moment:
            waiting = text_of(entry.get("next_step")).lower() in WAITING
            entries.setdefault(number, []).append((moment, waiting))
    last = {number: max(moment for moment, _ in items) for number, items in entries.items()}
    pauses: dict[str, list] = {}
    for number, items in entries.items():
        items.sort()
        for i, (moment, waiting) in enumerate(items):
            if waiting:
                pauses.setdefault(number, []).append((moment, items[i + 1][0] if i + 1 < len(items) else None))
    return last, pauses


def _known_numbers(open_rows, closed, archived) -> frozenset[str] | None:
    """Every number the register and its archives hold (number_key) — read only when a row names
    a complaint it was merged into."""
    if not any(text_of(r.values.get("merged_into")) for r in open_rows):
        return None
    numbers = chain((r.values.get("complaint_no") for r in open_rows), closed.columns["complaint_no"],
                    archived["complaint_no"])
    return frozenset(number_key(n) for n in numbers if n)


# what refresh needs of a closed complaint: its number (numbering, duplicates) and what repeat
# detection compares
CLOSED_KEYS = ("complaint_no", "received_at", "customer_id", "contact", "category")


def refresh(store: RegisterStore, now: datetime, numbering: bool, action: str, let_go: bool = True) -> Summary:
    """Number new rows (when `numbering`) and recompute every row that is not closed: the steps
    below, in order — read, repeat index, evaluate each row, record what changed. `let_go`: the
    caller reads no row again before saving, so the store may let go of each row once written."""
    summary = Summary(action)
    settings = store.settings()
    open_rows, closed = store.split_rows(CLOSED_KEYS)
    # as stored, like the closed rows' columns; none the register holds itself
    archived = archived_columns(store, CLOSED_KEYS, numbers_of(open_rows, closed))
    # numbering sees every number; the counter table alone serves the 群诉 numbers of an `sla`
    counter = _counter(store, chain((r.values.get("complaint_no") for r in open_rows), archived["complaint_no"],
                                    closed.columns["complaint_no"]) if numbering else ())
    counter_before = dict(counter.last)
    # what numbering order, repeats and group events need of every open complaint; each is parsed
    # in full only when evaluated (200,000 new rows would otherwise be 200,000 Complaints at once)
    briefs = {row.row_id: brief_of(row, now) for row in open_rows}
    repeats = _repeat_index(briefs.values(), chain(zip(*(closed.columns[k] for k in CLOSED_KEYS)),
                                                       zip(*(archived[k] for k in CLOSED_KEYS))),
                            int(settings.param("repeat_days")))
    missing = missing_archives(store)
    if missing:  # said first; what the missing archives gave is kept, never lowered
        summary.warnings[:0] = [*missing, KEPT_NOTE]
    last_contacts, pauses = _contacts(store)
    ctx = Context(settings, build_calendar(store), now, counter, repeats, last_contacts, numbering,
                  archives_missing=bool(missing), pauses=pauses,
                  known_numbers=_known_numbers(open_rows, closed, archived))
    before = {text_of(r.values.get("group_event")) for r in open_rows} - {""}
    ctx.group_events = _group_events(open_rows, briefs, settings, counter)
    audit, members = _evaluate_rows(store, open_rows, briefs, ctx, _first_rows(closed), summary, let_go)
    _say_events(summary, ctx.group_events, before, members)
    if audit:
        store.append_table("audit", audit)
    if counter.last != counter_before:
        store.replace_table("counter", [{"prefix": k, "last": v} for k, v in sorted(counter.last.items())])
    summary.data["changed"] = bool(audit) or counter.last != counter_before
    if any("节假日安排未发布" in m for m in summary.messages):
        summary.warnings.append("部分时限落在尚未发布节假日安排的年份，已按周一至周五计算，请在 节假日 表中补充。")
    return summary


def _repeat_index(briefs, earlier, repeat_days: int) -> RepeatIndex:
    """Every open complaint (`briefs`), and the closed and archived ones (`earlier`: tuples of CLOSED_KEYS as
    stored) recent enough to be "earlier within the window" of a complaint evaluated now, from a
    customer evaluated now — those are not parsed in full."""
    repeats = RepeatIndex()
    for c in briefs:
        repeats.add(customer_keys(c.customer_id, c.contact), c.category, c.received_at, c.number)
    earliest = min((c.received_at for c in briefs if c.received_at), default=None)
    wanted = {key for c in briefs for key in customer_keys(c.customer_id, c.contact)}
    if earliest is None or not wanted:
        return repeats
    cutoff = earliest - timedelta(days=repeat_days + 1)
    cutoff_serial = excel_serial(cutoff)
    for number, received, customer_id, contact, category in earlier:
        if isinstance(received, (int, float)) and not isinstance(received, bool) and received < cutoff_serial:
            continue
        keys = customer_keys(customer_id, contact)
        if wanted.isdisjoint(keys):  # no complaint evaluated now is from this customer
            continue
        received = parse_datetime(received)[0]
        if received is None or received < cutoff:
            continue
        repeats.add(keys, text_of(category), received, text_of(number))
    return repeats


def _group_events(open_rows, briefs: dict[int, Brief], settings, counter: Counter) -> dict[int, str]:
    """Row -> 群诉编号 of the open complaints in a group event (设置's rule): valid complaints
    with a received time are candidates; a new event's number comes from the counter."""
    rule = group_rule(settings)
    candidates = []
    for row in open_rows:
        c = briefs[row.row_id]
        if c.received_at is None or c.invalid or not c.is_complaint:
            continue
        candidates.append(EventCandidate(row.row_id, c.received_at, c.category,
                                         {k: text_of(row.values.get(k)) for k in rule.fields},
                                         text_of(row.values.get("group_event"))))
    return find_group_events(candidates, rule, counter.issue_event)


def _say_events(summary: Summary, events: dict[int, str], before: set[str], complaints) -> None:
    """One line per group event that is new this run (or grew): its complaints, urgent now."""
    members: dict[str, list[int]] = {}
    for row_id, number in events.items():
        members.setdefault(number, []).append(row_id)
    for number, rows in sorted(members.items()):
        if number in before:
            continue
        summary.add("group_events")
        first = complaints[min(rows, key=lambda r: complaints[r].received_at)]
        summary.warnings.append(f"群诉事件 {number}：{len(rows)} 起 {first.category or '未分类'} 投诉"
                                f"（{first.product or '同一对象'}），已升为紧急/P0 并升级至客服经理："
                                + listed(sorted(complaints[r].number for r in rows)))


def listed(numbers: list[str], most: int = 30) -> str:
    """Complaint numbers joined for a cell or a line: the first `most`, then how many in all."""
    return "、".join(numbers[:most]) + (f" 等 {len(numbers)} 起" if len(numbers) > most else "")


def _first_rows(closed) -> dict[str, int]:
    """Number -> the first closed row holding it (a later row with that number is a duplicate)."""
    seen: dict[str, int] = {}
    for r, number in zip(closed.rows, closed.columns["complaint_no"]):
        if number:
            number = number.strip() if number.__class__ is str else text_of(number)
            if number and (number not in seen or r < seen[number]):
                seen[number] = r
    return seen


def _evaluate_rows(store: RegisterStore, open_rows, briefs: dict[int, Brief], ctx: Context, seen: dict[str, int],
                   summary: Summary, let_go: bool) -> tuple[list[dict], dict[int, Complaint]]:
    """Evaluate the numbered rows, then the new ones in order of receipt (so numbers follow it);
    write what changed into the store, which may then let go of the row (`let_go`: see refresh);
    the audit lines, and the complaints of group events as evaluated (to be named)."""
    audit: list[dict] = []
    members: dict[int, Complaint] = {}
    cells = 0
    new_rows = sorted((r for r in open_rows if not briefs[r.row_id].number),
                      key=lambda r: (briefs[r.row_id].received_at or datetime.max, r.row_id))
    old_rows = [r for r in open_rows if briefs[r.row_id].number]
    for row in old_rows + new_rows:
        cells += _evaluate_row(store, row, ctx, seen, summary, audit, members)
        if let_go:
            store.release((row.row_id,))
    summary.add("cells", cells)  # the cells written (the audit has a line per row filled, per value changed)
    return audit, members


def _evaluate_row(store: RegisterStore, row, ctx: Context, seen: dict[str, int], summary: Summary,
                  audit: list[dict], members: dict[int, Complaint]) -> int:
    """One row evaluated and what changed written; the cells written."""
    c = parse_complaint(row, ctx.now)
    if row.row_id in ctx.group_events:
        members[row.row_id] = c
    if c.number:
        if c.number in seen and seen[c.number] != row.row_id:
            message = f"投诉编号与第 {seen[c.number]} 行重复，请核对"
            summary.messages.append(f"第 {row.row_id} 行：{message}")
            return apply_changes(store, row, {"validation": message}, c.number, ctx.now, audit)
        seen[c.number] = row.row_id
    was_new = not c.number
    values = evaluate(c, ctx)
    if values is None:
        return 0
    if was_new and c.number:
        ctx.repeats.add(customer_keys(c.customer_id, c.contact), c.category, c.received_at, c.number)
    stamped = {k: values.pop(k) for k in STAMP_KEYS if k in values}
    changed = apply_changes(store, row, to_cells(values, store.lang), c.number, ctx.now, audit)
    changed += fill_stamps(store, row, stamped, c.number, ctx.now, audit)
    _count(summary, row.row_id, c.number, values, was_new, changed)
    return changed


def _count(summary: Summary, row_id: int, number: str | None, values: dict, was_new: bool, changed) -> None:
    if was_new and number:
        summary.add("numbered")
    if changed and not was_new:
        summary.add("updated")
    if values.get("validation"):
        summary.messages.append(f"第 {row_id} 行 {number or ''}：{values['validation']}".replace(" ：", "："))
    if values.get("is_repeat") and was_new:
        summary.add("repeats")
    if values.get("priority") == "P0" and was_new:
        summary.add("urgent")


def assign(store: RegisterStore, now: datetime) -> Summary:
    summary = refresh(store, now, numbering=True, action="assign")
    if summary.data["changed"]:
        save(store, summary, now)
    return summary


def alert_rows(store: RegisterStore, now: datetime, open_rows=None) -> list[dict]:
    """Every at-risk / breached clock and every pending callback, soonest due first."""
    managers = "、".join(p.name for p in store.settings().people("manager"))
    state_labels = _alert_states(store.lang)
    if open_rows is None:
        open_rows, _ = store.split_rows(())  # a closed complaint has no clock or callback left open
    out = [a for row in open_rows for a in _row_alerts(row.values, state_labels, managers, store.lang, now)]
    out += action_alerts(read_actions(store.table("actions")), now, store.lang)
    out.sort(key=lambda a: (a["due"] is None, a["due"] or now, a["complaint_no"]))
    return _event_alerts(open_rows, managers, store.lang) + out


ACTION_CLOCK = {"zh": "整改", "en": "Improvement"}


def hours_over(now: datetime, due: datetime | None) -> float:
    """How many hours `due` lies behind `now`, to a tenth (0 when not past or none)."""
    return round((now - due).total_seconds() / 3600, 1) if due is not None and now > due else 0


def action_alerts(actions, now: datetime, lang: str) -> list[dict]:
    """整改 actions near or past their deadline, undone: an alert each, to their owner."""
    out = []
    for action in actions:
        state = action_state(action, now)
        if state not in ("at_risk", "breached"):
            continue
        over = hours_over(now, action.due) if state == "breached" else 0
        out.append({"complaint_no": action.label, "clock": ACTION_CLOCK.get(lang, ACTION_CLOCK["en"]),
                    "state": labels.label(labels.CLOCK_STATE, state, lang), "due": action.due, "hours_over": over,
                    "priority": "", "handler": action.owner, "department": "",
                    "cc": (action.problem or "、".join(action.complaints))[:100]})
    return out


EVENT_CLOCK = {"zh": "群诉事件", "en": "Group complaint"}
NOT_COMPLAINTS = ("咨询", "建议", "consultation", "suggestion")


def _event_alerts(open_rows, managers: str, lang: str) -> list[dict]:
    """One alert per group event among the open complaints, naming all its numbers; first on 预警."""
    events: dict[str, list[dict]] = {}
    for row in open_rows:
        number = text_of(row.values.get("group_event"))
        if number and row.values.get("complaint_no"):
            events.setdefault(number, []).append(row.values)
    out = []
    for number, rows in sorted(events.items()):
        numbers = listed(sorted(text_of(v.get("complaint_no")) for v in rows))
        state = f"{len(rows)} 起投诉：{numbers}" if lang == "zh" else f"{len(rows)} complaints: {numbers}"
        out.append({"complaint_no": number, "clock": EVENT_CLOCK.get(lang, EVENT_CLOCK["en"]), "state": state,
                    "due": None, "hours_over": 0, "priority": "P0",
                    "handler": "、".join(dict.fromkeys(text_of(v.get("handler")) for v in rows if v.get("handler"))),
                    "department": "、".join(dict.fromkeys(text_of(v.get("department")) for v in rows
                                                         if v.get("department"))),
                    "cc": f"升级：{managers}" if managers else ""})
    return out


def _alert_states(lang: str) -> dict[str, str]:
    """A clock status cell's text -> the alert state it is (at_risk, breached), from the label table."""
    states = {labels.label(labels.CLOCK_STATE, k, lang): k for k in ("at_risk", "breached")}
    return states | {"at_risk": "at_risk", "breached": "breached"}


def _row_alerts(v: dict, state_labels: dict[str, str], managers: str, lang: str, now: datetime) -> list[dict]:
    """The alerts of one open row: its clocks at risk or breached (as the row shows them), and its
    supervisor callback when one is required and not done."""
    number = text_of(v.get("complaint_no"))
    if not number or (text_of(v.get("request_type")) in NOT_COMPLAINTS and text_of(v.get("priority")) != "P0"):
        return []  # a 咨询 or 建议 raises no alert — unless it is urgent (a safety question)
    escalated = is_yes(v.get("escalated"))
    cc = text_of(v.get("cc")) + (f"；升级：{managers}" if escalated and managers else "")
    common = {"complaint_no": number, "priority": text_of(v.get("priority")),
              "handler": text_of(v.get("handler")), "department": text_of(v.get("department")), "cc": cc}
    out = []
    for spec in CLOCK_TABLE:
        state = state_labels.get(text_of(v.get(spec.status_col)))
        if not state:
            continue
        due, _ = parse_datetime(v.get(spec.due_col))
        over = hours_over(now, due)
        out.append(dict(common, clock=CLOCK_LABELS[spec.key][0 if lang == "zh" else 1],
                        state=labels.label(labels.CLOCK_STATE, state, lang), due=due, hours_over=over))
    if is_yes(v.get("callback_required")) and not v.get("callback_done_at"):
        due, _ = parse_datetime(v.get("callback_due"))
        late = due is not None and now > due
        pending = "待回访" if lang == "zh" else "Pending"
        state = labels.label(labels.CLOCK_STATE, "breached", lang) if late else pending
        owner = text_of(v.get("callback_owner"))
        out.append(dict(common, clock="主管回访" if lang == "zh" else "Callback", state=state, due=due,
                        hours_over=hours_over(now, due),
                        handler=owner or common["handler"]))
    return out


def check_sla(store: RegisterStore, now: datetime) -> Summary:
    summary = refresh(store, now, numbering=False, action="sla", let_go=False)  # (read again below)
    open_rows, _ = store.split_rows(())
    alerts = alert_rows(store, now, open_rows)
    formatting_added = store.ensure_formatting()
    # the same alerts give the same repr (values in the order alert_rows puts them): no text per cell
    key = hashlib.sha1(repr(alerts).encode("utf-8")).hexdigest()
    if _replace_if_changed(store, "alerts", lambda: alerts, key):
        summary.data["changed"] = True
    summary.data["alerts"] = alerts
    if _refresh_case_library(store):
        summary.data["changed"] = True
    workload = workload_rows(open_rows, store.lang)
    if _replace_if_changed(store, "workload", lambda: workload, None):
        summary.data["changed"] = True
    states = Tally(map(_alert_states(store.lang).get, (a["state"] for a in alerts)))
    summary.counts["breached"], summary.counts["at_risk"] = states["breached"], states["at_risk"]
    if summary.data["changed"] or formatting_added:
        save(store, summary, now)
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
