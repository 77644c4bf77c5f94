"""Adapter — the archives beside a register (`archive/投诉归档_<year>.xlsx`), as the services read
them: every archived row, the rows that may mention a text, the complaint numbers, a few columns.
`ArchiveShelf` is the seam; `FileArchives` reads the folder through faststore/archive_files (the
streaming reader, imported when first used); `NoArchives` is the shelf of a register without a file."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ..domain.model import RegisterRow

ARCHIVE_FOLDER = "archive"


class ArchiveShelf(Protocol):
    folder: Path | None

    def files(self) -> list[Path]: ...                              # the yearly archives, by year
    def rows(self) -> list[RegisterRow]: ...                        # every archived row, in full
    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]: ...  # candidates: the caller compares
    def numbers(self) -> set[str]: ...                              # every archived complaint number
    def columns(self, keys) -> dict[str, list]: ...                 # per key, values as stored, all archives


class FileArchives:
    def __init__(self, register: Path):
        self.folder: Path | None = Path(register).parent / ARCHIVE_FOLDER

    def files(self) -> list[Path]:
        from .faststore.archive_files import ARCHIVE_PREFIX
        folder = self.folder
        return sorted(folder.glob(f"{ARCHIVE_PREFIX}*.xlsx")) if folder is not None and folder.exists() else []

    def rows(self) -> list[RegisterRow]:
        from .faststore.archive_files import read_archive_rows
        return [row for path in self.files() for row in read_archive_rows(path)]

    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]:
        from .faststore.archive_files import archive_rows_mentioning
        return [row for path in self.files() for row in archive_rows_mentioning(path, texts, phones, keys)]

    def numbers(self) -> set[str]:
        from .faststore.archive_files import archived_numbers
        return {n for path in self.files() for n in archived_numbers(path)}

    def columns(self, keys) -> dict[str, list]:
        """A time as an Excel serial, as the archive's cached columns keep it."""
        from .faststore.archive_files import archive_columns
        out: dict[str, list] = {k: [] for k in keys}
        for path in self.files():
            rows, columns = archive_columns(path, keys)
            for k in keys:
                out[k].extend(columns.get(k) or [None] * len(rows))
        return out


class NoArchives:
    folder: Path | None = None

    def files(self) -> list[Path]:
        return []

    def rows(self) -> list[RegisterRow]:
        return []

    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]:
        return []

    def numbers(self) -> set[str]:
        return set()

    def columns(self, keys) -> dict[str, list]:
        return {k: [] for k in keys}


def archives_of(register: Path | None) -> ArchiveShelf:
    return FileArchives(register) if register else NoArchives()
