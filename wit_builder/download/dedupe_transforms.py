"""Near-duplicate detection as a Beam transform, for the download pipeline and for anyone's own.

``NearDuplicates`` takes ``(HashedImage, tag)`` records (the tag rides along: the download
stage uses the image's chunk) and gives, for every image that has a near copy with a smaller
uid, ``(uid, (smallest such uid, tag))``. Records are grouped by hash band (see ``dedupe``), so
each group is small, and the rule needs no order of arrival.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam

from wit_builder.download.dedupe import band_keys, near_pairs


def _band_records(record: tuple, max_distance: int) -> list[tuple]:
    return [(key, record) for key in band_keys(record[0].phash, max_distance)]


def _near_pairs_of_group(
    element: tuple, max_distance: int, aspect_tolerance: float, grid_tolerance: int
) -> Iterator[tuple[str, tuple[str, object]]]:
    """(uid, (a smaller near copy's uid, the uid's tag)) for each near pair of a band group."""
    _, records = element
    tag_of = {image.uid: tag for image, tag in records}
    ordered = sorted((image for image, _ in records), key=lambda image: image.uid)
    for larger, smaller in near_pairs(ordered, max_distance, aspect_tolerance, grid_tolerance):
        yield larger, (smaller, tag_of[larger])


class NearDuplicates(beam.PTransform):
    """``(HashedImage, tag)`` → ``(uid, (smallest near copy's uid, tag))`` for each near duplicate."""

    def __init__(self, max_distance: int = 4, aspect_tolerance: float = 0.05, grid_tolerance: int = 8):
        super().__init__()
        self.max_distance = max_distance
        self.aspect_tolerance = aspect_tolerance
        self.grid_tolerance = grid_tolerance

    def expand(self, records):
        return (
            records
            | "Bands" >> beam.FlatMap(_band_records, self.max_distance)
            | "GroupBands" >> beam.GroupByKey()
            | "NearPairs"
            >> beam.FlatMap(_near_pairs_of_group, self.max_distance, self.aspect_tolerance, self.grid_tolerance)
            | "SmallestCopy" >> beam.CombinePerKey(min)  # (uid, tag) pairs: the smallest copy's uid wins
        )
