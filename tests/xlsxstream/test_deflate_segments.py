"""Segmented deflate members: CRC combination, independent segments, a valid zip member."""
import io
import random
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from complaintdesk.adapters.xlsxstream import deflate_segments
from complaintdesk.adapters.xlsxstream.deflate_segments import (
    SegmentStream,
    SegmentWriter,
    compress_segment,
    crc32_combine,
    inflate_segment,
    member_data_offset,
    open_member,
    row_range,
)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=3000))
def test_crc32_combine_equals_the_crc_of_the_concatenation(a, b):
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def test_crc32_combine_on_long_pieces():
    a, b = random.Random(1).randbytes(5_000_000), random.Random(2).randbytes(3_333_333)
    assert crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


def rows_xml(first, last, rng):
    return b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>%s</t></is></c></row>'
                    % (r, r, "投诉内容 {}".format(rng.random()).encode()) for r in range(first, last + 1))


def test_a_segment_decompresses_on_its_own():
    xml = rows_xml(2, 50, random.Random(3))
    assert inflate_segment(compress_segment(xml)) == xml
    assert row_range(xml) == (2, 50) and row_range(b"<sheetData>") == (0, 0)


def test_writer_builds_a_valid_member_from_new_and_copied_segments():
    rng = random.Random(4)
    head, tail = b'<worksheet><sheetData>', b'</sheetData></worksheet>'
    body = rows_xml(2, 4000, rng)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("before.xml", b"<x/>")
        w = SegmentWriter(zf, "sheet.xml", (2026, 11, 27, 0, 0, 0), segment_size=20_000)
        w.write(head)
        w.cut()
        w.write(body)
        w.cut()
        w.write(tail)
        w.close()
        zf.writestr("after.xml", b"<y/>")
    segments = w.segments
    assert len(segments) > 10 and segments[0].first_row == 0
    assert all(s.first_row <= s.last_row for s in segments[1:-1])
    assert [s.first_row for s in segments[1:-1]] == sorted(s.first_row for s in segments[1:-1])
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.testzip() is None
        assert zf.read("sheet.xml") == head + body + tail
        assert zf.read("after.xml") == b"<y/>"
        # each segment inflates on its own, and copying some of them makes a valid member again
        info = zf.getinfo("sheet.xml")
        base = member_data_offset(zf, info)
        pieces = []
        for s in segments:
            zf.fp.seek(base + s.offset)
            pieces.append(zf.fp.read(s.size))
        assert b"".join(inflate_segment(p) for p in pieces) == head + body + tail
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            w2 = SegmentWriter(dst, "sheet.xml", info.date_time, segment_size=20_000)
            changed = inflate_segment(pieces[3]).replace(b"<t>", b"<t>\xe6\x94\xb9", 1)
            for i, (piece, s) in enumerate(zip(pieces, segments)):
                if i == 3:
                    w2.write(changed)
                    w2.cut()
                else:
                    w2.copy(piece, s)
            w2.close()
    expected = b"".join(changed if i == 3 else inflate_segment(p) for i, p in enumerate(pieces))
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        assert zf.testzip() is None and zf.read("sheet.xml") == expected


def test_index_round_trips_every_cell_type_and_rejects_a_torn_file(tmp_path, monkeypatch):
    import marshal
    import zipfile

    from complaintdesk.adapters.faststore import register_index as ri
    register = tmp_path / "r.xlsx"
    with zipfile.ZipFile(register, "w") as zf:
        zf.writestr("xl/worksheets/sheet1.xml", "<worksheet/>")
    values = ["投诉", "a\x00b", "", None, True, False, 3, 2.5, float("inf"), 45678.25, -1]
    light = {r: {"_light": True, "status": "已关闭", "complaint_no": v} for r, v in enumerate(values, 2)}
    light[20] = {"_light": True, "status": "已关闭", "category": "物流"}  # keys differ between rows
    full = {30: {1: "文本", 2: 45678.5, 3: True, 4: None}, 31: {}, **{r: {1: f"第{r}行"} for r in range(40, 45)}}
    monkeypatch.setattr(ri, "FULL_PIECE", 2)  # the full rows in pieces of two rows (and one of one)
    cases = {5: marshal.dumps({1: "案例", 7: 3})}
    columns = {"complaint_no": 1, "status": 2}
    with zipfile.ZipFile(register) as zf:
        ri.save(register, zf, "xl/worksheets/sheet1.xml", ri.RowIndex(columns, light, full, None, 31, cases))
        back = ri.load(register, zf, "xl/worksheets/sheet1.xml", columns)
    expected = {r: {**{k: None for k in ("category", "complaint_no", "status")}, **v} for r, v in light.items()}
    assert back.light_columns.dicts() == expected
    assert [type(v["complaint_no"]) for v in back.light_columns.dicts().values()] == \
        [type(v.get("complaint_no")) for v in light.values()]
    assert back.full == full and back.cases == cases and back.last_row == 31
    assert back.light_columns.column("category")[-1] == "物流" and back.light_columns.column("nope") == [None] * 12
    path = ri.index_path(register)
    data = path.read_bytes()
    for torn in (data[:len(data) // 2], data[:-9] + b"x" + data[-8:], data.replace("投诉".encode(), "投拆".encode())):
        path.write_bytes(torn)
        with zipfile.ZipFile(register) as zf:
            assert ri.load(register, zf, "xl/worksheets/sheet1.xml", columns) is None


def _zip_with(tmp_path, data: bytes, name="xl/worksheets/sheet1.xml"):
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("first.xml", b"<a/>")
        zf.writestr(name, data)
    return path


def read_all(member, size=1 << 16):
    out = []
    while True:
        piece = member.read(size)
        if not piece:
            return b"".join(out)
        out.append(piece)


def test_open_member_reads_what_zipfile_reads(tmp_path):
    data = rows_xml(2, 30000, random.Random(5))
    path = _zip_with(tmp_path, data)
    with zipfile.ZipFile(path) as zf, open_member(path, zf, "xl/worksheets/sheet1.xml") as member:
        assert read_all(member) == data == zf.read("xl/worksheets/sheet1.xml")


def test_open_member_checks_the_crc(tmp_path):
    data = rows_xml(2, 3000, random.Random(6))
    path = _zip_with(tmp_path, data)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info, first = zf.getinfo("xl/worksheets/sheet1.xml"), zf.getinfo("first.xml")
        # the sheet's central directory entry follows first.xml's; its CRC-32 field is 16 bytes in
        crc_at = zf.start_dir + 46 + len(first.filename) + len(first.extra) + len(first.comment) + 16
    assert int.from_bytes(raw[crc_at:crc_at + 4], "little") == info.CRC
    raw[crc_at:crc_at + 4] = ((info.CRC + 1) & 0xFFFFFFFF).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as zf, open_member(path, zf, "xl/worksheets/sheet1.xml") as member:
        with pytest.raises(zipfile.BadZipFile):
            read_all(member)


def test_open_member_without_the_fast_inflater(tmp_path, monkeypatch):
    monkeypatch.setattr(deflate_segments, "fast_zlib", zlib)
    data = rows_xml(2, 500, random.Random(7))
    path = _zip_with(tmp_path, data)
    with zipfile.ZipFile(path) as zf, open_member(path, zf, "xl/worksheets/sheet1.xml") as member:
        assert isinstance(member, zipfile.ZipExtFile) and read_all(member) == data
    assert inflate_segment(compress_segment(data)) == data


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=120), st.sampled_from([16, 64, 300, 2000]),
       st.lists(st.integers(0, 10**6), max_size=15))
def test_segments_cut_at_the_first_row_end_past_the_size(lengths, size, cut_points):
    xml = b"".join(b'<row r="%d"><c>%s</c></row>' % (r, b"x" * n) for r, n in enumerate(lengths, 2))
    cuts = sorted({c % len(xml) for c in cut_points})
    stream = SegmentStream(io.BytesIO(), size)
    for a, b in zip([0] + cuts, cuts + [len(xml)]):
        stream.write(xml[a:b])  # written in arbitrary pieces, as a reader hands them over
    stream.finish()
    pieces = [inflate_segment(stream.read(s)) for s in stream.segments]
    assert b"".join(pieces) == xml
    for piece in pieces[:-1]:
        assert len(piece) >= size and piece.find(b"</row>", size - 6) == len(piece) - 6


def _understated_member(path, real_size: int, declared: int) -> None:
    """A zip whose one member inflates to `real_size` bytes but declares `declared` (a zip bomb that
    passes a guard reading the directory)."""
    import struct
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("xl/worksheets/sheet1.xml", "w") as f:
        block = b'<row r="2"><c r="A2"><v>0</v></c></row>' * 25_000
        for _ in range(real_size // len(block)):
            f.write(block)
    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    struct.pack_into("<I", blob, info.header_offset + 22, declared)
    central = blob.rfind(b"PK\x01\x02")
    struct.pack_into("<I", blob, central + 24, declared)
    path.write_bytes(bytes(blob))


def test_inflation_stops_at_the_declared_size(tmp_path):
    """The fast inflater produces no more than the zip declares: a member that under-declares is
    refused after ~declared bytes, not after inflating all of it into memory."""
    if deflate_segments.fast_zlib is zlib:
        pytest.skip("the standard library's zipfile reads this member (it stops at the declared size)")
    path = tmp_path / "bomb.xlsx"
    _understated_member(path, real_size=400_000_000, declared=5_000_000)
    with zipfile.ZipFile(path) as zf:
        member = open_member(path, zf, "xl/worksheets/sheet1.xml")
        produced = 0
        with pytest.raises(zipfile.BadZipFile, match="声明"):
            while True:
                piece = member.read(1 << 20)
                if not piece:
                    break
                produced += len(piece)
        member.close()
    assert produced <= 5_000_000 + deflate_segments._Inflating.OUT_STEP
