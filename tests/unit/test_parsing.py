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
    assert len(message) < 60


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
