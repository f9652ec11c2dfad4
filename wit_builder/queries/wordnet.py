"""WordNet synsets to queries, read straight from the database files (no NLTK download).

Reads ``data.noun``, ``data.verb``, ``data.adj`` and ``data.adv`` of a WordNet 3.0 database
folder (Debian's ``wordnet-base`` installs one at ``/usr/share/wordnet``; NLTK's ``wordnet``
corpus folder has the same files). Each synset gives its name as MetaCLIP takes it from NLTK's
``synset.name()``: the head (first) lemma, lower-cased, underscores as spaces
("dog.n.01" → "dog", "hot_dog.n.01" → "hot dog"). ``all_lemmas`` adds every lemma of every
synset, case kept ("Einstein"). Adjective markers such as ``(a)`` or ``(ip)`` are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec

from wit_builder.io.lines import LongLine, bounded_lines

POS_FILES = ("noun", "verb", "adj", "adv")
_ADJECTIVE_MARKER = re.compile(r"\((?:a|p|ip)\)$")


@dataclass(frozen=True)
class MalformedLine:
    """A ``data.POS`` line that is not a synset record: skipped and counted."""

    where: str  # file:line
    reason: str


def synset_lemmas(line: str) -> list[str]:
    """The lemmas of one ``data.POS`` line, in order (underscores kept); ValueError when the
    line is not a synset record (too few fields, a word count that is not hexadecimal)."""
    fields = line.split(" ")
    if len(fields) < 6:
        raise ValueError(f"{len(fields)} field(s), a synset record has at least 6")
    try:
        count = int(fields[3], 16)
    except ValueError:
        raise ValueError(f"word count {fields[3][:20]!r} is not hexadecimal") from None
    if count < 1 or len(fields) < 4 + 2 * count:
        raise ValueError(f"{count} word(s) announced, {max(0, (len(fields) - 4) // 2)} present")
    return [_ADJECTIVE_MARKER.sub("", fields[4 + 2 * k]) for k in range(count)]


def read_lemmas(folder: str, all_lemmas: bool = False) -> Iterator[tuple[str, str] | MalformedLine]:
    """(query, part of speech) for every synset of the database, in file order, and a
    ``MalformedLine`` for each line that is not a synset record.

    Raises ``FileNotFoundError`` naming the folder when it holds no ``data.*`` file.
    """
    filesystem, root = fsspec.core.url_to_fs(folder)
    present = [pos for pos in POS_FILES if filesystem.exists(f"{root.rstrip('/')}/data.{pos}")]
    if not present:
        raise FileNotFoundError(f"{folder}: no WordNet data files (data.noun, data.verb, ...) found there")
    for pos in present:
        path = f"{root.rstrip('/')}/data.{pos}"
        with filesystem.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(bounded_lines(handle), start=1):
                if isinstance(line, LongLine):
                    yield MalformedLine(f"{path}:{number}", f"a line of {line.length:,} characters")
                    continue
                if line.startswith("  ") or not line.strip():
                    continue  # the licence header
                try:
                    lemmas = synset_lemmas(line.rstrip("\n"))
                except ValueError as error:
                    yield MalformedLine(f"{path}:{number}", str(error))
                    continue
                yield lemmas[0].lower().replace("_", " "), pos
                if all_lemmas:
                    for lemma in lemmas:
                        yield lemma.replace("_", " "), pos
