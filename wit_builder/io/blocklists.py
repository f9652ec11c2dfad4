"""Blocklists: named lists of what a collection must not contain, read from text files.

A blocklist file holds one entry a line, after a header naming its kind (and, if wanted, its
name; the file's stem otherwise)::

    # kind: domain
    # name: my-exclusions
    example.com
    ads.example.org

Kinds: ``url`` (exact image URLs, compared after the harvest stage's URL normalisation),
``domain`` (a domain blocks its subdomains too), and the image-hash kinds ``sha256``, ``md5``
and ``pdq``. A list's entries are never copied into an output, a report or a message: what a
collection records is only how many pairs each list (by name) blocked, and an error about a
list names its line, never its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

import fsspec

from wit_builder.errors import UsageError

KINDS = ("url", "domain", "sha256", "md5", "pdq")
HASH_KINDS = {"sha256": 64, "md5": 32, "pdq": 64}  # hex digits of each hash


@dataclass(frozen=True)
class Blocklist:
    name: str
    kind: str
    entries: frozenset[str]
    path: str


def read_blocklist(path: str) -> Blocklist:
    """The list at ``path`` (any fsspec URL); a file without a valid ``# kind:`` header, or with
    an entry that cannot be of its kind, is a ``UsageError`` naming the file and the line."""
    where = f"--blocklist {path}"
    kind = name = None
    entries: set[str] = set()
    try:
        with fsspec.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            for number, raw in enumerate(handle, 1):
                line = raw.strip()
                if line.startswith("#"):
                    key, colon, value = line.lstrip("#").partition(":")
                    if colon and key.strip().lower() == "kind" and kind is None:
                        kind = value.strip().lower()
                    elif colon and key.strip().lower() == "name" and name is None:
                        name = value.strip()
                    continue
                if not line:
                    continue
                if kind is None:
                    raise UsageError(f"{where}: line {number} comes before the '# kind: ...' header")
                entries.add(_entry(line, kind, where, number))
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file") from None
    except OSError as error:
        raise UsageError(f"{where}: cannot be read ({type(error).__name__})") from None
    if kind not in KINDS:
        found = "no '# kind:' line" if kind is None else f"kind {kind!r}"
        raise UsageError(f"{where}: {found}; a blocklist starts with '# kind: {'|'.join(KINDS)}'")
    return Blocklist(name or PurePosixPath(path).stem, kind, frozenset(entries), path)


def _entry(line: str, kind: str, where: str, number: int) -> str:
    if kind == "domain":
        return line.lower().strip(".")
    if kind in HASH_KINDS:
        digest = line.lower()
        if len(digest) != HASH_KINDS[kind] or any(ch not in "0123456789abcdef" for ch in digest):
            raise UsageError(f"{where}: line {number} is not a {kind} digest ({HASH_KINDS[kind]} hex digits)")
        return digest
    if kind not in KINDS:
        raise UsageError(f"{where}: unknown kind {kind!r}; a blocklist starts with '# kind: {'|'.join(KINDS)}'")
    return line


def blocked_domain(host: str, domains: frozenset[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or below one (``a.example.com`` under ``example.com``)."""
    labels = host.lower().strip(".").split(".")
    return any(".".join(labels[k:]) in domains for k in range(len(labels)))
