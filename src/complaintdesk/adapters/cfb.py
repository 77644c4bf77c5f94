"""Adapter — an MS-CFB compound file (version 3, 512-byte sectors, a mini stream below 4096 bytes)
written from a tree of storages and streams: the container of a VBA project (see ovba.py)."""
from __future__ import annotations

import struct
from dataclasses import dataclass

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR, MINI_SECTOR, MINI_CUTOFF = 512, 64, 4096


def utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


@dataclass
class _Entry:
    name: str
    kind: int                  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    children: list | None = None
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    red: bool = False
    start: int = ENDOFCHAIN
    size: int = 0


def _cfb_key(name: str) -> tuple[int, str]:
    return len(name), name.upper()


def _tree(entries: list[_Entry], ids: list[int], depth: int = 0, deepest: list | None = None) -> int:
    """Balanced BST over sibling ids (sorted); returns the root id."""
    if not ids:
        return NOSTREAM
    mid = len(ids) // 2
    node = entries[ids[mid]]
    node.left = _tree(entries, ids[:mid], depth + 1, deepest)
    node.right = _tree(entries, ids[mid + 1:], depth + 1, deepest)
    if deepest is not None:
        deepest.append((depth, ids[mid]))
    return ids[mid]


def write_cfb(root_tree: dict) -> bytes:
    """A compound file (MS-CFB, version 3) holding `root_tree` (name -> bytes, or a dict for a
    storage): directory red-black trees, small streams in the mini stream, the FAT after them."""
    entries = _entries(root_tree)
    mini, minifat, big_streams = _mini_streams(entries)

    def sectors(n_bytes: int) -> int:
        return -(-n_bytes // SECTOR)

    dir_count = sectors(len(entries) * 128)
    minifat_count = sectors(len(minifat) * 4)
    mini_count = sectors(len(mini))
    big_counts = [sectors(e.size) for e in big_streams]
    content = dir_count + minifat_count + mini_count + sum(big_counts)
    fat_count = 1
    while fat_count * 128 < content + fat_count:
        fat_count += 1
    if fat_count > 109:
        raise ValueError("VBA project too large for a header-only DIFAT")
    fat: list[int] = []

    def chain(count: int) -> int:
        if count == 0:
            return ENDOFCHAIN
        first = len(fat)
        fat.extend(list(range(first + 1, first + count)) + [ENDOFCHAIN])
        return first

    dir_start = chain(dir_count)
    minifat_start = chain(minifat_count)
    mini_start = chain(mini_count)
    for entry, count in zip(big_streams, big_counts):
        entry.start = chain(count)
    fat_start = len(fat)
    fat.extend([FATSECT] * fat_count)
    fat.extend([FREESECT] * (fat_count * 128 - len(fat)))
    root = entries[0]
    root.start, root.size = (mini_start, len(mini)) if mini else (ENDOFCHAIN, 0)

    difat = [fat_start + i for i in range(fat_count)] + [FREESECT] * (109 - fat_count)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", bytes(16), 0x003E, 0x0003,
                         0xFFFE, 9, 6, bytes(6), 0, fat_count, dir_start, 0, MINI_CUTOFF,
                         minifat_start if minifat else ENDOFCHAIN, minifat_count, ENDOFCHAIN, 0)
    header += struct.pack("<109I", *difat)
    body = _directory(entries, dir_count)
    body += struct.pack(f"<{len(minifat)}I", *minifat).ljust(minifat_count * SECTOR, b"\xff") if minifat else b""
    body += bytes(mini).ljust(mini_count * SECTOR, b"\x00")
    for entry, count in zip(big_streams, big_counts):
        body += entry.data.ljust(count * SECTOR, b"\x00")
    body += struct.pack(f"<{len(fat)}I", *fat)
    return header + bytes(body)


def _entries(root_tree: dict) -> list[_Entry]:
    """The directory entries, the root first, each storage's children as a red-black tree."""
    entries = [_Entry("Root Entry", 5, children=[])]

    def add(parent: _Entry, tree: dict) -> None:
        for name, value in tree.items():
            entry = _Entry(name, 1, children=[]) if isinstance(value, dict) else _Entry(name, 2, data=value)
            entries.append(entry)
            parent.children.append(len(entries) - 1)
            if isinstance(value, dict):
                add(entry, value)
    add(entries[0], root_tree)
    for entry in entries:
        if entry.children is not None:
            ids = sorted(entry.children, key=lambda i: _cfb_key(entries[i].name))
            placed: list = []
            entry.child = _tree(entries, ids, 0, placed)
            if placed:  # red only for nodes below the shortest nil path: keeps black heights equal
                full = (len(ids) + 1).bit_length() - 1
                for depth, i in placed:
                    entries[i].red = depth >= full and (len(ids) + 1) & len(ids) != 0
    return entries


def _mini_streams(entries: list[_Entry]) -> tuple[bytearray, list[int], list[_Entry]]:
    """Small streams packed into the mini stream (and its mini FAT); the big ones, for sectors."""
    mini = bytearray()
    minifat: list[int] = []
    big_streams = []
    for entry in entries:
        if entry.kind != 2:
            continue
        entry.size = len(entry.data)
        if entry.size == 0:
            entry.start = ENDOFCHAIN
        elif entry.size < MINI_CUTOFF:
            first = len(minifat)
            count = -(-entry.size // MINI_SECTOR)
            minifat += list(range(first + 1, first + count)) + [ENDOFCHAIN]
            entry.start = first
            mini += entry.data.ljust(count * MINI_SECTOR, b"\x00")
        else:
            big_streams.append(entry)
    return mini, minifat, big_streams


def _directory(entries: list[_Entry], dir_count: int) -> bytearray:
    """The directory sectors: 128 bytes an entry, unused slots with no siblings or child."""
    directory = bytearray()
    for entry in entries:
        name = utf16(entry.name) + b"\x00\x00"
        directory += name.ljust(64, b"\x00")
        directory += struct.pack("<HBB", len(name), entry.kind, 0 if entry.red else 1)
        directory += struct.pack("<III", entry.left, entry.right, entry.child)
        directory += bytes(16) + struct.pack("<I", 0) + bytes(16)
        directory += struct.pack("<IIH", entry.start, entry.size, 0) + b"\x00\x00"
    directory = directory.ljust(dir_count * SECTOR, b"\x00")
    for i in range(len(entries), dir_count * 4):  # unused directory slots
        offset = i * 128
        directory[offset + 68:offset + 80] = struct.pack("<III", NOSTREAM, NOSTREAM, NOSTREAM)
    return directory
