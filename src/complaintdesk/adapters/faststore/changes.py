"""Adapter — the changes a command records in the streaming store (cells, new rows, rows taken
out, tool sheets, formatting), applied at once by save(); and what the derived tool sheets (案例库,
预警) were last built from."""
from __future__ import annotations

import hashlib
from typing import Callable

from ...domain import labels
from ...domain.schema import BY_KEY
from ..store import (
    FILLABLE_PROCESS_KEYS,
    StaffCellError,
    check_automation,
)
from ..xlsxstream.deflate_segments import (
    inflate_segment,
)
from ..xlsxstream.sheet_structure import last_row_with_content
from .rows import RELEASED


class RowPatch:
    """The cells written into a row read in full, seen as column -> value: which columns only,
    their values read from the row's own dict, which holds them (a first fill patches millions of
    cells: a dict of the values again per row weighed ~1 KB). Such a dict is never replaced by a
    later read, only updated (faststore/rows.py), so the values the save writes are the ones set."""

    __slots__ = ("_values", "_by_col", "_cols")

    def __init__(self, values: dict, by_col: dict[int, str]):
        self._values, self._by_col, self._cols = values, by_col, []

    def __setitem__(self, col: int, value: object) -> None:
        if col not in self._cols:
            self._cols.append(col)
        self._values[self._by_col[col]] = value

    def __getitem__(self, col: int) -> object:
        if col not in self._cols:
            raise KeyError(col)
        return self._values.get(self._by_col[col])

    def get(self, col: int, default: object = None) -> object:
        return self[col] if col in self._cols else default

    def items(self) -> list[tuple[int, object]]:
        values, by_col = self._values, self._by_col
        return [(c, values.get(by_col[c])) for c in self._cols]

    def keys(self) -> list[int]:
        return list(self._cols)

    def __iter__(self):
        return iter(self._cols)

    def __contains__(self, col: object) -> bool:
        return col in self._cols

    def __len__(self) -> int:
        return len(self._cols)


class RecordedChanges:
    """Recorded changes, for FastStore (faststore/fast_store.py), whose state it uses."""

    # ---- writing (recorded, applied by save) -------------------------------------------
    def _style_for(self, key: str) -> int | None:
        return self.styles.for_cell(BY_KEY[key].kind, self.columns[key])

    def _patch_of(self, row_id: int):
        """The row's patch: a RowPatch over the row's values when it was read in full, else a dict."""
        patch = self._patches.get(row_id)
        if patch is None:
            values = self._values.get(row_id)
            full = values is not None and not values.get("_light")
            patch = self._patches[row_id] = RowPatch(values, self._by_col) if full else {}
        return patch

    def set_cells(self, row_id: int, values: dict[str, object]) -> None:
        check_automation(values)
        if row_id not in self._values:
            self._light_dicts()
        for key, value in values.items():
            self._record_cell(row_id, key, value)

    def _record_cell(self, row_id: int, key: str, value: object) -> None:
        """One cell written at the next save, and seen by reads until then. The row is written anew:
        its raw cells go (the save indexes it from what it writes)."""
        col = self.columns[key]
        self._patch_of(row_id)[col] = value
        self._col_styles[col] = self._style_for(key)
        self._raw.pop(row_id, None)
        values = self._values.get(row_id)
        if values is not None and RELEASED not in values:
            values[key] = value

    def fill_empty(self, row_id: int, key: str, value: object) -> bool:
        if key not in FILLABLE_PROCESS_KEYS:
            raise StaffCellError(key)
        if row_id not in self._values:
            self._light_dicts()
        self._bring_back({row_id})  # (a row let go: whether the cell is empty is read again)
        current = self._values.get(row_id, {})
        if current.get("_light") or current.get(key) not in (None, ""):
            return False
        self._record_cell(row_id, key, value)
        return True

    def append_register(self, values: dict[str, object]) -> int:
        self._read_light()  # (the last row number)
        if not self._appended and not self._removed:
            self._drop_trailing_empty_rows()
        self._last_row += 1
        self._appended.append({k: v for k, v in values.items() if k in self.columns and v not in (None, "")})
        self._cache.clear()
        return self._last_row

    def _drop_trailing_empty_rows(self) -> None:
        """Empty rows after the data (LibreOffice and WPS save a thousand styled ones) are not rows:
        new rows go right after the data, as in the openpyxl store, and the empty ones are left
        out of the next save (they hold no value, no formula — also in columns without a header:
        a note typed far right below the data is kept, and the new rows go after it)."""
        data = self._data_rows()
        if data >= self._last_row:
            return
        data = max(data, last_row_with_content(self.zip, self.register_part))
        if data >= self._last_row:
            return
        for held in (self._values, self._raw, self._pristine, self._patches):
            for r in [r for r in held if r > data]:
                del held[r]
        self._drop_from, self._last_row = data + 1, data

    def remove_register(self, row_ids: list[int]) -> None:
        """Rows leave the register at the next save; every later row moves up (as in Excel)."""
        if self._patches or self._appended:
            self.save()  # rows are numbered as the file holds them
        self._read_light()  # (the last row of data)
        self._removed.update(r for r in row_ids if 2 <= r <= self._last_row)
        self._cache.clear()

    def append_table(self, role: str, rows: list[dict]) -> None:
        self.tools.append(role, rows)

    def replace_table(self, role: str, rows: list[dict]) -> None:
        self.tools.replace(role, rows)

    def ensure_formatting(self) -> bool:
        breached = labels.label(labels.CLOCK_STATE, "breached", self.lang).encode("utf-8")
        tail = self._tail()
        if b"conditionalFormatting" in tail and (breached in tail or _ncr(breached) in tail):
            return False
        self._add_formatting = True
        return True

    def _tail(self) -> bytes:
        if self._tail_bytes is not None and b"</sheetData>" in self._tail_bytes:
            return self._tail_bytes  # seen by the full read of this file
        index = self._load_index()
        if index is not None and index.segments:  # the sheet's tail is all in its last segment
            return inflate_segment(self._segment_bytes(index.segments[-1]))
        info = self.zip.getinfo(self.register_part)
        with self.zip.open(info) as f:
            if info.file_size > (1 << 20):
                f.seek(info.file_size - (1 << 20))
            return f.read()

    # ---- derived tool sheets -----------------------------------------------------------
    def rows_fingerprint(self, marked: Callable[[dict], bool], keys) -> str:
        """A digest of the values of `keys` in every row `marked` holds for (of all cells for the
        closed rows marked for the case library, which the store keeps): equal digests, equal rows."""
        self._read_light()
        self._bring_back()
        digest = hashlib.sha1()
        cases = self._case_rows
        for r in sorted(cases):
            digest.update(b"%d:%s:%r;" % (r, cases[r], sorted(self._patches.get(r, {}).items())))
        for r, values in sorted(self._values.items()):
            if r not in cases and not values.get("_light") and marked(values):
                digest.update(b"%d:%r;" % (r, [values.get(k) for k in keys]))
        for r, values in self._appended_rows():
            if marked(values):
                digest.update(b"%d:%r;" % (r, [values.get(k) for k in keys]))
        return digest.hexdigest()

    def built_from(self, role: str) -> str | None:
        return self.tools.built_from(role)

    def remember_built(self, role: str, key: str) -> None:
        self.tools.remember_built(role, key)


def _ncr(text: bytes) -> bytes:
    return "".join(f"&#{ord(ch)};" for ch in text.decode("utf-8")).encode()
