"""`find` on a large register parses only the rows that may hold the text — with exactly the hits
of a full read, whatever form the text takes in the file."""
import random
import re
import shutil
import zipfile

import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from typer.testing import CliRunner

from complaintdesk.adapters.faststore.fast_store import FastStore
from complaintdesk.adapters.xlsx_store import XlsxStore
from complaintdesk.adapters.xlsxstream import mention_scan
from complaintdesk.adapters.xlsxstream.sheet_xml import col_letter
from complaintdesk.domain.parsing import PHONE_SEPARATOR, normalise_phone
from complaintdesk.entrypoints.cli import app
from complaintdesk.services.archive import FIND_KEYS, find
from tests.conftest import complaint, type_rows

KEYS = FIND_KEYS + ("contact",)
REFS = "".join(f"&#{ord(c)};" for c in "吴某")


def _rewrite_cell(xml: bytes, ref: str, new: bytes) -> bytes:
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', re.S)
    assert pattern.search(xml), ref
    return pattern.sub(lambda m: new, xml, count=1)


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    """A register whose cells hold texts in every form a byte search could miss (built once:
    find only reads it)."""
    register = tmp_path_factory.mktemp("tricky") / "登记表.xlsx"
    assert CliRunner().invoke(app, ["init", str(register)]).exit_code == 0
    rich = CellRichText([TextBlock(InlineFont(b=True), "加粗"), "普通文字"])
    rows = [complaint(contact="133-1730 2542"), complaint(contact="（010）8888\u30006666"),
            complaint(contact="139\u00a01234\u20095678"), complaint(customer_name="Kelvin\u212a"),
            complaint(customer_id="\u0130D-7"), complaint(customer_id="ABC-001"), complaint(customer_name="ＡＢＣ公司"),
            complaint(order_no=1.2345678901234568e17), complaint(order_no=2.675), complaint(customer_id=7),
            complaint(product='=CONCAT("电饭","煲")'), complaint(demand=True), complaint(description=rich),
            complaint(description="占位一"), complaint(description="占位二"), complaint(description="占位三"),
            complaint(contact="15000001111")]
    rows += [complaint(customer_name=f"客户{i}", contact=f"1860000{i:04d}", description=f"普通描述{i}")
             for i in range(40)]
    type_rows(register, rows)
    columns = FastStore(register).columns
    letter = {k: col_letter(c) for k, c in columns.items()}
    with zipfile.ZipFile(register) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    # as Excel writes text: UTF-8, not character references (this writer used them for every
    # character beyond ASCII, which makes every such row one the search must parse)
    xml = re.sub(rb"&#(\d+);", lambda m: chr(int(m.group(1))).encode() if int(m.group(1)) > 127 else m.group(0),
                 parts["xl/worksheets/sheet1.xml"])
    row_of = {"占位一": 15, "占位二": 16, "占位三": 17}
    for text, body in (("占位一", "<is><r><t>分段</t></r><r><t>文本</t></r></is>"),
                       ("占位二", f"<is><t>{REFS}投诉</t></is>"), ("占位三", "<is><t>退款_x0041_说明</t></is>")):
        ref = f"{letter['description']}{row_of[text]}"
        xml = _rewrite_cell(xml, ref, f'<c r="{ref}" t="inlineStr">{body}</c>'.encode())
    parts["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(register, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return register


SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


@pytest.fixture(scope="module")
def tricky_shared(tricky, tmp_path_factory):
    """The same register with its text in shared strings, as Excel saves it (the index of one
    customer's name written with leading zeros, which a reader takes all the same)."""
    path = tmp_path_factory.mktemp("shared") / "shared.xlsx"
    with zipfile.ZipFile(tricky) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    assert "xl/sharedStrings.xml" not in parts
    strings: list[bytes] = []

    def shared(m):
        strings.append(m.group(3))
        index = (b"00%d" if m.group(3) == "<t>客户7</t>".encode() else b"%d") % (len(strings) - 1)
        return b'<c r="' + m.group(1) + b'"' + m.group(2) + b' t="s"><v>' + index + b"</v></c>"
    parts["xl/worksheets/sheet1.xml"] = re.sub(rb'<c r="([A-Z]+\d+)"((?: s="\d+")?) t="inlineStr"><is>(.*?)</is></c>',
                                               shared, parts["xl/worksheets/sheet1.xml"])
    parts["xl/sharedStrings.xml"] = (b'<?xml version="1.0" encoding="UTF-8"?>\n<sst xmlns="http://schemas.openxml'
                                     b'formats.org/spreadsheetml/2006/main">'
                                     + b"".join(b"<si>" + t + b"</si>" for t in strings) + b"</sst>")
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/></Types>'.encode())
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdSst" Type="{SST_REL}" Target="sharedStrings.xml"/></Relationships>'.encode())
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    assert len(strings) > 100
    return path


QUERIES = ["13317302542", "1331730", "01088886666", "13912345678", "15000001111", "kelvink", "\u0130d-7".lower(),
           "d-7", "abc", "ａｂｃ", "123456789012345680", "2.675", "7", "=concat", "电饭", "true", "rue", "粗普", "段文",
           "吴某", "款a说", "普通描述3", "客户7", "张伟", "18600000012", "  ", "不存在的文字"]


def full_read_hits(path, query, monkeypatch) -> list[dict]:
    """What find answered before the byte search: every row read in full and compared."""
    with monkeypatch.context() as m:
        m.setattr(FastStore, "rows_mentioning", lambda self, *args: self.rows(full=True))
        return find(FastStore(path), query).data["hits"]


@pytest.mark.parametrize("query", QUERIES)
def test_find_gives_a_full_reads_hits(tricky, query, monkeypatch):
    assert find(FastStore(tricky), query).data["hits"] == full_read_hits(tricky, query, monkeypatch)


@pytest.mark.parametrize("query", QUERIES)
def test_find_in_shared_strings_gives_a_full_reads_hits(tricky_shared, query, monkeypatch):
    hits = find(FastStore(tricky_shared), query).data["hits"]
    assert hits == full_read_hits(tricky_shared, query, monkeypatch)


def test_the_byte_search_narrows_the_rows_parsed(tricky):
    store = FastStore(tricky)
    total = len(store.rows(full=True))
    for query, phones in (("张伟", []), ("普通描述3", ["普通描述3"]), ("13317302542", ["13317302542"])):
        found = FastStore(tricky).rows_mentioning([query], phones, KEYS)
        assert 0 < len(found) < total / 2, query
    # a text whose case a byte search cannot fold: every row is compared
    assert len(FastStore(tricky).rows_mentioning(["ａｂｃ"], [], KEYS)) == total


def test_find_on_a_multi_chunk_register_equals_a_full_read(tmp_path, monkeypatch):
    from tests.integration.test_fast_store import bench_module, small_pieces
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 1200, shared_strings=False)  # ~3.4 MB of sheet XML: several pieces
    small_pieces(monkeypatch, 384 << 10)
    copy = tmp_path / "copy.xlsx"
    shutil.copy(path, copy)
    slow = XlsxStore(copy)
    full = FastStore(path)
    assert len(list(full._chunks())) >= 4
    full.rows_mentioning = lambda *args: full.rows(full=True)
    sample = random.Random(7).sample(slow.rows(full=True), 3)
    queries = [str(r.values.get(k)) for r in sample for k in ("contact", "complaint_no")]
    queries += [str(sample[0].values.get("description"))[:4], "c1", "dd"]
    for query in queries:
        hits = find(FastStore(path), query).data["hits"]
        assert hits == find(full, query).data["hits"], query
        assert hits == find(slow, query).data["hits"], query
    assert 0 < len(FastStore(path).rows_mentioning([queries[0]], [queries[0]], KEYS)) < 20


def test_the_unicode_facts_the_search_relies_on():
    lower_sources: dict[str, set[str]] = {}
    for code in range(0x110000):
        char = chr(code)
        for part in char.lower() if char.lower() != char else "":
            lower_sources.setdefault(part, set()).add(char)
    to_ascii = {c for part, chars in lower_sources.items() if part.isascii() for c in chars if not c.isascii()}
    assert to_ascii == set(mention_scan.LOWER_TO_ASCII)
    uncased = {part for part in lower_sources if not part.isascii() and part.upper() == part}
    assert uncased == set(mention_scan.FOLDED_WITHOUT_CASE)
    assert not any(PHONE_SEPARATOR.fullmatch(chr(c)) for c in range(0x10000, 0x110000))
    separator = re.compile(mention_scan.separator(PHONE_SEPARATOR))
    for code in range(0x10000):
        encoded = chr(code).encode("utf-8", "surrogatepass")
        assert bool(separator.fullmatch(encoded)) == bool(PHONE_SEPARATOR.fullmatch(chr(code))), hex(code)


def test_literal_trie_matches_exactly_its_words():
    rng = random.Random(3)
    words = {str(rng.randrange(0, 5000)).encode() for _ in range(300)} | {b"1", b"12", b"123"}
    trie = re.compile(mention_scan.literal_trie(sorted(words)))
    for n in range(0, 6000):
        word = str(n).encode()
        assert bool(trie.fullmatch(word)) == (word in words), word


def test_the_sheets_tail_is_not_taken_for_a_row():
    piece = ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>编号</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>张伟</t></is></c></row>'
             '<row r="3"><c r="A3" t="inlineStr"><is><t>李娜</t></is></c></row></sheetData>'
             '<rowBreaks count="1" manualBreakCount="1"><brk id="2" max="16383" man="1"/></rowBreaks>'
             '<extLst><ext><x14:dataValidation><xm:f>"张伟,李娜"</xm:f></x14:dataValidation></ext></extLst>').encode()
    search = mention_scan.MentionSearch.of(["张伟"], [], [], {b"A"}, PHONE_SEPARATOR, normalise_phone)
    assert search.rows_in(piece) == {2}
    assert mention_scan.MentionSearch.of([], [], [], {b"A"}, PHONE_SEPARATOR, normalise_phone).rows_in(piece) == set()
    with pytest.raises(mention_scan.Unsearchable):
        search.rows_in(piece.replace(b'<row r="2">', b'<row spans="1:1" r="2">'))
