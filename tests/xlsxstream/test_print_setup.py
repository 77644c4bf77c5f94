"""The print set-up as bytes: each piece where Excel expects it, whatever the file held before."""
from complaintdesk.adapters.xlsxstream.print_setup import (
    printed,
    with_fit_to_page,
    with_page_setup,
    with_print_titles,
)

WS = b'<worksheet xmlns="x">'


def test_fit_to_page_goes_into_sheet_pr_in_every_form_it_takes():
    assert with_fit_to_page(WS + b"<dimension/>") == WS + b'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><dimension/>'
    assert with_fit_to_page(WS + b'<sheetPr codeName="S"/>') == \
        WS + b'<sheetPr codeName="S"><pageSetUpPr fitToPage="1"/></sheetPr>'
    assert with_fit_to_page(WS + b'<sheetPr><tabColor rgb="FF0000"/></sheetPr>') == \
        WS + b'<sheetPr><tabColor rgb="FF0000"/><pageSetUpPr fitToPage="1"/></sheetPr>'
    assert with_fit_to_page(WS + b'<sheetPr><pageSetUpPr autoPageBreaks="0" fitToPage="0"/></sheetPr>') == \
        WS + b'<sheetPr><pageSetUpPr autoPageBreaks="0" fitToPage="1"/></sheetPr>'


def test_page_setup_replaces_the_old_one_and_keeps_the_order_excel_wants():
    tail = (b'</sheetData><dataValidations count="0"/><pageMargins left="1"/><pageSetup orientation="portrait"/>'
            b'<headerFooter><oddHeader>x</oddHeader></headerFooter><drawing r:id="rId1"/><tableParts count="1"/>'
            b"</worksheet>")
    out = with_page_setup(tail)
    assert out.count(b"<pageSetup") == 1 and out.count(b"<pageMargins") == 1 and b"oddHeader" not in out
    assert out.index(b"<dataValidations") < out.index(b"<pageMargins") < out.index(b"<pageSetup") \
        < out.index(b"<headerFooter") < out.index(b"<drawing") < out.index(b"<tableParts")
    assert b'orientation="landscape"' in out and b'fitToWidth="3"' in out


def test_print_titles_are_a_defined_name_of_the_sheet():
    book = ('<workbook><sheets><sheet name="A" sheetId="1"/><sheet name="投诉登记" sheetId="2"/></sheets>'
            "<calcPr/></workbook>").encode("utf-8")
    out = with_print_titles(book, "投诉登记")
    assert '<definedNames><definedName name="_xlnm.Print_Titles" localSheetId="1">'.encode() in out
    assert "'投诉登记'!$A:$A,'投诉登记'!$1:$1</definedName></definedNames><calcPr/>".encode() in out
    again = with_print_titles(out, "投诉登记")
    assert again == out                                   # replaced, not added twice
    named = b'<workbook><sheets><sheet name="R"/></sheets><definedNames><definedName name="x">1</definedName>' \
            b"</definedNames></workbook>"
    assert with_print_titles(named, "R").count(b"<definedNames>") == 1
    head = WS + b'<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
    assert printed(head, with_page_setup(b"</worksheet>"), out, "投诉登记")
    assert not printed(head, with_page_setup(b"</worksheet>"), book, "投诉登记")
