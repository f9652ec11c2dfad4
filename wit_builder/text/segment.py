"""Words where there are no spaces: dictionary segmentation for the scripts that write none.

Chinese, Japanese, Thai, Khmer, Lao, Burmese and Tibetan run their words together, so the token
rule (``tokens``) would make a whole clause one token and no query could match inside it. A
``Segmenter`` writes a space between two words wherever both sides of the break are letters (or
marks, before it) of one of those scripts (``spaced``); punctuation such as the tsheg is a unit
of its own already; the token rule then sees the words as tokens, and every other
part of the project (counting, phrases, the harvest matcher's units) works unchanged.

- **Which words.** ICU's word break iterator (PyICU; ICU ships dictionaries for Chinese and
  Japanese together, Thai, Lao, Khmer and Burmese, and breaks Tibetan at its syllable mark, the
  tsheg). One library covers all seven; it runs on the CPU at ~0.1 µs a character. Where a
  dictionary word holds a digit or a Latin letter ("2024年"), the token rule decides as it does
  for any text: no space is written there.
- **The same everywhere.** The segmentation is decided by the script, not by a language
  identifier, so a caption identified wrongly is still cut the way the query list it is matched
  against was cut. The queries stage counts words in ``spaced`` prose; the harvest matcher keys
  each query by ``spaced(query)`` and looks it up in ``spaced(caption)``. A query therefore
  matches a caption exactly when the query's own words occur, in order and adjacent, among the
  caption's words (tested as a property). A dictionary segmenter may cut the same characters
  differently in another context; such an occurrence is not a match, by design, as in Meta
  CLIP 2.
- **Nothing else changes.** Text with no character of these scripts is returned as it is
  (checked with one regex search), so English matching and counting are byte-identical to the
  token rule alone.

A ``Segmenter`` holds an ICU iterator, which is stateful: build one per worker (``DoFn.setup``)
or per thread, never share one between threads.
"""

from __future__ import annotations

import itertools
import re

from wit_builder.text.tokens import is_mark

# The scripts ICU segments with a dictionary (or, for Tibetan, at the tsheg), as code point ranges.
DICTIONARY_SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "Han": (
        (0x2E80, 0x2FDF),  # radicals
        (0x3005, 0x3007),  # 々 〆 〇
        (0x3021, 0x3029),
        (0x3038, 0x303B),
        (0x3400, 0x4DBF),
        (0x4E00, 0x9FFF),
        (0xF900, 0xFAFF),
        (0x20000, 0x323AF),
    ),
    "Hiragana": ((0x3040, 0x309F),),
    "Katakana": ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "Thai": ((0x0E00, 0x0E7F),),
    "Lao": ((0x0E80, 0x0EFF),),
    "Tibetan": ((0x0F00, 0x0FFF),),
    "Myanmar": ((0x1000, 0x109F), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F)),
    "Khmer": ((0x1780, 0x17FF), (0x19E0, 0x19FF)),
}
_CLASS = "".join(
    f"{re.escape(chr(first))}-{re.escape(chr(last))}"
    for ranges in DICTIONARY_SCRIPT_RANGES.values()
    for first, last in ranges
)
_DICTIONARY_CHAR = re.compile(f"[{_CLASS}]")


def needs_segmenting(text: str) -> bool:
    """Whether ``text`` holds a character of a script written without spaces."""
    return not text.isascii() and _DICTIONARY_CHAR.search(text) is not None


def _ends_word(char: str) -> bool:
    """A letter, digit or mark of a dictionary script: where a word can end before a break."""
    return (char.isalnum() or is_mark(char)) and _DICTIONARY_CHAR.match(char) is not None


def _starts_word(char: str) -> bool:
    return char.isalnum() and _DICTIONARY_CHAR.match(char) is not None


class Segmenter:
    """``spaced(text)``: text with a space at each word break inside scripts written without
    spaces (see the module docstring). One per worker or thread."""

    def __init__(self) -> None:
        import icu  # PyICU (the pyicu-wheels package bundles ICU); imported where it is used

        self._breaks = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())

    def spaced(self, text: str) -> str:
        if not needs_segmenting(text):
            return text
        return self._join(text, self._boundaries(text))

    def _boundaries(self, text: str) -> list[int]:
        """Word breaks as offsets into the str (ICU counts UTF-16 code units)."""
        self._breaks.setText(text)
        if max(text, default="\0") <= "\uffff":  # no surrogate pairs: the offsets are the indices
            return list(self._breaks)
        utf16_to_index = _utf16_offsets(text)
        return [utf16_to_index[end] for end in self._breaks]

    @staticmethod
    def _join(text: str, breaks: list[int]) -> str:
        out: list[str] = []
        start = 0
        for end in breaks:
            if 0 < end < len(text) and _ends_word(text[end - 1]) and _starts_word(text[end]):
                out.append(text[start:end])
                out.append(" ")
                start = end
        out.append(text[start:])
        return "".join(out)

    def words(self, text: str) -> list[str]:
        """The dictionary words of ``text`` as ICU cuts them, spaces left out (for measuring)."""
        breaks = [0, *self._boundaries(text)]
        return [text[a:b] for a, b in itertools.pairwise(breaks) if text[a:b].strip()]


def _utf16_offsets(text: str) -> dict[int, int]:
    """UTF-16 code unit offset -> str index, for every character boundary of ``text``."""
    offsets = {0: 0}
    units = 0
    for index, char in enumerate(text, 1):
        units += 2 if ord(char) > 0xFFFF else 1
        offsets[units] = index
    return offsets
