"""Adapter — who holds a register open: the owner files Excel, WPS and LibreOffice leave beside it.

Excel and WPS write `~$<name>` (165 bytes: the user's name as a length-prefixed ANSI string, then
again as UTF-16 from byte 56); for names longer than 8 characters Excel replaces the first two
characters by `~$`. LibreOffice writes `.~lock.<name>#`, one CSV line: full name, user, host,
time, profile URL. A held register is the normal state of an office, not an error: readers take
a snapshot, writers queue their changes (services/held.py) — this module only says who it is.
"""
from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

STALE_HOURS = 12  # an owner file this much older than the register's last save may be a crash's leftover


@dataclass(frozen=True)
class Holder:
    program: str        # "Excel", "WPS", "Excel/WPS" (cannot tell which) or "LibreOffice"
    user: str           # as the owner file names the person ("" when it does not)
    owner_file: Path
    since: datetime     # when the owner file was written (the file was opened then)
    host: str = ""      # the computer it was opened on, where the owner file says (LibreOffice)

    def older_than_last_save(self, register: Path) -> float:
        """Hours by which the owner file is older than the register's last save (0: not older)."""
        with contextlib.suppress(OSError):
            return max(0.0, (Path(register).stat().st_mtime - self.owner_file.stat().st_mtime) / 3600)
        return 0.0

    def describe(self) -> str:
        """Who, in what, since when — to follow "登记表正被"."""
        who = f"{self.user} " if self.user else ""
        return f"{who}在 {self.program} 中打开（{self.since:%m-%d %H:%M} 起，{self.owner_file.name}）"


def owner_files(path: Path) -> list[Path]:
    """The names an owner file of `path` may have (Excel's short form first)."""
    name = path.name
    names = ["~$" + name[2:]] if len(name) > 8 else []
    return [path.parent / n for n in names + ["~$" + name, f".~lock.{name}#"]]


def _excel_user(data: bytes) -> str:
    """The user named by an Excel/WPS owner file: the UTF-16 copy, else the ANSI one."""
    if len(data) >= 57:
        count = data[55] if data[54] == 0 else int.from_bytes(data[54:56], "little")
        wide = data[56:56 + 2 * count]
        if count and len(wide) == 2 * count:
            with contextlib.suppress(UnicodeDecodeError):
                return wide.decode("utf-16-le").strip()
    if data:
        raw = data[1:1 + min(data[0], 53)]
        for encoding in ("utf-8", "gbk"):
            with contextlib.suppress(UnicodeDecodeError):
                return raw.decode(encoding).strip()
    return ""


def _libreoffice_fields(data: bytes) -> tuple[str, str]:
    """(user, host) of a LibreOffice lock: full name, user, host, time, profile URL."""
    fields = data.decode("utf-8", errors="replace").split(",")
    return next((f.strip() for f in fields[:2] if f.strip()), ""), fields[2].strip() if len(fields) > 2 else ""


def holder_of(path: Path) -> Holder | None:
    """Who holds `path` open, from its owner file; None when no owner file is there, or when the
    program that wrote it is known to be gone (see left_behind)."""
    found = owner_file_of(path)
    return None if found is None or left_behind(found) else found


def left_behind(holder: Holder) -> bool:
    """Whether the owner file was left by a program that no longer runs — where that can be told:
    a LibreOffice lock written on this PC with no LibreOffice running here; an Excel/WPS owner file
    on Windows that nobody keeps open (Excel holds it open while the workbook is)."""
    if holder.program == "LibreOffice":
        return holder.host == socket.gethostname() and not _libreoffice_running()
    if os.name == "nt":
        try:
            with open(holder.owner_file, "r+b"):
                return True
        except OSError:
            return False
    return False


# program -> how its process shows: Windows image names, command lines under /proc (Linux)
PROCESS_NAMES = {
    "Excel": (b"excel.exe",),
    "WPS": (b"et.exe", b"wps.exe", b"wpsoffice.exe", b"/office6/et", b"/office6/wps", b"wps-office"),
    "LibreOffice": (b"soffice",),
}


def running_programs() -> set[str] | None:
    """Which of Excel, WPS and LibreOffice run on this PC (None when it cannot be told)."""
    listing = _process_listing()
    if listing is None:
        return None
    return {program for program, marks in PROCESS_NAMES.items() if any(m in listing for m in marks)}


def _process_listing() -> bytes | None:
    """Every process's name or command line, lower case, one blob (None when it cannot be read)."""
    if os.name == "nt":
        import subprocess
        try:
            return subprocess.run(["tasklist", "/FO", "CSV", "/NH"], capture_output=True, timeout=10,
                                  creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0)).stdout.lower()
        except (OSError, subprocess.SubprocessError):
            return None
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    lines = []
    for cmdline in proc.glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").lower())
    return b"\n".join(lines)


def _libreoffice_running() -> bool:
    """Whether a LibreOffice process runs on this PC (True when it cannot be told)."""
    running = running_programs()
    return running is None or "LibreOffice" in running


def _excel_or_wps() -> str:
    """Which program wrote a `~$` owner file — both write the same form: told by which of the two
    runs on this PC when exactly one does (the register is usually opened on the same PC), else
    "Excel/WPS"."""
    running = (running_programs() or set()) & {"Excel", "WPS"}
    return running.pop() if len(running) == 1 else "Excel/WPS"


def owner_file_of(path: Path) -> Holder | None:
    """The owner file beside `path` as it is, whether or not its program still runs."""
    for owner in owner_files(Path(path)):
        try:
            data = owner.read_bytes()[:4096]
            since = datetime.fromtimestamp(owner.stat().st_mtime).replace(microsecond=0)
        except OSError:  # not there (or vanished as we looked): not held by this name
            continue
        if owner.name.startswith(".~lock."):
            user, host = _libreoffice_fields(data)
            return Holder("LibreOffice", user, owner, since, host)
        return Holder(_excel_or_wps(), _excel_user(data), owner, since)
    return None


def excel_owner_bytes(user: str) -> bytes:
    """An owner file as Excel writes it for `user` (for tests and the benchmark)."""
    ansi = user.encode("gbk", errors="replace")[:53]
    wide = user[:54].encode("utf-16-le")
    data = bytes([len(ansi)]) + ansi.ljust(53, b" ") + b"\x00" + bytes([len(user[:54])]) + wide
    return data.ljust(165, b" ")[:165] if len(data) <= 165 else data
