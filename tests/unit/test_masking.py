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
