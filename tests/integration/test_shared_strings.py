"""A large register as Excel saves it (every text in the shared strings table): the fast store reads
it as openpyxl does, keeps the parsed table beside the register for the next command, and never
uses that copy once another program changed the table."""
import json
import pickle
import zipfile

import pytest

from complaintdesk.adapters.faststore import fast_store
from complaintdesk.adapters.xlsxstream import parallel_scan, sheet_xml, strings_cache
from tests.integration.test_fast_store import bench_module, run


def export(cli, monkeypatch, store, path):
    return json.loads(run(cli, monkeypatch, store, "export", path).stdout)


def rewrite_part(path, name, change):
    """The register with one part changed, as another program would save it."""
    copy = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(copy, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, change(data) if info.filename == name else data)
    copy.replace(path)


def test_an_excel_saved_register_reads_alike_and_its_strings_are_kept_while_valid(tmp_path, cli, monkeypatch):
    monkeypatch.setattr(strings_cache, "WORTH_CACHING", 0)  # a small register's table is kept too
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 1000)  # shared strings, rows with spans
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
        assert b't="s"' in sheet and b"inlineStr" not in sheet.split(b"</row>", 1)[1]
    cache = strings_cache.cache_path(path)
    run(cli, monkeypatch, "fast", "assign", path, "--now", "2026-11-20T10:00")
    assert cache.exists()
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-20T10:00")
    fast = export(cli, monkeypatch, "fast", path)
    assert len(fast) == 1000 and fast == export(cli, monkeypatch, "openpyxl", path)
    assert any("CS-" in (r.get("complaint_no") or "") for r in fast)

    # while the table is as it was, no command parses it again
    def parse(_):
        raise AssertionError("the shared strings were parsed although the kept copy is valid")
    monkeypatch.setattr(sheet_xml, "shared_strings", parse)
    assert export(cli, monkeypatch, "fast", path) == fast
    run(cli, monkeypatch, "fast", "sla", path, "--now", "2026-11-21T10:00")
    monkeypatch.undo()
    monkeypatch.setattr(strings_cache, "WORTH_CACHING", 0)

    # another program changed one text of the table: the kept copy is not used
    first = fast[0]["customer_name"]
    assert first and sum(r["customer_name"] == first for r in fast) < 50
    rewrite_part(path, "xl/sharedStrings.xml",
                 lambda data: data.replace(f"<t>{first}</t>".encode(), "<t>改过的姓名</t>".encode(), 1))
    changed = export(cli, monkeypatch, "fast", path)
    assert changed == export(cli, monkeypatch, "openpyxl", path)
    assert [r["customer_name"] for r in changed].count("改过的姓名") == sum(r["customer_name"] == first for r in fast)

    # a kept copy cut short (a crash while it was written) is not used either, and is written anew
    good = cache.read_bytes()
    cache.write_bytes(good[:len(good) // 2] + good[-300:])
    assert export(cli, monkeypatch, "fast", path) == changed
    assert cache.read_bytes() == good


def test_a_worker_reads_the_strings_itself_and_refuses_a_changed_table(tmp_path, cli, monkeypatch):
    path = tmp_path / "big.xlsx"
    bench_module().build(path, 1500)
    alone = export(cli, monkeypatch, "fast", path)
    # the worker (every sheet worth one here) converts every piece, with strings it loaded itself
    monkeypatch.setattr(fast_store, "EXPORT_WORKER_FROM", 0)
    here = []
    monkeypatch.setattr(parallel_scan, "_here", lambda work, buf: here.append(1) or work(buf))
    assert export(cli, monkeypatch, "fast", path) == alone and not here
    # what crosses to the worker is the register's path, not the strings
    with zipfile.ZipFile(path) as zf:
        strings = sheet_xml.shared_strings(zf.read("xl/sharedStrings.xml"))
        portable = strings_cache.Portable(strings, path, zf)
    sent = pickle.dumps(portable)
    assert len(strings) > 4000 and len(sent) < 1000 and pickle.loads(sent) == strings
    # a table changed since the register was opened is refused (the piece is then worked here)
    rewrite_part(path, "xl/sharedStrings.xml", lambda data: data.replace(b"<t>", b"<t>x", 1))
    with pytest.raises(ValueError):
        pickle.loads(sent)
