"""Services — the 案例库 sheet: complaints marked 入案例库, masked, rebuilt by `sla` when they change."""
from __future__ import annotations

from ..adapters.store import RegisterStore
from ..domain.masking import mask_record
from ..domain.model import SCORE_KEYS
from ..domain.parsing import is_yes, text_of

CASE_KEYS = ("complaint_no", "category", "product", "description", "cause_analysis", "plan_measures",
             "resolution_type", "responsibility", "improvement", "customer_name")
BUILT_FROM = CASE_KEYS + tuple(SCORE_KEYS)  # what a row's entry in 案例库 depends on


def in_case_library(values: dict) -> bool:
    return is_yes(values.get("case_library"))


def case_library_rows(store: RegisterStore) -> list[dict]:
    """Rows marked 入案例库, masked, for the 案例库 sheet. Of the closed complaints only the
    marked ones are read in full."""
    open_rows, closed = store.split_rows(("case_library",))
    marked = [r for r, value in zip(closed.rows, closed.columns["case_library"]) if is_yes(value)]
    out = []
    for row in sorted(open_rows + store.read_full(marked), key=lambda row: row.row_id):
        v = row.values
        if in_case_library(v) and v.get("complaint_no"):
            masked = mask_record({k: text_of(v.get(k)) for k in CASE_KEYS})
            scores = "/".join(text_of(v.get(k)) or "-" for k in SCORE_KEYS)
            out.append({"complaint_no": masked["complaint_no"], "category": masked["category"],
                        "product": masked["product"], "description": masked["description"],
                        "cause_analysis": masked["cause_analysis"], "plan_measures": masked["plan_measures"],
                        "resolution_type": masked["resolution_type"], "responsibility": masked["responsibility"],
                        "improvement": masked["improvement"], "scores": scores,
                        "customer": masked["customer_name"]})
    return out
