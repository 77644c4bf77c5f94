"""Formula cells read from sheet XML as openpyxl reads them (its Translator is the reference for shared formulas)."""
import marshal

import pytest
from openpyxl.formula.translate import Translator
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from complaintdesk.adapters.faststore.sheet_scan import Keyed, joined, piece_rows, scan_chunk
from complaintdesk.adapters.xlsx_store import plain
from complaintdesk.adapters.xlsxstream import sheet_xml as sx
from complaintdesk.adapters.xlsxstream.shared_formulas import Formulas, masters_in

FORMULAS = ['LEN(L2)', 'IF($L2="","",LEN(L2)+SUM(BC$2:BC2))', "'人员'!A1&L2", 'Sheet2!$B2*C$1',
            'SUM(A:A)+COUNT(2:2)', 'A2&"L2 stays"&B2', 'VLOOKUP(H2,客户!A:D,2,FALSE)', 'TEXT(NOW()-B2,"0.0")']


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("cell", ["BP3", "BQ9", "BP2000"])
def test_a_cell_reads_the_formula_openpyxl_gives_it(formula, cell):
    master = (b'<c r="BP2" s="1"><f t="shared" ref="BP2:BQ2000" si="3">' + sx.escape(formula).encode()
              + b"</f><v>1</v></c>")
    row = int("".join(ch for ch in cell if ch.isdigit()))
    child = f'<c r="{cell}" s="1"><f t="shared" si="3"/><v>7</v></c>'.encode()
    xml = b'<row r="2">' + master + b'</row><row r="%d">' % row + child + b"</row>"
    formulas = Formulas()
    assert formulas.learn(xml)
    cells = formulas.cells(sx.row_cells(child, []))
    assert cells == {sx.col_index(cell.rstrip("0123456789")): Translator("=" + formula, "BP2").translate_formula(cell)}
    assert sx.row_cells(master, []) == {68: "=" + formula}


def test_masters_markers_and_unknown_masters():
    xml = (b'<row r="5"><c r="A5"><f t="shared" ref="A5:A9" si="0">B5*2</f><v>2</v></c>'
           b'<c r="C5" t="str"><f aca="false" t="shared" ref="C5:C6" si="1">&quot;x&quot;&amp;D5</f><v>x</v></c></row>'
           b'<row r="6"><c r="A6"><f t="shared" ref="A6:A7" si="0">Z1</f></c>'
           b'<c r="C6"><f t="shared" si="1"/></c></row>')
    assert masters_in(xml) == {"0": ("B5*2", 1, 5), "1": ('"x"&D5', 3, 5)}  # the first of each si
    assert masters_in(xml.replace(b'"shared"', b'"array"')) == {}
    marker = sx.row_cells(b'<c r="C6"><f t="shared" si="1"/><v>9</v></c>', [])[3]
    assert marker == (sx.SHARED_MARK, "1", 3, 6) and marshal.loads(marshal.dumps(marker)) == marker
    assert Formulas(masters_in(xml)).value(marker) == '="x"&D6'
    assert Formulas().value(marker) == "="                    # as openpyxl reads a cell whose master it never saw
    assert Formulas(final=False).value(marker) is marker      # ... or kept for masters still to come
    later = Formulas()
    later.merge({"1": ("E9", 3, 9)})
    later.merge({"1": ("D5", 3, 5)})                          # earlier in the sheet: the master
    assert later.value(marker) == "=D6"
    # a damaged file: a cell left of or above its master (openpyxl refuses the file) reads #REF!, never hangs
    assert Formulas({"1": ("L9+$A1+B$9+$C$3", 68, 9)}).value(marker) == "=#REF!+#REF!+#REF!+$C$3"
    # a formula cell of any other shape reads as before
    assert sx.row_cells(b'<c r="B2"><f>SUM(A1:A2)</f><v>3</v></c><c r="C2"><f t="array" ref="C2"/><v>4</v></c>', []) \
        == {2: "=SUM(A1:A2)", 3: 4}
    assert sx.row_cells(b'<c r="D2"><f t="dataTable" ref="D2:E3" dt2D="0" dtr="0" r1="A1"/><v>8</v></c>', []) == {}
    assert plain(DataTableFormula("D2:E3", r1="A1")) is None and plain(ArrayFormula("C2", "=A2*2")) == "=A2*2"


def test_pieces_scanned_apart_read_their_masters_from_each_other():
    letters = {b"A": "complaint_no", b"B": "status", b"C": "closed_at", b"D": "contact"}

    def row(r, status, d):
        return (f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>N{r}</t></is></c><c r="B{r}" t="inlineStr"><is><t>'
                f'{status}</t></is></c><c r="C{r}"><v>45000</v></c><c r="D{r}">{d}<v>0</v></c>'
                f'<c r="E{r}"><f t="shared" si="{r % 2}"/><v>1</v></c></row>').encode()
    first = (b'<row r="2"><c r="D2"><f t="shared" ref="D2:D9" si="0">H2</f><v>0</v></c>'
             b'<c r="E2"><f t="shared" ref="E2:E9" si="1">F2*2</f></c></row>')
    # the master of E's even rows (si 0) is D2: a cell may use a master of another column
    second = b"".join(row(r, "已关闭" if r % 3 else "处理中", '<f t="shared" si="0"/>') for r in range(3, 10))
    whole = joined([scan_chunk(first, ([], letters)), scan_chunk(second, ([], letters))])
    light, full, _, _, formulas = whole
    assert formulas.masters == {"0": ("H2", 4, 2), "1": ("F2*2", 5, 2)}
    assert dict(zip(light.rows, light.column("contact"))) == {4: "=H4", 5: "=H5", 7: "=H7", 8: "=H8"}
    assert full[6] == {1: "N6", 2: "处理中", 3: 45000, 4: "=H6", 5: "=I6"} and full[9][5] == "=F9*2"
    keyed = Keyed.of({"contact": 4, "x": 5})
    rows = dict(piece_rows(second, [], keyed, formulas=Formulas(formulas.masters)))
    assert rows[9] == {"contact": "=H9", "x": "=F9*2"}
    assert dict(piece_rows(second, [], keyed))[9] == {"contact": "=", "x": "="}  # no masters known
