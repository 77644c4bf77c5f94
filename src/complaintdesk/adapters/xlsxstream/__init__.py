"""xlsxstream — reading and writing SpreadsheetML worksheets as streams of bytes.

This package knows workbooks, not complaints: it imports nothing from `complaintdesk.domain` or
`complaintdesk.services` (a test holds it to that). What the register store needs from an .xlsx
file that openpyxl is too slow for — read a few columns of 200,000 rows, patch one cell of one
row, append rows, take rows out — it does on the package's bytes. The names below are its face;
the streaming store (`adapters/faststore/`: `fast_store.py`, `archive_files.py`) uses them.

The map (one module, one job):

  package           which part of the zip holds which worksheet (`sheet_parts`)
  deflate_segments  a part read by a fast inflater (`open_member`, read ahead in a thread by
                    `Prefetch`); a part written as independent deflate segments (`SegmentWriter`,
                    `SegmentStream`) so that a later save re-encodes only the changed ones
  pieces            a sheet's XML in pieces that end on a row boundary (`row_pieces`), the body of
                    one row, an Excel serial as a time
  sheet_xml         the cells of a row as values (`row_cells`, `cell_value`), cells as XML, column
                    letters, the shared strings table
  shared_formulas   a formula filled down a column (saved once, in its first cell) read in every
                    cell as the formula moved to it (`Formulas`)
  strings_cache     a large shared strings table kept parsed beside the workbook
  parallel_scan     work on the pieces shared with one worker process (`map_pieces`), the same
                    result without it
  mention_scan      the rows that may hold a text, found by a byte search (`MentionSearch`); the
                    caller gives the phone separators and normaliser it compares with
  sheet_writer      a sheet rewritten as a stream: changed rows patched, rows appended, its head
                    and tail edited (`SheetEnds`), a part copied compressed as it is
                    (`stream_patch`, `patch_segments`, `copy_member`)
  sheet_structure   a sheet's frozen pane, the ranges of its validations and conditional formats,
                    a Table part's range, filter and column names: read and rewritten
  row_shift         what taking rows out does to every reference (`RowShift`, `moved`)
  row_removal_xml   rows taken out of a sheet and everything pointing at rows moved with them:
                    merged cells, validations, conditional formats, links, comments, the Table
                    (`SheetRemoval`)
  styles_xml        the few edits of styles.xml a save needs (a date-time format, a fill)
"""
from .deflate_segments import CHUNK, Prefetch, SegmentStream, SegmentWriter, open_member
from .mention_scan import MentionSearch, Unsearchable
from .package import sheet_parts
from .parallel_scan import map_pieces, worth_a_worker
from .pieces import row_body, row_pieces
from .row_removal_xml import SheetRemoval
from .row_shift import MAX_ROW, RowShift, moved
from .shared_formulas import Formulas
from .sheet_structure import (
    header_frozen,
    reshaped_table,
    sqrefs,
    table_shape,
    table_styled,
    with_frozen_pane,
    with_sqrefs,
)
from .sheet_writer import (
    SheetEnds,
    copy_member,
    insert_formatting,
    patch_segments,
    row_xml,
    stream_patch,
    table_rows_xml,
)
from .sheet_xml import ROW_RE, cell_value, col_index, col_letter, row_cells, shared_strings

__all__ = [
    "CHUNK", "MAX_ROW", "ROW_RE", "Formulas", "MentionSearch", "Prefetch", "RowShift", "SegmentStream", "SegmentWriter",
    "SheetEnds", "SheetRemoval", "Unsearchable", "cell_value", "col_index", "col_letter", "copy_member",
    "header_frozen", "insert_formatting", "map_pieces", "moved", "open_member", "patch_segments", "reshaped_table",
    "row_body", "row_cells", "row_pieces", "row_xml", "shared_strings", "sheet_parts", "sqrefs", "stream_patch",
    "table_rows_xml", "table_shape", "table_styled", "with_frozen_pane", "with_sqrefs", "worth_a_worker",
]
