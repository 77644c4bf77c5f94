"""Data never decides where a file goes: complaint numbers supplied by another system's export (or
typed into the grey column) cannot write outside 文档/, create folders or crash `docs`."""
from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from complaintdesk.adapters.safe_paths import inside, safe_name
from complaintdesk.domain.intake import number_problem
from complaintdesk.errors import ComplaintDeskError
from tests.conftest import complaint, read_rows, type_rows
from tests.integration.test_cli_intake import write_csv

NOW = "2026-10-12T10:00"
HOSTILE = ["../../../x", "a/b", "..\\..\\x", "CON", "20261009-CS-001/../../y", "N" * 300, "C:\\Windows\\x"]


@pytest.mark.parametrize("text, name", [
    ("20261008-CS-001", "20261008-CS-001"), ("../../../x", "_/_/_/x".replace("/", "_")), ("a/b", "a_b"),
    ("..\\..\\x", "____x"), ("CON", "_CON"), ("nul.txt", "_nul.txt"), ("  .hidden. ", "hidden"),
    ("", "_"), ("..", "_"), ("a\x00b", "a_b"), ("x" * 300, "x" * 80), ("编号：7", "编号：7"),
])
def test_safe_name(text, name):
    assert safe_name(text) == name


def test_inside_refuses_a_path_out_of_its_folder(tmp_path):
    assert inside(tmp_path, "a.html") == tmp_path / "a.html"
    for name in ("../a.html", "sub/a.html", "/etc/passwd"):
        with pytest.raises(ComplaintDeskError, match="之外"):
            inside(tmp_path, name)


def test_number_problem_accepts_ours_and_the_legacy_pattern_only():
    assert number_problem("20261008-CS-001") is None
    assert "格式不符" in number_problem("TS123456")
    assert number_problem("TS123456", r"TS\d{6}") is None
    assert "路径字符" in number_problem("../TS123456", r".*")  # never, whatever the pattern allows
    assert "过长" in number_problem("9" * 41, r"\d+")


@pytest.fixture
def deep(tmp_path, cli) -> Path:
    """A register three folders down, so that a path escaping 文档/ would still land under tmp_path."""
    path = tmp_path / "a" / "b" / "c" / "登记表.xlsx"
    path.parent.mkdir(parents=True)
    cli("init", path)
    return path


def files_outside(root: Path, folder: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and folder not in p.parents
            and p.suffix in (".html", ".docx") and ".bak" not in p.parts]


def test_supplied_numbers_from_an_export_never_become_paths(deep, cli, tmp_path):
    register = deep
    source = tmp_path / "export.csv"
    write_csv(source, [dict(complaint(contact=f"1390000{i:04d}", product=f"产品{i}"), complaint_no=n)
                       for i, n in enumerate(HOSTILE)])
    out = cli("import", register, source, "--now", NOW).output.replace("\n", "")
    assert out.count("已忽略，登记编号时重新编号") == len(HOSTILE) and f"导入行 {len(HOSTILE)}" in out
    cli("assign", register, "--now", NOW)
    numbers = [r["complaint_no"] for r in read_rows(register)]
    assert numbers == [f"20261009-CS-{i:03d}" for i in range(1, len(HOSTILE) + 1)]
    cli("docs", register, "--all-due", "--now", NOW)
    documents = register.parent / "文档"
    assert files_outside(tmp_path, documents) == [] and all(p.parent == documents for p in documents.iterdir())


def test_a_hostile_number_typed_in_the_register_is_said_and_its_documents_stay_inside(deep, cli, tmp_path):
    register = deep
    type_rows(register, [dict(complaint(), complaint_no="../../evil"),
                         dict(complaint(contact="139"), complaint_no="N" * 300), complaint(contact="13800000000")])
    cli("assign", register, "--now", NOW)
    rows = read_rows(register)
    assert "含路径字符或过长" in rows[0]["validation"] and "含路径字符或过长" in rows[1]["validation"]
    out = cli("docs", register, "../../evil", "N" * 300, rows[2]["complaint_no"], "--now", NOW).output
    documents = register.parent / "文档"
    names = sorted(p.name for p in documents.iterdir())
    assert len(names) == 12 and files_outside(tmp_path, documents) == []
    assert any(n.startswith("____evil_") for n in names) and any(n.startswith("N" * 80 + "_") for n in names)
    assert "Traceback" not in out


def test_a_legacy_pattern_in_settings_keeps_old_numbers(register, cli, tmp_path):
    wb = load_workbook(register)
    ws = wb["设置"]
    label = next(c for row in ws.iter_rows() for c in row if c.value == "旧编号格式")
    ws.cell(label.row, label.column + 1, r"TS\d{6}")
    wb.save(register)
    source = tmp_path / "old.csv"
    write_csv(source, [dict(complaint(), complaint_no="TS123456"), dict(complaint(contact="139"), complaint_no="TS12")])
    out = cli("import", register, source, "--now", NOW).output
    assert "TS12”格式不符" in out.replace("\n", "")
    cli("assign", register, "--now", NOW)
    assert [r["complaint_no"] for r in read_rows(register)] == ["TS123456", "20261009-CS-001"]
