"""xlsxstream — the rows of a sheet that may mention a text, found by byte search.

`find` compares a few cells of every row with what the user typed: as lower-case text, and as a
phone number whose characters may be split by separators. On a large register nearly every row
fails, and parsing 200,000 rows in full to learn that takes most of a minute. A row can only pass
when its XML holds the text, so only those rows need parsing — together with every row that could
hold it in a form a byte search does not see:
  * a shared string: the strings are compared as text first, then their indexes searched for
    (with any index written in an unusual form);
  * a character reference, an entity other than the five of XML, or an _xHHHH_ escape;
  * inline text that is more than one plain <t> (rich text, phonetic runs), joined when read;
  * in a compared column: a number written otherwise than it reads (1.2E+17, 0.5, 007, 16 digits
    and more) when the text could be part of a number, a formula when the text holds "=", a
    true/false cell when the text could be part of "true"/"false".
A text that XML would escape, or holding letters whose case a byte search cannot fold (only ASCII
is folded), is not searched for: the caller then compares every row. The rows found are parsed
and compared by the caller exactly as before, so the answer equals that of a full read.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

XML_ESCAPED = frozenset("&<>\"'")
NUMBER_TEXT = frozenset("0123456789.-+e")  # what text_of(number) is made of
# non-ASCII characters whose lower case holds an ASCII letter (İ → i̇, the Kelvin sign → k), and
# the one character without case that a lower case holds (the dot of i̇)
LOWER_TO_ASCII = ("\u0130", "\u212a")
FOLDED_WITHOUT_CASE = frozenset("\u0307")
MAX_SHARED = 20_000  # shared strings found beyond which every row is compared
ODD_TEXT = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos);)|_x[0-9A-Fa-f]{4}_")
RUNS = (b"</r>", b"<rPh")  # inline text in runs (rich or phonetic): read joined
PLAIN_INDEX = rb"(?:[1-9]\d*|0)</v>"
PLAIN_NUMBER = rb"-?(?:[1-9]\d{0,14}|0)</v>"  # a number text_of writes as it is stored
ROW_AT = re.compile(rb'<row r="(\d+)"')


@lru_cache(maxsize=None)
def separator(between: re.Pattern) -> bytes:
    """A pattern for any one character `between` matches, as UTF-8 (\\s holds nothing beyond the BMP)."""
    return literal_trie(chr(c).encode("utf-8") for c in range(0x10000) if between.fullmatch(chr(c)))


def searchable(text: str) -> bool:
    """A text a byte search finds wherever a cell holds it (lower-cased: only ASCII is folded)."""
    return not (XML_ESCAPED & set(text)) and not any(ord(c) < 32 for c in text) \
        and not any(not c.isascii() and (c.upper() != c or c in FOLDED_WITHOUT_CASE) for c in text)


def literal_trie(words) -> bytes:
    """A regular expression matching exactly these byte strings, built as a prefix tree: an
    alternation of literals is tried literal by literal, a tree is walked byte by byte."""
    tree: dict = {}
    for word in words:
        node = tree
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}

    def build(node: dict) -> bytes:
        items = sorted((b, child) for b, child in node.items() if b is not None)
        leaves = [b for b, child in items if list(child) == [None]]
        alts = [b"[" + b"".join(re.escape(bytes([b])) for b in leaves) + b"]"] if leaves else []
        alts += [re.escape(bytes([b])) + build(child) for b, child in items if list(child) != [None]]
        if not alts:
            return b""
        body = alts[0] if len(alts) == 1 else b"(?:" + b"|".join(alts) + b")"
        return b"(?:" + body + b")?" if None in node else body
    return build(tree)


class Unsearchable(ValueError):
    """The sheet has a shape the byte search does not handle: compare every row instead."""


class MentionSearch:
    """The search for one query over the pieces of a register sheet."""

    def __init__(self, texts: list[bytes], extra: list[bytes], patterns: list[re.Pattern]):
        self.texts, self.patterns, self.extra = texts, patterns, extra
        self.fold = any(re.search(rb"[a-z]", t) for t in texts)

    @classmethod
    def of(cls, texts, phones, strings: list[str], letters, between: re.Pattern,
           normalise: Callable[[str], str]) -> "MentionSearch | None":
        """The search for cells holding one of `texts` (lower case; compared case-insensitively)
        or one of `phones` (any one character `between` matches allowed between their characters;
        a shared string holds a phone when `normalise` of it does), in the columns `letters` —
        None when a byte search cannot be trusted to find them."""
        texts, phones = [t for t in texts if t], [p for p in phones if p]
        if not all(searchable(t) for t in texts + phones):
            return None
        wanted = [i for i, s in enumerate(strings) if _holds(s, texts, phones, normalise)]
        if len(wanted) > MAX_SHARED:
            return None
        return cls(*_plain(texts, phones), _patterns(texts, phones, wanted, letters, between))

    def rows_in(self, buf: bytes) -> set[int]:
        """The numbers of the rows in a piece of sheet XML that may mention the texts (raises
        Unsearchable for a row that does not start with its number, as most writers write it)."""
        if not (self.texts or self.patterns):  # nothing asked for
            return set()
        at = self._hits(buf)
        last = buf.rfind(b"</row>")  # what follows is the sheet's tail (formats, validations, links)
        rows = {_row_at(buf, p) for p in at if p < last}
        rows.discard(None)
        rows.discard(1)
        return rows

    def _hits(self, buf: bytes) -> list[int]:
        """Where in the piece a text, a pattern, an escaped or odd text or a rich-text run starts."""
        low = buf.lower() if self.fold else buf
        at = [p for t in self.texts for p in _positions(low, t)]
        at += [p for t in self.extra for p in _positions(buf, t)]
        at += [m.start() for pattern in self.patterns for m in pattern.finditer(buf)]
        at += [p for marker in (b"&", b"_") for p in _positions(buf, marker) if ODD_TEXT.match(buf, p)]
        return at + [p for marker in RUNS for p in _positions(buf, marker)]


def _plain(texts: list[str], phones: list[str]) -> tuple[list[bytes], list[bytes]]:
    """The texts searched for as they are (a text without letters to fold that a phone pattern finds
    already is not searched again), and the non-ASCII characters whose lower case holds an ASCII
    letter, searched for too when a text's letters are folded."""
    folded = {t for t in texts if re.search("[a-z]", t)}
    plain = [t.encode("utf-8") for t in texts if t not in phones or t in folded]
    return plain, [c.encode("utf-8") for c in LOWER_TO_ASCII] if folded else []


def _patterns(texts: list[str], phones: list[str], wanted: list[int], letters, between: re.Pattern) -> list:
    """The patterns beside the plain texts: each phone with separators between its characters,
    cells showing a shared string that holds the text (or an index in another form), odd cells."""
    gap = b"(?:" + separator(between) + b")*"
    patterns = [re.compile(gap.join(re.escape(c.encode("utf-8")) for c in p)) for p in phones]
    if wanted:
        patterns.append(re.compile(rb't="s"[^>]*><v>(?:' + literal_trie(str(i).encode() for i in wanted)
                                   + rb"</v>|(?!" + PLAIN_INDEX + rb"))"))
    cells = _odd_cells([t.lower() for t in texts + phones], letters)
    if cells is not None:
        patterns.append(cells)
    return patterns


def _odd_cells(needles: list[str], letters) -> re.Pattern | None:
    """Cells of the compared columns whose text as read is not in their XML: a number written in
    another form (when a needle could be part of a number), a formula (when one holds "="), a
    true/false cell (when one could be part of "true" or "false")."""
    shapes = []
    if any(set(t) <= NUMBER_TEXT for t in needles):
        shapes.append(rb"[^>]*>(?:<f\b[^>]*>[^<]*</f>|<f\b[^>]*/>)?<v>(?!" + PLAIN_NUMBER + rb")")
    if any("=" in t for t in needles):
        shapes.append(rb"[^>]*><f[ >]")
    if any(t in "true" or t in "false" for t in needles):
        shapes.append(rb'(?=[^>]*\bt="b")')
    if not shapes or not letters:
        return None
    column = b"|".join(re.escape(letter) for letter in sorted(letters))
    return re.compile(rb'<c r="(?:' + column + rb')\d+"(?:' + b"|".join(shapes) + rb")")


def _holds(text: str, texts: list[str], phones: list[str], normalise: Callable[[str], str]) -> bool:
    """Whether a shared string holds a text or a phone number, as find compares a cell."""
    return any(t in text.lower() for t in texts) or any(p in normalise(text) for p in phones)


def _positions(buf: bytes, needle: bytes) -> list[int]:
    out, find, at = [], buf.find, buf.find(needle)
    while at >= 0:
        out.append(at)
        at = find(needle, at + 1)
    return out


def _row_at(buf: bytes, pos: int) -> int | None:
    """The number of the row holding position `pos` (None before the first row)."""
    start = buf.rfind(b"<row", 0, pos + 1)
    if start < 0:
        return None
    m = ROW_AT.match(buf, start)
    if m is None:
        raise Unsearchable("a row that does not start with its number")
    return int(m.group(1))
