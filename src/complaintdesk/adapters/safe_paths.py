"""Adapter — file names built from data (a complaint number typed by staff or supplied by another
system's export) that are safe on every system the register travels to: no folder separators, no
`..`, no characters Windows refuses, no reserved device names, a bounded length; and the final path
checked to lie inside the folder it was meant for."""
from __future__ import annotations

import re
from pathlib import Path

from ..errors import ComplaintDeskError

MAX_NAME_CHARS = 80  # of the part taken from data; the whole name stays far below 255 bytes
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.I)


def safe_name(text: object, limit: int = MAX_NAME_CHARS) -> str:
    """`text` as one file-name part: separators and characters Windows refuses become "_", runs of
    dots collapse, leading/trailing dots and spaces go, a reserved name gets a "_" in front."""
    name = _UNSAFE.sub("_", str(text if text is not None else ""))
    name = re.sub(r"\.{2,}", "_", name).strip(" .")[:limit].strip(" .")
    if not name:
        return "_"
    return "_" + name if _RESERVED.match(name) else name


def inside(folder: Path, name: str) -> Path:
    """folder / name, refused unless it lies directly inside `folder` (the last guard: `name`
    should already be a safe_name)."""
    folder = Path(folder)
    path = folder / name
    if path.resolve().parent != folder.resolve():
        raise ComplaintDeskError(f"文件名“{name[:40]}”会写到文件夹“{folder}”之外，已拒绝")
    return path
