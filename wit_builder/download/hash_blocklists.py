"""Hash blocklists in download: images a list names by SHA-256, MD5 or PDQ are never kept.

Lists of abuse material are exchanged as hashes of the files (SHA-256, MD5) and as PDQ
perceptual hashes, which also catch a re-encoded or resized copy. They apply after the image
is decoded and before anything is written: a match becomes the status ``blocklisted`` with the
list's name, and its bytes, its hashes and the entry it matched go nowhere (not to disk, not to
a log, not to an error message). The SHA-256 and MD5 are of the body as served, the form such
lists hold; the PDQ is of the decoded picture with plain borders trimmed.

URL and domain lists apply earlier, in harvest (``wit_builder.harvest.pipeline.Blocked``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wit_builder.download.binary_index import BinaryIndex
from wit_builder.errors import UsageError
from wit_builder.io.blocklists import Blocklist, read_blocklist

DEFAULT_PDQ_RADIUS = 31  # the threshold industry hash-sharing uses for PDQ


@dataclass(frozen=True)
class BodyDigests:
    """What a hash list can be compared with, computed only for the kinds some list holds."""

    sha256: str | None = None
    md5: str | None = None
    pdq: bytes | None = None


def read_hash_list(path: str) -> Blocklist:
    """One hash list; a bad file, or a URL or domain list (those apply in harvest), is a ``UsageError``."""
    blocklist = read_blocklist(path)
    if blocklist.kind in ("url", "domain"):
        raise UsageError(
            f"--blocklist {path}: a {blocklist.kind} list drops pairs before they are fetched; "
            "give it to the harvest stage (wit-builder harvest --blocklist, or [harvest] blocklists in a run)"
        )
    return blocklist


def check_hash_lists(paths: Sequence[str]) -> list[Blocklist]:
    """Every list read up front, so a bad one is a ``UsageError`` before any work."""
    return [read_hash_list(path) for path in paths]


@dataclass(frozen=True)
class ListMatch:
    """A blocklist that names an image: its name, the kind of hash that matched (sha256, md5,
    pdq) and, for PDQ, the distance in bits; what the status row records of it."""

    name: str
    kind: str
    distance: float | None = None


class HashBlocklists:
    """The hash lists of a run, built once per worker (``setup``): which list, if any, names an image."""

    def __init__(self, paths: Sequence[str], pdq_radius: int = DEFAULT_PDQ_RADIUS):
        self.pdq_radius = pdq_radius
        self.exact: list[tuple[str, str, frozenset[str]]] = []  # (name, kind, digests)
        self.pdq: list[tuple[str, BinaryIndex]] = []
        for path in paths:
            blocklist = read_hash_list(path)
            if blocklist.kind == "pdq":
                index = BinaryIndex(32)
                if blocklist.entries:
                    index.add(np.array([np.frombuffer(bytes.fromhex(e), np.uint8) for e in blocklist.entries]))
                self.pdq.append((blocklist.name, index))
            else:
                self.exact.append((blocklist.name, blocklist.kind, blocklist.entries))

    @property
    def kinds(self) -> frozenset[str]:
        """The digests ``match`` needs: {"sha256", "md5", "pdq"} or fewer."""
        return frozenset(kind for _, kind, _ in self.exact) | ({"pdq"} if self.pdq else frozenset())

    def match(self, digests: BodyDigests) -> str | None:
        """The name of the first list that names the image, or None."""
        found = self.listing(digests)
        return found.name if found else None

    def listing(self, digests: BodyDigests) -> ListMatch | None:
        """The first list that names the image, by which kind of hash, and at what PDQ distance
        (exact lists first); None when no list names it. The entry itself is never returned."""
        for name, kind, entries in self.exact:
            digest = digests.sha256 if kind == "sha256" else digests.md5
            if digest is not None and digest in entries:
                return ListMatch(name, kind)
        if digests.pdq is not None:
            query = np.frombuffer(digests.pdq, np.uint8)[None, :]
            for name, index in self.pdq:
                labels, distances = index.within(query, self.pdq_radius)[0]
                if len(labels):
                    return ListMatch(name, "pdq", float(np.min(distances)))
        return None
