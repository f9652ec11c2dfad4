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

import fsspec

POS_FILES = ("noun", "verb", "adj", "adv")
_ADJECTIVE_MARKER = re.compile(r"\((?:a|p|ip)\)$")


def synset_lemmas(line: str) -> list[str]:
    """The lemmas of one ``data.POS`` line, in order (underscores kept)."""
    fields = line.split(" ")
    count = int(fields[3], 16)
    return [_ADJECTIVE_MARKER.sub("", fields[4 + 2 * k]) for k in range(count)]


def read_lemmas(folder: str, all_lemmas: bool = False) -> Iterator[tuple[str, str]]:
    """(query, part of speech) for every synset of the database, in file order.

    Raises ``FileNotFoundError`` naming the folder when it holds no ``data.*`` file.
    """
    filesystem, root = fsspec.core.url_to_fs(folder)
    present = [pos for pos in POS_FILES if filesystem.exists(f"{root.rstrip('/')}/data.{pos}")]
    if not present:
        raise FileNotFoundError(f"{folder}: no WordNet data files (data.noun, data.verb, ...) found there")
    for pos in present:
        with filesystem.open(f"{root.rstrip('/')}/data.{pos}", "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("  ") or not line.strip():
                    continue  # the licence header
                lemmas = synset_lemmas(line)
                yield lemmas[0].lower().replace("_", " "), pos
                if all_lemmas:
                    for lemma in lemmas:
                        yield lemma.replace("_", " "), pos
