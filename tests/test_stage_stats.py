"""Per-bundle counts: whatever the bundling, the totals are the events counted."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from wit_builder.beam_options import pipeline_options
from wit_builder.stage_stats import STATS, StatsDoFn


class EvenOnly(StatsDoFn):
    def process(self, n: int):
        self.count("seen")
        if n % 2:
            self.count("odd")
            return
        yield n


def test_counts_are_summed_across_bundles():
    with beam.Pipeline(options=pipeline_options([])) as pipeline:
        out = (
            pipeline
            | beam.Create(range(1001))
            | beam.Reshuffle()  # several bundles
            | beam.ParDo(EvenOnly()).with_outputs(STATS, main="rows")
        )
        assert_that(out.rows | "CountRows" >> beam.combiners.Count.Globally(), equal_to([501]), label="rows")
        totals = out[STATS] | beam.CombinePerKey(sum)
        assert_that(totals, equal_to([("seen", 1001), ("odd", 500)]), label="totals")
