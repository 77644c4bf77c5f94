"""Adapter — the archives beside a register (`archive/投诉归档_<year>.xlsx`), as the services read
them: every archived row, the rows that may mention a text, the complaint numbers, a few columns.
`ArchiveShelf` is the seam; `FileArchives` reads the folder through faststore/archive_files (the
streaming reader, imported when first used); `NoArchives` is the shelf of a register without a file."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ..domain.model import RegisterRow
from .files import atomic_write_bytes

ARCHIVE_FOLDER = "archive"


class ArchiveShelf(Protocol):
    folder: Path | None

    def files(self) -> list[Path]: ...                              # the yearly archives, by year
    def rows(self) -> list[RegisterRow]: ...                        # every archived row, in full
    def rows_mentioning(self, texts, phones, keys) -> list[RegisterRow]: ...  # candidates: the caller compares
    def numbers(self) -> set[str]: ...                              # every archived complaint number
    def columns(self, keys) -> dict[str, list]: ...                 # per key, values as stored, all archives
    def complaints_in(self, name: str) -> int | None: ...           # complaints in one file; None: not there
    def comms(self) -> list[dict]: ...                              # the archived 沟通记录 entries


class FileArchives:
    def __init__(self, register: Path):
        self.register = Path(register)
        self.folder: Path | None = self.register.parent / ARCHIVE_FOLDER

    def files(self) -> list[Path]:
        """The yearly archives of this register (archive_files.archives_of_register)."""
        from .faststore.archive_files import archives_of_register
        return archives_of_register(self.folder, self.register) if self.folder is not None else []

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

    def comms(self) -> list[dict]:
        from .faststore.archive_files import read_archive
        return [entry for path in self.files() for entry in read_archive(path, only=set())[1]]

    def complaints_in(self, name: str) -> int | None:
        from .faststore.archive_files import archived_numbers
        path = self.folder / name if self.folder is not None else None
        return len(archived_numbers(path)) if path is not None and path.is_file() else None


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

    def complaints_in(self, name: str) -> int | None:
        return None

    def comms(self) -> list[dict]:
        return []


class ArchiveMarker:
    """`.<name>.archiving.json` beside the register while an `archive` run moves rows: written
    before the first archive file, removed after the register's save. Found by a later writing
    session, it means the run stopped half-way: that session runs it again with the same moment
    and age, which only takes out of the register what the archive files already hold."""

    def __init__(self, register: Path):
        self.path = Path(register).parent / f".{Path(register).name}.archiving.json"

    def begin(self, now: datetime, days: int) -> None:
        atomic_write_bytes(self.path, json.dumps({"now": now.isoformat(), "days": days}).encode("utf-8"))

    def end(self) -> None:
        self.path.unlink(missing_ok=True)

    def interrupted(self) -> tuple[datetime, int] | None:
        """(moment, age in days) of a run that stopped half-way, or None."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return datetime.fromisoformat(data["now"]), int(data["days"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, OSError):  # unreadable: nothing to finish by it
            self.end()
            return None


def archives_of(register: Path | None) -> ArchiveShelf:
    return FileArchives(register) if register else NoArchives()
