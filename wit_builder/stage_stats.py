"""Counts a stage reports in its ``stats.json``: pairs read, drops by reason, broken records.

A DoFn could send one ``(name, 1)`` element per event, but on a hot path that doubles or
triples the elements Beam moves (every pair is read, and most are dropped for some reason).
``StatsDoFn`` sums its counts per bundle and sends one ``(name, total)`` per name when the
bundle ends, on the ``stats`` output; the stage sums those with ``CombinePerKey(sum)``. Counts
live in the DoFn instance only for the length of a bundle, so retried bundles are not double
counted (a retried bundle's instance starts over in ``start_bundle``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

STATS = "stats"


def stat(name: str, value: int = 1) -> pvalue.TaggedOutput:
    """One count as an element of the ``stats`` output, for code that is not a StatsDoFn."""
    return pvalue.TaggedOutput(STATS, (name, value))


class StatsDoFn(beam.DoFn):
    """A DoFn with ``self.count(name)``; totals leave once per bundle on the ``stats`` output.

    Subclasses that override ``start_bundle`` or ``finish_bundle`` call the base method.
    """

    def start_bundle(self) -> None:
        self.counts: Counter[str] = Counter()

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value

    def finish_bundle(self) -> Iterator:
        for name, value in sorted(self.counts.items()):
            yield pvalue.TaggedOutput(STATS, GlobalWindows.windowed_value((name, value)))
        self.counts = Counter()


def run_once(pipeline: beam.Pipeline, label: str, function, *args, **kwargs) -> beam.PCollection:
    """``function(*args, **kwargs)`` called once, after its side inputs are complete; its result
    is the one element of the PCollection returned.

    A stage's last step (``stats.json`` from the summed counts) and the small decisions between
    its passes (a plan, the languages' caps) from whole side inputs. It is one Impulse and one
    Map: ``Create([None])`` expands into five transforms and ``CombineGlobally``'s branch for
    empty input into ten, each a few ms to build, translate and run on the local runner, where
    a 10⁴-sample stage is mostly such fixed costs.
    """
    return pipeline | f"{label}Once" >> beam.Impulse() | label >> beam.Map(_call, function, *args, **kwargs)


def _call(_: bytes, function, *args, **kwargs):
    return function(*args, **kwargs)
