"""Pass 1's third step: filters that look at each decoded image and keep it or refuse it.

A filter is chosen by name from ``FILTERS`` (the registry, in the order they run) and built from
the stage's rules; it is present only when the rules ask for it (a blocklist given, an
evaluation set named). It takes the images still kept, with their digests and their pairs, and
answers for each: None to keep it, or a ``Refused`` with the status, the sentence for people and
what decided it (``Decided``: the list, the evidence, a score). A filter may keep records of
what it found for the report (``records``: the schema and folder of those files); it never
keeps a refused image's bytes.

The hash blocklists and the evaluation sets are the two filters today; a filter by a model
(image-text agreement, semantic duplicates) is a third class and one more registry entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from wit_builder.download.outcomes import Decided, PairOutcome
from wit_builder.download.settings import DownloadRules

# name -> "module:class", in the order they run: a refused image meets no later filter.
FILTERS: dict[str, str] = {
    "blocklists": "wit_builder.download.image_filters:HashBlocklistFilter",
    "eval_sets": "wit_builder.download.image_filters:EvalSetFilter",
}


@dataclass(frozen=True)
class Refused:
    """A filter's answer when it does not keep an image. ``record``: what it keeps of the match
    for the report (in the filter's ``records`` files), if anything."""

    status: str
    error: str
    decided: Decided
    record: dict | None = None


class ImageFilter:
    """The interface: ``name``, the ``digests`` it compares (``sha256``, ``md5``, ``pdq``: computed
    beside the image work only when a filter wants them), ``records`` (None, or the schema and
    work folder of the records it keeps), ``from_rules`` and ``decide``. ``counts`` are added to
    the stage's counters after every batch."""

    name = ""
    digests: frozenset[str] = frozenset()
    records: str | None = None

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    @classmethod
    def from_rules(cls, rules: DownloadRules, out_dir: str) -> ImageFilter | None:
        """The filter the rules ask for, built once per worker; None when they ask for none."""
        raise NotImplementedError

    def decide(self, kept: Sequence[PairOutcome]) -> list[Refused | None]:
        """For each image still kept, in order: None to keep it, or why not."""
        raise NotImplementedError


class HashBlocklistFilter(ImageFilter):
    """SHA-256, MD5 and PDQ hash lists (``hash_blocklists``): a listed image is ``blocklisted``,
    with the list's name, the kind of hash and, for PDQ, the distance; never the entry."""

    name = "blocklists"

    def __init__(self, rules: DownloadRules):
        super().__init__()
        from wit_builder.download.hash_blocklists import HashBlocklists

        self.lists = HashBlocklists(rules.blocklists, rules.pdq_radius)
        self.digests = self.lists.kinds

    @classmethod
    def from_rules(cls, rules: DownloadRules, out_dir: str) -> HashBlocklistFilter | None:
        return cls(rules) if rules.blocklists else None

    def decide(self, kept: Sequence[PairOutcome]) -> list[Refused | None]:
        answers: list[Refused | None] = []
        for outcome in kept:
            digests = outcome.image.digests if outcome.image else None
            found = self.lists.listing(digests) if digests is not None else None
            answers.append(
                Refused(
                    "blocklisted",
                    f"blocklist {found.name}",
                    Decided(evidence=f"{found.kind} hash listed", list=found.name, score=found.distance),
                )
                if found
                else None
            )
        return answers


class EvalSetFilter(ImageFilter):
    """Near copies of evaluation images (``eval_sets``): a kept image within ``--eval-radius`` PDQ
    bits of a crop of an evaluation image is ``eval_duplicate``, and a record of the match with a
    thumbnail of the copy goes to ``eval_matches`` for the auditor's side-by-side. Images whose
    PDQ is too plain to compare (quality below ``pdq.MIN_QUALITY``) are kept; ``eval_checked``
    counts those compared."""

    name = "eval_sets"
    digests = frozenset({"pdq"})
    records = "eval_matches"

    def __init__(self, rules: DownloadRules, out_dir: str):
        super().__init__()
        from wit_builder.download.eval_sets import EvalIndex, EvalSet

        names = [EvalSet.parse(text).name for text in rules.eval_sets]
        self.index = EvalIndex(out_dir, names, rules.eval_radius)

    @classmethod
    def from_rules(cls, rules: DownloadRules, out_dir: str) -> EvalSetFilter | None:
        return cls(rules, out_dir) if rules.eval_sets else None

    def decide(self, kept: Sequence[PairOutcome]) -> list[Refused | None]:
        from wit_builder.download.pdq import MIN_QUALITY
        from wit_builder.report.thumbnails import thumbnail

        compared = [k for k, o in enumerate(kept) if o.image and o.image.digests and o.image.pdq_quality >= MIN_QUALITY]
        self.counts["eval_checked"] += len(compared)
        found = self.index.find([kept[k].image.digests.pdq for k in compared])
        answers: list[Refused | None] = [None] * len(kept)
        for k, match in zip(compared, found, strict=True):
            if match is None:
                continue
            outcome = kept[k]
            record = {
                "uid": outcome.pair["uid"],
                "url": outcome.pair["url"],
                "eval_set": match.eval_set,
                "eval_id": match.eval_id,
                "distance": match.distance,
                "thumbnail": thumbnail(outcome.image.image),
            }
            error = f"eval set {match.eval_set}: {match.eval_id} (PDQ distance {match.distance})"
            decided = Decided(evidence=f"evaluation image {match.eval_id}", list=match.eval_set, score=match.distance)
            answers[k] = Refused("eval_duplicate", error, decided, record)
        return answers


def build_filters(rules: DownloadRules, out_dir: str) -> list[ImageFilter]:
    """The filters the rules ask for, in the registry's order."""
    from wit_builder.stages import load

    built = (load(target).from_rules(rules, out_dir) for target in FILTERS.values())
    return [found for found in built if found is not None]


def apply_filters(filters: Sequence[ImageFilter], outcomes: Sequence[PairOutcome]) -> dict[str, list[dict]]:
    """Each filter in turn over the images still kept: a refused one gets its status and loses
    its image. Returns the records the filters kept, by their ``records`` kind."""
    records: dict[str, list[dict]] = {}
    for image_filter in filters:
        kept = [outcome for outcome in outcomes if outcome.kept]
        for outcome, refused in zip(kept, image_filter.decide(kept), strict=True):
            if refused is None:
                continue
            outcome.refuse(refused.status, refused.error, refused.decided)
            if refused.record is not None and image_filter.records:
                records.setdefault(image_filter.records, []).append(refused.record)
    return records
