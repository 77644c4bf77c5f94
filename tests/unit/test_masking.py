import pytest

from complaintdesk.domain.masking import mask_contact, mask_name, mask_record, mask_text


@pytest.mark.parametrize("name,masked", [("张", "张*"), ("张三", "张*"), ("张小明", "张**"),
                                         ("欧阳娜娜", "欧阳**"), ("司马光", "司马*"), ("欧阳", "欧*"),
                                         ("John Smith", "J***"), ("", "")])
def test_names(name, masked):
    assert mask_name(name) == masked


def test_contacts_and_free_text():
    assert mask_contact("13812341234") == "138****1234"
    assert mask_contact("+86 138-1234-1234") == "138****1234"
    assert mask_contact("alice@example.com") == "a***@example.com"
    assert mask_contact("021-12345678") == "021-****5678"
    text = "客户 13812341234 邮箱 bob@x.cn 身份证 110101199003071234"
    masked = mask_text(text)
    assert "13812341234" not in masked and "bob@" not in masked and "199003071234" not in masked
    assert mask_record({"customer_name": "李雷", "contact": "13900001111"}) == \
        {"customer_name": "李*", "contact": "139****1111"}


def test_numbers_are_masked_where_text_is():
    from complaintdesk.domain.masking import mask_record
    masked = mask_record({"contact": 13912345678, "customer_id": 110101199003071234.0, "description": 7,
                          "customer_name": None, "is_repeat": True})
    assert masked["contact"] == "139****5678" and "1990" not in masked["customer_id"]
    assert masked["description"] == "7" and masked["customer_name"] is None and masked["is_repeat"] is True


def test_free_text_loses_the_customers_own_name_and_numbers():
    from complaintdesk.domain.masking import mask_free_text, mask_record
    text = "张伟女士来电，手机13812341234，邮箱 zw@example.com，身份证110101199003071234"
    masked = mask_free_text(text, "张伟")
    assert masked == "张*女士来电，手机138****1234，邮箱 z***@example.com，身份证110***********1234"
    record = mask_record({"customer_name": "欧阳娜娜", "survey_comment": "欧阳娜娜说不满意",
                          "plan_measures": "回访欧阳娜娜"})
    assert record["survey_comment"] == "欧阳**说不满意" and record["plan_measures"] == "回访欧阳**"
    assert mask_free_text("张三丰", "") == "张三丰" and mask_free_text("张", "张") == "张"  # one character: no guess
