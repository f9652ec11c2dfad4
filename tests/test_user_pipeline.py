"""The stages as transforms in a data engineer's own Beam pipeline, reading from their own source.

docs/command-line.md's "Using the stages in your own pipeline" shows the same code.
"""

from __future__ import annotations

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to

from wit_builder.balance.pipeline import BalancePerQuery
from wit_builder.balance.settings import BalanceRules
from wit_builder.download.pipeline import DownloadImages
from wit_builder.download.settings import DownloadRules, FetchSettings
from wit_builder.harvest.pipeline import HarvestPairs
from wit_builder.harvest.settings import HarvestRules
from wit_builder.harvest.sources import RawPair, Rejected
from wit_builder.io.chunks import plan_chunks
from wit_builder.schemas import table_from_rows, write_table


def _pair(url: str, text: str) -> RawPair:
    return RawPair(url=url, text=text, page_url="https://pages.example/p", base_href=None, source="mine")


def test_harvest_then_balance_on_pairs_from_my_own_source(tmp_path):
    queries = tmp_path / "queries.txt"
    queries.write_text("red circle\nblue\n")
    pairs = [_pair(f"https://img.example/red/{i}.jpg", f"a red circle, number {i}") for i in range(40)]
    pairs += [_pair(f"https://img.example/blue/{i}.jpg", f"blue sky {i}") for i in range(3)]
    pairs += [
        _pair("https://img.example/red/0.jpg", "a red circle again"),  # the same image: one row
        _pair("https://img.example/none.jpg", "nothing to see here"),  # no query: dropped
        RawPair("not a url", "red circle", None, None, "mine"),  # dropped: bad_url
        Rejected("wat_bad_json"),  # a record the reader could not read
    ]
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        harvested = pipeline | beam.Create(pairs) | HarvestPairs(str(queries), HarvestRules())
        balanced = harvested["candidates"] | BalancePerQuery(BalanceRules(per_query=10, seed=3), str(queries))
        assert_that(
            harvested["stats"],
            equal_to(
                [
                    ("pairs_read", 46),
                    ("kept", 43),
                    ("duplicate_url", 1),
                    ("no_match", 1),
                    ("bad_url", 1),
                    ("wat_bad_json", 1),
                ]
            ),
            label="HarvestCounts",
        )
        kept_queries = balanced["balanced"] | beam.Map(lambda row: tuple(row["matches"]))
        per_query = kept_queries | beam.combiners.Count.PerElement()

        def about_ten_red_and_every_blue(counts):
            counts = dict(counts)
            assert counts[("blue",)] == 3, counts
            assert 4 <= counts[("red circle",)] <= 16, counts  # p = 10/40 per pair, seeded

        assert_that(per_query, about_ten_red_and_every_blue, label="Kept")
        stats = balanced["stats"] | beam.combiners.ToDict()

        def adds_up(dicts):
            (counts,) = dicts
            assert counts["pairs_in"] == 43
            assert counts["pairs_in"] == counts["kept"] + counts["over_cap"] + counts.get("no_matches", 0)

        assert_that(stats, adds_up, label="BalanceCounts")
        report = balanced["report"] | beam.FlatMap(lambda rows: [(r["query"], r["matched"], r["source"]) for r in rows])
        assert_that(report, equal_to([("red circle", 40, None), ("blue", 3, None)]), label="Report")


def test_download_images_from_my_own_chunks(tmp_path, small_world, served_world):
    urls = sorted(small_world.catalog.expected_image_urls(served_world.base_urls))[:12]
    rows = [
        {"uid": f"u{i:03d}", "url": url, "text": "t", "page_url": None, "source": "mine", "matches": ["q"]}
        for i, url in enumerate(urls)
    ]
    write_table(table_from_rows(rows, "balanced"), str(tmp_path / "mine.parquet"), "balanced")
    chunks = plan_chunks([str(tmp_path / "mine.parquet")], 5)
    rules = DownloadRules(fetch=FetchSettings(allow_private_network=True))
    out = str(tmp_path / "download")
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        downloaded = pipeline | beam.Create(chunks) | DownloadImages(rules, out)
        assert_that(downloaded["chunks"], equal_to([chunk.name for chunk in chunks]), label="Chunks")
        statuses = downloaded["stats"] | beam.Filter(lambda kv: kv[0].startswith("status:")) | beam.Values()
        assert_that(statuses | beam.CombineGlobally(sum), equal_to([12]), label="EveryPairHasAStatus")
    status = pq.read_table(f"{out}/status").to_pylist()
    assert sorted(row["uid"] for row in status) == [row["uid"] for row in rows]


def test_shard_samples_from_my_own_pipeline(tmp_path):
    from wit_builder.shard.inputs import describe_inputs
    from wit_builder.shard.pipeline import ShardSamples
    from wit_builder.shard.settings import ShardRules
    from wit_builder.synthetic.sample_pool import write_sample_pool

    pool = write_sample_pool(tmp_path / "download", 300, queries=20, files=3, seed=2, image_size=32, distinct=10)
    rules = ShardRules(samples_per_shard=100, chunk_rows=60)
    inputs, chunks = describe_inputs([str(pool)], None, rules)
    out = tmp_path / "shards"
    for folder in ("work/runs", "work/shards"):
        (out / folder).mkdir(parents=True)
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        sharded = pipeline | beam.Create(chunks) | ShardSamples(inputs, rules, str(out))
        written = sharded["shards"] | beam.Map(lambda shard: shard["samples"]) | beam.CombineGlobally(sum)
        assert_that(written, equal_to([300]), label="EverySampleWritten")
        plan = sharded["plan"] | beam.Map(lambda plan: plan.shards)
        assert_that(plan, equal_to([3]), label="Plan")
    assert sorted(path.name for path in out.glob("*.tar")) == ["000000.tar", "000001.tar", "000002.tar"]
