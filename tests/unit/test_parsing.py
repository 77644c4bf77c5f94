from datetime import datetime

import pytest

from complaintdesk.domain.parsing import (
    customer_key,
    normalise_phone,
    parse_bool,
    parse_datetime,
    parse_money,
    parse_score,
    text_of,
)


@pytest.mark.parametrize("text", ["2026-10-08 14:30", "2026/10/8 14:30", "2026年10月8日 14:30",
                                  "2026年10月8日14时30分", "2026.10.08 14:30", "2026-10-08T14:30:00",
                                  "2026年10月8日 下午2:30", " 2026-10-08  14:30 "])
def test_date_texts(text):
    assert parse_datetime(text) == (datetime(2026, 10, 8, 14, 30), None)


def test_excel_serial_and_objects():
    assert parse_datetime(46303.6041666667)[0] == datetime(2026, 10, 8, 14, 30)
    assert parse_datetime(datetime(2026, 1, 1, 8, 0, 0, 123))[0] == datetime(2026, 1, 1, 8, 0)
    assert parse_datetime(None) == (None, None)
    assert parse_datetime("   ") == (None, None)


@pytest.mark.parametrize("junk", ["上周三下午", "2026-13-45", -5, 10**9, True, "x" * 500])
def test_garbage_dates_are_messages(junk):
    value, message = parse_datetime(junk)
    assert value is None and message.startswith("无法识别的时间")
    assert len(message) < 80  # a validation cell's note, the text cut at 30 characters
    if isinstance(junk, str) and junk != "2026-13-45":
        assert "2026/10/8 15:30" in message  # the refusal says which forms are read


# The forms Chinese staff type, and what they mean (the table is the parser's specification).
STAFF_FORMS = [
    ("2026/10/8 15:30", datetime(2026, 10, 8, 15, 30)),
    ("2026.10.8", datetime(2026, 10, 8)),
    ("2026.10.8 15:30", datetime(2026, 10, 8, 15, 30)),
    ("2026年10月8日 15时30分", datetime(2026, 10, 8, 15, 30)),
    ("2026年10月8日下午3点半", datetime(2026, 10, 8, 15, 30)),
    ("2026年10月8日 上午9:05", datetime(2026, 10, 8, 9, 5)),
    ("2026/10/8 下午3点", datetime(2026, 10, 8, 15, 0)),
    ("2026-10-08 15点", datetime(2026, 10, 8, 15, 0)),
    ("2026年10月8号 晚上8点", datetime(2026, 10, 8, 20, 0)),
    ("2026年10月8日 中午12点", datetime(2026, 10, 8, 12, 0)),
    ("2026年10月8日 凌晨12点", datetime(2026, 10, 8, 0, 0)),
    ("２０２６/１０/８ １５：３０", datetime(2026, 10, 8, 15, 30)),   # full-width digits and colon
    ("2026年10月8日", datetime(2026, 10, 8)),
    (46303.6458333333, datetime(2026, 10, 8, 15, 30)),              # an Excel serial
]


@pytest.mark.parametrize("typed, meant", STAFF_FORMS, ids=[str(t) for t, _ in STAFF_FORMS])
def test_the_forms_staff_type(typed, meant):
    assert parse_datetime(typed) == (meant, None)


@pytest.mark.parametrize("typed, said", [
    ("10月8日下午3点半", "缺少年份"), ("2026年2月30日", "日期或钟点不存在"), ("2026年10月8日 25点", "日期或钟点不存在"),
])
def test_forms_that_cannot_be_a_time_say_why(typed, said):
    value, message = parse_datetime(typed)
    assert value is None and said in message
    assert "2026/10/8 15:30" in message or "不存在" in said  # a form without its year is shown the forms


YEARLESS = [  # (typed, the row's moment it takes its year from, meant)
    ("10月8日下午3点半", datetime(2026, 10, 12, 10), datetime(2026, 10, 8, 15, 30)),
    ("12月30日 10点", datetime(2027, 1, 2, 9), datetime(2026, 12, 30, 10)),      # typed after New Year
    ("1月3日 9:00", datetime(2026, 12, 30, 10), datetime(2027, 1, 3, 9)),        # resolved after New Year
    ("10.8 15:30", datetime(2026, 10, 9), datetime(2026, 10, 8, 15, 30)),
    ("2月29日", datetime(2028, 3, 1), datetime(2028, 2, 29)),                      # a leap year near
]


@pytest.mark.parametrize("typed, near, meant", YEARLESS, ids=[t for t, _, _ in YEARLESS])
def test_a_time_without_its_year_takes_the_nearest_year_of_its_row(typed, near, meant):
    assert parse_datetime(typed, near) == (meant, None)
    assert parse_datetime(typed)[0] is None  # nothing to take it from: refused, with the forms
    assert parse_datetime("2月30日", near)[1].endswith("（日期或钟点不存在）")


def test_a_register_row_with_yearless_times_is_numbered_and_reported_alike(settings):
    from complaintdesk.adapters.store import MemoryStore
    from complaintdesk.services.register import assign
    from complaintdesk.services.transfer import record
    from tests.conftest import complaint
    store = MemoryStore(settings, [complaint(received_at="10月8日下午3点半", first_response_at="10月8日 16点")])
    summary = assign(store, datetime(2026, 10, 12, 10))
    values = store.values(2)
    assert values["complaint_no"] == "20261008-CS-001" and "缺少年份" not in (values.get("validation") or "")
    assert values["response_status"] == "按时完成" and summary.counts["numbered"] == 1
    assert values["received_at"] == "10月8日下午3点半"  # the staff cell stays as typed
    exported = record(values)
    assert exported["received_at"] == "2026-10-08T15:30:00" and exported["first_response_at"] == "2026-10-08T16:00:00"


def test_bools_scores_money():
    assert parse_bool("是") == (True, None) and parse_bool("N") == (False, None)
    assert parse_bool(1) == (True, None) and parse_bool("TRUE") == (True, None)
    assert parse_bool("也许")[0] is None and parse_bool("也许")[1]
    assert parse_score("4") == (4, None) and parse_score(5.0) == (5, None)
    assert parse_score(6)[0] is None and parse_score("3.5")[1] and parse_score("好")[1]
    assert parse_money("1,200元") == (1200.0, None) and parse_money("￥30")[0] == 30
    assert parse_money("很多")[1]


def test_phone_normalisation_and_customer_key():
    assert normalise_phone("+86 138-1234-1234") == "13812341234"
    assert normalise_phone("0086 13812341234") == "13812341234"
    assert normalise_phone("8613812341234") == "13812341234"
    assert customer_key("", "138 1234 1234") == customer_key(None, "+86-13812341234")
    assert customer_key("C100", "138") == "id:c100"
    assert customer_key("", "Alice@Example.com") == "mail:alice@example.com"
    assert customer_key("", "") is None
    assert text_of(12.0) == "12" and text_of(None) == ""
