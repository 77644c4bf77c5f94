"""Personal data in free text and in numbers does not leave customer service: find (masked by
default), export --masked and the 变更记录 line of a survey comment mask the customer's phone,
e-mail, ID number and own name wherever staff wrote them."""
from __future__ import annotations

import json

from openpyxl import load_workbook

from tests.conftest import complaint, type_rows

NOW = "2026-10-12T10:00"


def test_free_text_and_numeric_phones_are_masked_on_the_way_out(register, cli, tmp_path):
    type_rows(register, [complaint(customer_name="欧阳娜娜", contact=13912345678,
                                   description="欧阳娜娜来电 13912345678 反映漏电")])
    cli("assign", register, "--now", NOW)
    found = cli("find", register, "漏电").output
    assert "漏电" in found and "13912345678" not in found and "欧阳娜娜" not in found and "欧阳**" in found
    exported = json.loads(cli("export", register, "--masked").stdout)[0]
    assert exported["contact"] == "139****5678" and exported["description"].startswith("欧阳**来电 139****5678")
    number = exported["complaint_no"]
    survey = tmp_path / "回访.csv"
    survey.write_text(f"投诉编号,处理效率,服务态度,解决方案,回访意见\n{number},2,2,2,欧阳娜娜说电话13912345678没人接\n",
                      encoding="utf-8")
    cli("surveys", "import", register, survey, "--now", NOW)
    audit = [r for r in load_workbook(register)["变更记录"].iter_rows(values_only=True) if r[3] == "回访意见"]
    assert audit and audit[0][5] == "欧阳**说电话139****5678没人接"
    assert json.loads(cli("export", register).stdout)[0]["survey_comment"] == "欧阳娜娜说电话13912345678没人接"
