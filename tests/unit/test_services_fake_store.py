"""Service tests on the in-memory store: numbering order, idempotence, audit, staff cells untouched."""
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from complaintdesk.adapters.store import MemoryStore
from complaintdesk.domain.schema import AUTOMATION_KEYS, STAMP_KEYS
from complaintdesk.domain.settings import default_settings
from complaintdesk.services.register import assign, check_sla
from tests.conftest import NOW, complaint


def test_numbers_follow_received_time_then_row_order(settings):
    store = MemoryStore(settings, [
        complaint(received_at=datetime(2026, 10, 9, 15, 0)),
        complaint(received_at=datetime(2026, 10, 9, 9, 0), contact="13900000001"),
        complaint(received_at=datetime(2026, 10, 9, 9, 0), contact="13900000002"),
        complaint(received_at=datetime(2026, 10, 10, 9, 0), dept_code=""),
    ])
    summary = assign(store, NOW)
    numbers = [store.values(r)["complaint_no"] for r in (2, 3, 4, 5)]
    assert numbers == ["20261009-CS-003", "20261009-CS-001", "20261009-CS-002", "20261010-CS-001"]
    assert summary.counts["numbered"] == 4 and store.saved == 1
    assert store.tables["counter"] == [{"prefix": "20261009-CS", "last": 3}, {"prefix": "20261010-CS", "last": 1}]


def test_rerun_changes_nothing_and_deleted_numbers_are_not_reused(settings):
    store = MemoryStore(settings, [complaint(), complaint(contact="13900000000")])
    assign(store, NOW)
    audit_before = len(store.tables["audit"])
    again = assign(store, NOW)
    assert again.counts.get("cells") == 0 and len(store.tables["audit"]) == audit_before and store.saved == 1
    store.remove_register([3])  # staff delete the second row
    store.append_register(complaint(contact="13700000000"))
    assign(store, NOW)
    assert store.values(4)["complaint_no"] == "20261009-CS-003"


def test_repeat_complaint_is_linked_and_raised(settings):
    store = MemoryStore(settings, [complaint(received_at=datetime(2026, 9, 1, 9)),
                                   complaint(received_at=datetime(2026, 10, 9, 9))])
    assign(store, NOW)
    second = store.values(3)
    assert second["is_repeat"] == "是" and second["related_nos"] == "20260901-CS-001"
    assert second["priority"] == "P1"


def test_override_wins_and_is_audited(settings):
    store = MemoryStore(settings, [complaint(priority_override="P0")])
    assign(store, NOW)
    assert store.values(2)["priority"] == "P0" and store.values(2)["urgency"] == "紧急"
    audit = [a for a in store.tables["audit"] if a["column"] == "（自动填写）"]
    assert len(audit) == 1 and "优先级=P0" in audit[0]["new"].split("；") and audit[0]["source"] == "test"


def test_sla_writes_alerts(settings):
    store = MemoryStore(settings, [complaint(received_at=NOW - timedelta(hours=9))])
    assign(store, NOW - timedelta(hours=8))
    summary = check_sla(store, NOW)
    assert store.values(2)["response_status"] == "已超时"
    assert summary.counts["breached"] >= 1
    alert = store.tables["alerts"][0]
    # 01:00 is the night shift
    assert alert["clock"] == "响应" and alert["handler"] == "刘主管" and alert["hours_over"] == 1.0


cell_values = st.one_of(
    st.none(), st.text(max_size=40), st.integers(-10**6, 10**12), st.floats(allow_nan=False),
    st.booleans(), st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2035, 1, 1)),
    st.sampled_from(["=1+1", "+1+1", "-2+3", "@SUM(A1)", "\x00\x07", "是", "否", "P0", "2026-10-08 14:30",
                     "产品质量", "电话", "😀" * 5, "x" * 5000]),
)
staff_row = st.fixed_dictionaries({}, optional={k: cell_values for k in complaint()} | {
    k: cell_values for k in ("first_response_at", "resolved_at", "confirmed_at", "score_solution",
                             "priority_override", "cost", "objection", "customer_agrees", "plan_measures",
                             "plan_deadline", "plan_made_at", "approved_by", "approved_at", "assignee",
                             "assignee_dept", "paused_from", "paused_until", "reopened_at", "merged_into")})


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(staff_row, min_size=1, max_size=6))
def test_assign_never_touches_staff_cells_and_is_idempotent(rows):
    store = MemoryStore(default_settings(), rows)
    before = {rid: {k: v for k, v in store.values(rid).items() if k not in AUTOMATION_KEYS}
              for rid in range(2, 2 + len(rows))}
    assign(store, NOW)
    check_sla(store, NOW)
    first = {rid: store.values(rid) for rid in before}
    for rid, staff in before.items():  # staff cells as typed; the tool only fills an empty time stamp
        after = {k: v for k, v in first[rid].items() if k not in AUTOMATION_KEYS}
        stamped = {k for k in after if k in STAMP_KEYS and staff.get(k) in (None, "") and after[k] != staff.get(k)}
        assert {k: v for k, v in after.items() if k not in stamped} == {k: v for k, v in staff.items()
                                                                         if k not in stamped}
        assert all(after[k] == NOW for k in stamped)
    audit = len(store.tables.get("audit", []))
    assign(store, NOW)
    check_sla(store, NOW)
    assert {rid: store.values(rid) for rid in before} == first
    assert len(store.tables.get("audit", [])) == audit
    for rid in before:  # every row is numbered or says why not
        values = first[rid]
        assert values.get("complaint_no") or values.get("validation")


def test_the_streamed_export_is_the_json_of_the_list_of_records(settings):
    import json

    from complaintdesk.services.transfer import export_rows, record
    store = MemoryStore(settings, [complaint(), complaint(contact="13900000000", description="多行\n说明")])
    assign(store, NOW)
    text, count = export_rows(store, "json")
    expected = [record(r.values) for r in store.rows(full=True)]
    assert count == 2 and text == json.dumps(expected, ensure_ascii=False, indent=2, default=str) + "\n"
    assert export_rows(MemoryStore(settings, []), "json") == ("[]\n", 0)
    csv_text, n = export_rows(store, "csv")
    assert n == 2 and csv_text.count("\n") == 4  # header, two rows (one with a quoted line break)


def test_split_rows_gives_open_rows_and_closed_columns(settings):
    closed = complaint(complaint_no="20261001-CS-001", status="已关闭", closed_at=NOW - timedelta(days=3))
    not_yet = complaint(complaint_no="20261001-CS-002", status="已关闭")  # no closing time: still open
    store = MemoryStore(settings, [closed, not_yet, complaint(), closed | {"complaint_no": "20261001-CS-003"}])
    open_rows, columns = store.split_rows(("complaint_no", "status", "nope"))
    assert [r.row_id for r in open_rows] == [3, 4]
    assert columns.rows == [2, 5]
    assert columns.columns == {"complaint_no": ["20261001-CS-001", "20261001-CS-003"],
                               "status": ["已关闭", "已关闭"], "nope": [None, None]}
    assert [r.row_id for r in store.read_full([5, 2, 99])] == [2, 5]
    assert store.read_full([2])[0].values["description"] == closed["description"]


def test_export_records_convert_every_kind_of_cell():
    from datetime import date, datetime

    from complaintdesk.services.transfer import record
    r = record({"received_at": datetime(2026, 11, 2, 9, 30, 15, 600000), "closed_at": "2026/11/3 8:05",
                "resolved_at": date(2026, 11, 4), "confirmed_at": "不详", "survey_sent_at": "",
                "description": "", "remarks": 42, "customer_name": "王芳", "order_no": datetime(2026, 1, 2),
                "status": "已关闭", "safety_risk": "是", "escalated": "", "cost": 12.5})
    assert (r["received_at"], r["closed_at"], r["resolved_at"], r["confirmed_at"], r["survey_sent_at"]) == \
        ("2026-11-02T09:30:15", "2026-11-03T08:05:00", "2026-11-04", "不详", None)
    assert (r["description"], r["remarks"], r["customer_name"], r["order_no"]) == \
        (None, 42, "王芳", "2026-01-02T00:00:00")
    assert (r["status"], r["safety_risk"], r["escalated"], r["cost"], r["complaint_no"]) == \
        ("closed", True, None, 12.5, None)


def test_a_save_near_excel_row_limit_warns_from_eighty_percent(settings):
    """The 变更记录 of a desk that never archives: warned weeks ahead, refused only at the limit."""
    store = MemoryStore(settings, [complaint()])
    store.tables["audit"] = [{}] * (838_860 - 2)          # a header and these rows: 1 below 80 %
    quiet = assign(store, NOW)                             # numbering a complaint audits one line
    assert quiet.counts["cells"] > 10 and not quiet.warnings and store.saved == 1
    store.append_register(complaint(contact="13900000009"))
    loud = assign(store, NOW)
    assert store.saved == 2 and len(store.tables["audit"]) + 1 > 838_860
    assert loud.warnings == [f"工作表“变更记录”已有 {len(store.tables['audit']) + 1:,} 行，"
                             "是 Excel 上限 1,048,576 行的 80%，到达上限后将无法保存："
                             "请尽快运行“归档”，已关闭投诉的变更记录随之移到归档文件夹"]
    store.replace_table("audit", store.tables["audit"][-5:])   # as an archive leaves it
    assert store.row_notices == {}                             # the warning is taken back


def test_a_survey_line_without_a_number_fills_no_row(settings):
    from complaintdesk.services.casework import import_survey_table
    store = MemoryStore(settings, [complaint()])           # not numbered yet: its number cell is empty
    headers = ["投诉编号", "处理效率", "服务态度", "解决方案"]
    summary = import_survey_table(store, headers, [["", 5, 5, 5], ["20261001-CS-999", 4, 4, 4]], NOW)
    assert summary.messages == ["回访文件第 2 行：投诉编号“”不存在", "回访文件第 3 行：投诉编号“20261001-CS-999”不存在"]
    assert all(store.rows()[0].values.get(k) in (None, "") for k in ("score_efficiency", "score_attitude"))


def test_a_register_without_a_file_or_archive_folder_has_an_empty_shelf(settings, tmp_path):
    from complaintdesk.adapters.archive_shelf import archives_of
    for shelf in (archives_of(None), archives_of(tmp_path / "登记表.xlsx")):
        assert (shelf.files(), shelf.rows(), shelf.numbers()) == ([], [], set())
        assert shelf.rows_mentioning(["x"], [], ("description",)) == []
        assert shelf.columns(("complaint_no",)) == {"complaint_no": []}
    assert archives_of(tmp_path / "登记表.xlsx").folder == tmp_path / "archive"


def test_a_save_that_repairs_the_structure_audits_it_once(settings):
    from complaintdesk.adapters.register_structure import Repair
    from complaintdesk.services.structure import repair_structure, structure_notices
    store = MemoryStore(settings, [complaint()])
    store.drift = Repair(table_ref="A1:BP3", freeze=True, notes=["表格范围 A1:BP3", "冻结首行"])
    assert structure_notices(store) == ["登记表结构需要修复：表格范围 A1:BP3，冻结首行"
                                        "（下次保存时自动修复，或运行 complaintdesk check 登记表 --repair）"]
    summary = assign(store, NOW)
    repairs = [a for a in store.tables["audit"] if a["column"] == "结构修复"]
    assert [a["new"] for a in repairs] == ["结构修复：表格范围 A1:BP3，冻结首行"] and repairs[0]["time"] == NOW
    assert "结构修复：表格范围 A1:BP3，冻结首行" in summary.messages
    assert structure_notices(store) == []
    assert repair_structure(store, NOW).counts == {} and store.saved == 1  # nothing left: no save


def test_columns_without_their_dropdown_are_a_notice(settings):
    from complaintdesk.adapters.register_structure import Repair
    from complaintdesk.services.structure import repair_structure
    store = MemoryStore(settings, [complaint()])
    store.drift = Repair(uncovered=["接收渠道"])
    summary = repair_structure(store, NOW)
    assert summary.warnings == ["以下列没有下拉或校验规则（无法自动补回，可对照新建的登记表在 Excel 中恢复）：接收渠道"]
    assert store.saved == 0


def test_a_consultation_raises_no_alert_unless_it_is_urgent(settings):
    late = NOW - timedelta(hours=9)
    store = MemoryStore(settings, [complaint(received_at=late, request_type="咨询", contact="13900000001"),
                                   complaint(received_at=late, request_type="建议", contact="13900000002"),
                                   complaint(received_at=late, request_type="咨询", safety_risk="是",
                                             contact="13900000003"),
                                   complaint(received_at=late, contact="13900000004")])
    assign(store, NOW - timedelta(hours=8))
    alerts = check_sla(store, NOW).data["alerts"]
    assert sorted({a["complaint_no"] for a in alerts}) == [store.values(4)["complaint_no"],
                                                            store.values(5)["complaint_no"]]


def test_all_due_never_issues_the_survey_again_to_an_answered_or_closed_complaint(settings, tmp_path):
    from complaintdesk.services.casework import make_documents
    confirmed = dict(first_response_at=NOW - timedelta(days=2), resolved_at=NOW - timedelta(days=1),
                     confirmed_at=NOW - timedelta(hours=20), customer_agrees="是")
    store = MemoryStore(settings, [complaint(contact="13900000001", **confirmed),
                                   complaint(contact="13900000002", score_efficiency=5, score_attitude=5,
                                             score_solution=4, **confirmed)])
    assign(store, NOW)
    made = make_documents(store, NOW, all_due=True, kinds=["survey"], out_dir=tmp_path)
    assert [p.name.split("_")[0] for p in made.files] == [store.values(2)["complaint_no"]]
    assert store.values(3).get("survey_sent_at") in (None, "")  # answered: nothing stamped


def test_a_repeat_is_found_by_any_identity_of_the_customer(settings):
    """One phone with and without the id, one id with another phone: all the same customer."""
    store = MemoryStore(settings, [
        complaint(received_at=datetime(2026, 9, 1, 9), customer_id="C100", contact="13812341234"),
        complaint(received_at=datetime(2026, 9, 20, 9), customer_id="", contact="138-1234-1234"),
        complaint(received_at=datetime(2026, 10, 9, 9), customer_id="C100", contact="13900000000"),
        complaint(received_at=datetime(2026, 10, 9, 10), customer_id="C999", contact="13700000000"),
    ])
    assign(store, NOW)
    first, by_phone, by_id, other = (store.values(r) for r in (2, 3, 4, 5))
    assert by_phone["is_repeat"] == "是" and by_phone["related_nos"] == first["complaint_no"]
    assert by_id["related_nos"] == first["complaint_no"]  # the phone-only one shares no key with it
    assert other["is_repeat"] == "否"


def test_a_safety_word_makes_an_unmarked_complaint_urgent_and_staff_saying_no_wins(settings):
    from complaintdesk.domain.kpis import monthly_kpis
    from complaintdesk.services.transfer import record
    store = MemoryStore(settings, [
        complaint(description="烧水壶底座冒烟，有焦味", safety_risk=None, contact="13900000001", product="水壶"),
        complaint(description="烧水壶底座冒烟，有焦味", safety_risk="否", contact="13900000002", product="水壶2"),
        complaint(description="包装破损", safety_risk=None, demand="孩子吃到异物要求赔偿", contact="13900000003",
                  product="饼干"),
        complaint(description="物流慢", safety_risk=None, contact="13900000004", product="外套"),
    ])
    assign(store, NOW)
    smoke, said_no, foreign, plain = (store.values(r) for r in (2, 3, 4, 5))
    assert smoke["priority"] == "P0" and smoke["urgency"] == "紧急" and "疑似安全问题：冒烟" in smoke["validation"]
    assert said_no["priority"] == "P2" and "疑似安全问题" not in (said_no.get("validation") or "")
    assert foreign["priority"] == "P0" and "疑似安全问题：异物" in foreign["validation"]
    assert plain["priority"] == "P2"
    kpis = monthly_kpis([record(store.values(r)) for r in (2, 3, 4, 5)], "2026-10")
    assert kpis["suspected_safety"] == 2


class LettingGoStore(MemoryStore):
    """Records which rows the services said they were done with, and when."""

    def __init__(self, *args):
        super().__init__(*args)
        self.released: list[int] = []

    def release(self, row_ids) -> None:
        self.released.extend(row_ids)


def test_assign_lets_go_of_each_row_once_written_and_sla_of_none(settings):
    """assign saves right after evaluating: each row is handed back as soon as it is written (the
    streaming store may let go of it). sla reads every open row again for its alerts: it hands none back."""
    store = LettingGoStore(settings, [complaint(), complaint(contact="13900000000"), complaint(contact="13700000000")])
    assign(store, NOW)
    assert store.released == [2, 3, 4]
    store.released.clear()
    check_sla(store, NOW + timedelta(days=3))
    assert store.released == []
