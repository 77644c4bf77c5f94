"""Adapter — writes a VBA project (vbaProject.bin) from module source text, on any OS.

A transcription of the published formats: MS-OVBA (the `dir` stream, the
compression of module and dir streams, the PROJECT / PROJECTwm streams and
the data encryption of their CMG / DPB / GC values) inside an MS-CFB
compound file (version 3, 512-byte sectors, mini stream below 4096 bytes).
`_VBA_PROJECT` carries version 0xFFFF, so Excel compiles from the source on
open and no p-code is needed. Tests read the result back with oletools.
"""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from .cfb import utf16 as _utf16
from .cfb import write_cfb

CODEPAGE = 1252
DOCUMENT_ATTRIBUTES = (
    'Attribute VB_Base = "{base}"', "Attribute VB_GlobalNameSpace = False", "Attribute VB_Creatable = False",
    "Attribute VB_PredeclaredId = True", "Attribute VB_Exposed = True", "Attribute VB_TemplateDerived = False",
    "Attribute VB_Customizable = True")
REFERENCES = (
    ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"),
    ("Office", "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\\Program Files\\Common Files\\Microsoft Shared"
               "\\OFFICE16\\MSO.DLL#Microsoft Office 16.0 Object Library"),  # IRibbonControl
)
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
SHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"


@dataclass(frozen=True)
class Module:
    name: str
    source: str          # VBA source text, CRLF or LF line ends
    document: bool = False


def document_module(name: str, workbook: bool) -> Module:
    base = WORKBOOK_BASE if workbook else SHEET_BASE
    lines = [f'Attribute VB_Name = "{name}"'] + [a.format(base=base) for a in DOCUMENT_ATTRIBUTES]
    return Module(name, "\r\n".join(lines) + "\r\n", document=True)


# ---- MS-OVBA 2.4.1 compression -------------------------------------------------------
def _copy_token_help(difference: int) -> tuple[int, int]:
    bit_count = max((difference - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3  # bit count, maximum length


def _compress_chunk(data: bytes, start: int, end: int) -> bytes:
    out = bytearray()
    positions: dict[bytes, list[int]] = {}
    pos = start
    while pos < end:
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= end:
                break
            best_len, best_off = 0, 0
            if pos + 3 <= end:
                bit_count, max_len = _copy_token_help(pos - start)
                limit = min(max_len, end - pos)
                for cand in reversed(positions.get(data[pos:pos + 3], [])[-64:]):
                    length = 3
                    while length < limit and data[cand + length] == data[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == limit:
                            break
            if best_len >= 3:
                bit_count, _ = _copy_token_help(pos - start)
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                step = best_len
            else:
                out.append(data[pos])
                step = 1
            for p in range(pos, min(pos + step, end - 2)):
                positions.setdefault(data[p:p + 3], []).append(p)
            pos += step
        out[flag_index] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    """MS-OVBA CompressedContainer for `data`."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), 4096):
        end = min(start + 4096, len(data))
        body = _compress_chunk(data, start, end)
        if len(body) > 4096:  # incompressible: a raw chunk holds exactly 4096 bytes
            body = data[start:end].ljust(4096, b"\x00")
            out += struct.pack("<H", (4096 - 1) | (0b011 << 12))
        else:
            out += struct.pack("<H", (len(body) + 2 - 3) | (0b011 << 12) | 0x8000)
        out += body
    return bytes(out)


# ---- MS-OVBA 2.4.3 data encryption (CMG, DPB, GC) -------------------------------------
def encrypt(data: bytes, project_id: str, seed: int = 0x07) -> str:
    key = sum(project_id.encode("ascii")) & 0xFF
    version_enc, key_enc = seed ^ 2, seed ^ key
    out = [seed, version_enc, key_enc]
    unenc1, enc1, enc2 = key, key_enc, version_enc
    payload = bytes([0] * ((seed & 6) // 2)) + struct.pack("<I", len(data)) + data
    for byte in payload:
        enc = byte ^ ((enc2 + unenc1) & 0xFF)
        out.append(enc)
        enc2, enc1, unenc1 = enc1, enc, byte
    return "".join(f"{b:02X}" for b in out)


# ---- the VBA storage streams -----------------------------------------------------------
def _rec(record_id: int, payload: bytes) -> bytes:
    return struct.pack("<HI", record_id, len(payload)) + payload


def _text(s: str) -> bytes:
    return s.encode("cp1252")


def dir_stream(modules: list[Module], project_name: str = "VBAProject") -> bytes:
    d = bytearray()
    d += _rec(0x0001, struct.pack("<I", 3))                  # SysKind: 64-bit (32-bit Office recompiles)
    d += _rec(0x0002, struct.pack("<I", 0x0409))             # LCID
    d += _rec(0x0014, struct.pack("<I", 0x0409))             # LCID invoke
    d += _rec(0x0003, struct.pack("<H", CODEPAGE))           # code page
    d += _rec(0x0004, _text(project_name))
    d += _rec(0x0005, b"") + _rec(0x0040, b"")              # doc string (+ unicode)
    d += _rec(0x0006, b"") + _rec(0x003D, b"")              # help file 1 / 2
    d += _rec(0x0007, struct.pack("<I", 0))                  # help context
    d += _rec(0x0008, struct.pack("<I", 0))                  # lib flags
    d += struct.pack("<HIIH", 0x0009, 4, 1, 0)               # version 1.0 (Reserved=4, then 6 bytes)
    d += _rec(0x000C, b"") + _rec(0x003C, b"")              # constants (+ unicode)
    for name, libid in REFERENCES:                           # REFERENCENAME + REFERENCEREGISTERED
        d += _rec(0x0016, _text(name)) + _rec(0x003E, _utf16(name))
        lib = _text(libid)
        d += _rec(0x000D, struct.pack("<I", len(lib)) + lib + struct.pack("<IH", 0, 0))
    d += struct.pack("<HIH", 0x000F, 2, len(modules))        # module count
    d += struct.pack("<HIH", 0x0013, 2, 0xFFFF)              # project cookie
    for m in modules:
        d += _rec(0x0019, _text(m.name)) + _rec(0x0047, _utf16(m.name))
        d += _rec(0x001A, _text(m.name)) + _rec(0x0032, _utf16(m.name))
        d += _rec(0x001C, b"") + _rec(0x0048, b"")
        d += _rec(0x0031, struct.pack("<I", 0))              # source starts at offset 0
        d += _rec(0x001E, struct.pack("<I", 0))
        d += struct.pack("<HIH", 0x002C, 2, 0xFFFF)          # module cookie
        d += struct.pack("<HI", 0x0022 if m.document else 0x0021, 0)
        d += struct.pack("<HI", 0x002B, 0)                   # module terminator
    d += struct.pack("<HI", 0x0010, 0)                       # dir terminator
    return bytes(d)


def project_stream(modules: list[Module], project_id: str) -> bytes:
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append(f"Document={m.name}/&H00000000" if m.document else f"Module={m.name}")
    lines += ['Name="VBAProject"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              f'CMG="{encrypt(bytes(4), project_id, 0x07)}"', f'DPB="{encrypt(bytes(1), project_id, 0x0B)}"',
              f'GC="{encrypt(bytes([0xFF]), project_id, 0x0D)}"', "",
              "[Host Extender Info]", "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000", "",
              "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return _text("\r\n".join(lines) + "\r\n")


def projectwm_stream(modules: list[Module]) -> bytes:
    return b"".join(_text(m.name) + b"\x00" + _utf16(m.name) + b"\x00\x00" for m in modules) + b"\x00\x00"


def _source_bytes(source: str) -> bytes:
    text = source.replace("\r\n", "\n").replace("\n", "\r\n")
    return text.encode("cp1252", errors="strict")


def vba_project(modules: list[Module], project_id: str | None = None) -> bytes:
    """The vbaProject.bin bytes for these modules."""
    project_id = project_id or "{" + str(uuid.uuid4()).upper() + "}"
    vba = {"_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x01\x00", "dir": compress(dir_stream(modules))}
    for m in modules:
        vba[m.name] = compress(_source_bytes(m.source))
    root = {"VBA": vba, "PROJECT": project_stream(modules, project_id), "PROJECTwm": projectwm_stream(modules)}
    return write_cfb(root)


# ---- reading back (for `excel check`) ------------------------------------------------------
def decompress(container: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.1: the inverse of `compress`."""
    if not container or container[0] != 1:
        raise ValueError("not a compressed VBA container")
    out = bytearray()
    pos = 1
    while pos + 2 <= len(container):
        header = struct.unpack_from("<H", container, pos)[0]
        size, compressed = (header & 0x0FFF) + 3, bool(header & 0x8000)
        chunk_end = min(pos + size, len(container))
        pos += 2
        start = len(out)
        if not compressed:
            out += container[pos:pos + 4096]
            pos += 4096
            continue
        while pos < chunk_end:
            flags = container[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags & (1 << bit):
                    out.append(container[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", container, pos)[0]
                pos += 2
                bit_count, _ = _copy_token_help(len(out) - start)
                length = (token & (0xFFFF >> bit_count)) + 3
                offset = (token >> (16 - bit_count)) + 1
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def read_module_sources(vba_bin: bytes) -> dict[str, str]:
    """Module name -> source text of a vbaProject.bin (modules stored at offset 0 or after p-code)."""
    import olefile

    ole = olefile.OleFileIO(vba_bin)
    try:
        prefix = next(p[:-1] for p in ole.listdir() if p[-1] == "dir")
        info = decompress(ole.openstream(prefix + ["dir"]).read())
        out, pos, name, offset = {}, 0, None, 0
        while pos + 6 <= len(info):
            rid, size = struct.unpack_from("<HI", info, pos)
            payload = info[pos + 6:pos + 6 + (6 if rid == 0x0009 else size)]
            pos += 6 + (6 if rid == 0x0009 else size)
            if rid == 0x001A:
                name = payload.decode("cp1252", errors="replace")
            elif rid == 0x0031:
                offset = struct.unpack("<I", payload)[0]
            elif rid == 0x002B and name:
                data = ole.openstream(prefix + [name]).read()
                out[name] = decompress(data[offset:]).decode("cp1252", errors="replace")
                name = None
        return out
    finally:
        ole.close()
