"""What became of one pair in pass 1, and the rows it gives: one ``status`` row for every pair,
one ``samples`` row for every image kept.

A pair's outcome is decided in three steps (``image_work``: fetched, then decoded and resized;
``image_filters``: kept or refused by a filter) and written once (``chunk_writer``). ``Decided``
holds what decided it as data, the status row's ``signal``, ``evidence``, ``list`` and ``score``
columns; the ``error`` column stays a sentence for people, which nothing parses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wit_builder.download.fetch import FetchResult
from wit_builder.download.images import ProcessedImage

PAIR_COLUMNS = ("uid", "url", "text", "page_url", "source", "matches")


@dataclass(frozen=True)
class Decided:
    """What decided a pair's status: the opt-out ``signal``, the ``evidence`` (the rule or line,
    with where it came from), the ``list`` (a blocklist or an evaluation set) and the ``score``
    (a PDQ distance). None where the status says all (a timeout, an HTTP error, too small)."""

    signal: str | None = None
    evidence: str | None = None
    list: str | None = None
    score: float | None = None


@dataclass
class PairOutcome:
    """One pair's fate in pass 1: its fetch, its image (None when there is none, or once a
    filter refused it: its bytes end there), and the status, sentence and decision its row
    will hold."""

    pair: dict
    result: FetchResult
    image: ProcessedImage | None = None
    body_bytes: int = 0
    status: str = ""
    error: str | None = None
    decided: Decided = field(default_factory=Decided)

    @classmethod
    def of(cls, pair: dict, result: FetchResult, image: ProcessedImage | None = None, body_bytes: int = 0):
        """The outcome as fetching and the image work left it."""
        if image is None:
            decided = Decided(signal=result.signal, evidence=result.evidence)
            return cls(pair, result, None, body_bytes, result.status, result.error, decided)
        return cls(pair, result, image, body_bytes, image.status, image.error)

    @property
    def kept(self) -> bool:
        return self.status == "ok" and self.image is not None

    def refuse(self, status: str, error: str, decided: Decided) -> None:
        """A filter's refusal: the status and why; the image is dropped, nothing of it is written."""
        self.status, self.error, self.decided, self.image = status, error, decided, None

    def status_row(self) -> dict:
        return {
            "uid": self.pair["uid"],
            "url": self.pair["url"],
            "status": self.status,
            "http_status": self.result.http_status,
            "error": self.error,
            "duplicate_of": None,
            "signal": self.decided.signal,
            "evidence": self.decided.evidence,
            "list": self.decided.list,
            "score": self.decided.score,
        }

    def sample_row(self) -> dict:
        pair, image = self.pair, self.image
        assert image is not None, "only a kept image has a sample row"
        return {
            "faces_blurred": image.faces_blurred,
            **{column: pair[column] for column in PAIR_COLUMNS},
            "lang": pair.get("lang"),  # a worldwide list's caption language
            "captions": pair.get("captions"),  # harvest --max-captions: every caption, text first
            "image": image.image,
            "image_format": image.image_format,
            "width": image.width,
            "height": image.height,
            "original_width": image.original_width,
            "original_height": image.original_height,
            "original_bytes": self.body_bytes,
            "sha256": image.sha256,
            "phash": image.phash,
            "colour_grid": image.colour_grid,
            "fetched_at": self.result.fetched_at,
            "body_sha256": image.body_sha256,
            "consent": consent_json(self.result.consent),
        }


def consent_json(files) -> str | None:
    """The host files that decided a sample's consent, as the JSON list the samples, the shard
    index and ``KEY.json`` carry (None when no host file was read: no signal needed one)."""
    import json

    return json.dumps([file.as_dict() for file in files], separators=(",", ":")) if files else None
