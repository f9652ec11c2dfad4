"""The one tokenisation rule of the project: what a word is, where words meet, what a phrase is.

The queries stage counts words with it, and the harvest stage's word-boundary rule assumes it,
so a query built from the text is matched in captions under the same definition.

- Text is first put in Unicode NFC, so "é" written as e + combining accent is one letter.
- A **token** is a run of Unicode letters and digits (``str.isalnum``; the underscore is not a
  letter) and combining marks (Unicode category M), beginning with a letter or digit, in which a
  single apostrophe (``'`` or ``’``) or hyphen may join two such runs: ``don't``,
  ``rock-face``, ``o'malley``, ``zürich``, ``1987`` are one token each; ``3.5`` is ``3`` and
  ``5``; a leading or trailing apostrophe or hyphen is not part of the token. The marks are
  what most of the world's scripts write vowels and virama with (``हिन्दी``, ``อยู่``,
  ``مُحَمَّد``): without them a Hindi word would fall apart into its consonants. A mark with no
  letter before it (after a space) is a unit of its own.
- Case is kept: ``Paris`` and ``paris`` are different tokens, as CLIP's and MetaCLIP's query
  lists are case-sensitive.
- A **phrase** is a maximal run of tokens separated by whitespace only, within one line. Any
  other character between two tokens (a comma, a full stop, a bracket, a dash between spaces)
  ends the phrase. Bigrams and longer n-grams are counted within phrases, so "red circle" is
  counted where the text says "red circle" and not where it says "red, circle", which is also
  where a substring match on word boundaries finds it.
- A **word boundary** is a position where no token continues on both sides: a query matches a
  text at [i, j) when the text there equals the query and neither i nor j falls inside a token.
- A **unit** is a token or any other single character that is not whitespace ("u.s" is the
  units ``u``, ``.``, ``s``; "C++" is ``C``, ``+``, ``+``). A text cut at two word boundaries
  holds whole units only, cut the same way as in the whole text, so a query (with no whitespace
  at either end) occurs on word boundaries exactly where its units are consecutive units of the
  text with the same characters between them. Harvest's matcher looks queries up that way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_JOINERS = "'’-"
# Combining marks live in planes 0, 1 and 14 (a test checks every plane for this Python's Unicode).
_MARK_PLANES = (0x0, 0x1, 0xE)


def _mark_ranges() -> list[tuple[int, int]]:
    """(first, last) code points of each run of combining marks (category M)."""
    ranges: list[tuple[int, int]] = []
    for plane in _MARK_PLANES:
        for code in range(plane << 16, (plane + 1) << 16):
            if unicodedata.category(chr(code))[0] == "M":
                if ranges and ranges[-1][1] == code - 1:
                    ranges[-1] = (ranges[-1][0], code)
                else:
                    ranges.append((code, code))
    return ranges


MARK_RANGES = _mark_ranges()


def _bitmap(ranges: list[tuple[int, int]]) -> bytes:
    """Bit c set (byte c // 8, bit c % 8) for each code point c in the ranges."""
    bits = bytearray(ranges[-1][1] // 8 + 1)
    for first, last in ranges:
        for code in range(first, last + 1):
            bits[code >> 3] |= 1 << (code & 7)
    return bytes(bits)


MARK_BITMAP = _bitmap(MARK_RANGES)  # read by the native tokenizer (harvest/_phrase_table.c)
_MARKS = "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in MARK_RANGES)
# The token rule; on an ASCII text (no marks) the plain pattern gives the same tokens, faster.
TOKEN = re.compile(rf"[^\W_]++(?:[{_MARKS}]++[^\W_]*+|['’-][^\W_]++)*+")
_ASCII_TOKEN = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
UNIT = re.compile(TOKEN.pattern + r"|\S")
_ASCII_UNIT = re.compile(_ASCII_TOKEN.pattern + r"|\S")


def is_mark(char: str) -> bool:
    """Whether ``char`` is a combining mark (Unicode category M)."""
    return unicodedata.category(char)[0] == "M"


def normalise(text: str) -> str:
    """NFC, the form every rule here is written for."""
    return unicodedata.normalize("NFC", text)


def tokenize(text: str) -> list[str]:
    """The tokens of ``text`` (assumed NFC), in order."""
    return (_ASCII_TOKEN if text.isascii() else TOKEN).findall(text)


def unit_spans(text: str) -> list[tuple[int, int]]:
    """Where the units of ``text`` (assumed NFC) are: (start, end) of each, in order."""
    return [match.span() for match in (_ASCII_UNIT if text.isascii() else UNIT).finditer(text)]


def token_runs(line: str) -> Iterator[list[str]]:
    """Maximal runs of tokens with only whitespace between them, in one line of text."""
    run: list[str] = []
    previous_end = -1
    for match in (_ASCII_TOKEN if line.isascii() else TOKEN).finditer(line):
        start = match.start()
        if run and not line[previous_end:start].isspace():
            yield run
            run = []
        run.append(match.group())
        previous_end = match.end()
    if run:
        yield run


def phrases(text: str) -> Iterator[list[str]]:
    """The phrases of ``text``: token runs, line by line (see the module docstring)."""
    for line in text.split("\n"):
        yield from token_runs(line)


# A token (captured), or a unit that ends a phrase: any other non-space character, or a newline.
_PHRASE_UNIT = re.compile(rf"({TOKEN.pattern})|\S|\n")
_ASCII_PHRASE_UNIT = re.compile(rf"({_ASCII_TOKEN.pattern})|\S|\n")


def phrase_units(text: str) -> list[str]:
    """The tokens of ``text`` in order, with ``""`` wherever a phrase ends between two of them:
    ``phrases`` flattened in one regex pass, for counting. The phrases are the maximal runs of
    non-empty items, so bigrams are the neighbouring pairs with both items non-empty."""
    return (_ASCII_PHRASE_UNIT if text.isascii() else _PHRASE_UNIT).findall(text)


def is_query_like(text: str) -> bool:
    """A query must hold at least one letter or digit: lone punctuation is never a query."""
    return any(ch.isalnum() for ch in text)


def _in_token(text: str, index: int) -> bool:
    """Whether ``text[index]`` is a letter or digit, or a mark that a letter or digit carries
    (through other marks): the characters a token can go on with."""
    char = text[index]
    if char.isalnum():
        return True
    while index >= 0 and is_mark(text[index]):
        index -= 1
    return index >= 0 and text[index].isalnum()


def _inside_token(text: str, position: int) -> bool:
    """Whether a token continues on both sides of ``position`` (between characters)."""
    if position <= 0 or position >= len(text):
        return False
    before, after = text[position - 1], text[position]
    if (after.isalnum() or is_mark(after)) and _in_token(text, position - 1):
        return True  # "_".isalnum() is False, as the token rule wants
    if before in _JOINERS:  # x'|y: the apostrophe joins only if a token character precedes it
        return position >= 2 and _in_token(text, position - 2) and after.isalnum()
    if after in _JOINERS:  # x|'y
        return position + 1 < len(text) and _in_token(text, position - 1) and text[position + 1].isalnum()
    return False


def on_word_boundaries(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` begins and ends at word boundaries."""
    return not _inside_token(text, start) and not _inside_token(text, end)


def joined_tokens(query: str) -> tuple[str, ...] | None:
    """The token sequence of a query that is exactly its tokens joined by single spaces
    ("red circle"), or None for one that is not ("C++", "AC/DC", "Tom & Jerry")."""
    tokens = tokenize(query)
    return tuple(tokens) if tokens and " ".join(tokens) == query else None
