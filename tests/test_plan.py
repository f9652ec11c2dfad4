"""``wit-builder run --plan``: each stage's work, output and price from the inputs and the
measured rates, before anything runs."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_builder.chain import chain_settings, plan_workers
from wit_builder.cli import main
from wit_builder.plan import format_plan, list_rows, load_rates, plan_run, wat_links


def test_list_rows_come_from_footers_and_lines(tmp_path):
    pq.write_table(pa.table({"url": ["a", "b", "c"]}), tmp_path / "l.parquet")
    (tmp_path / "l.tsv").write_text("url\tcaption\nu1\tc1\nu2\tc2\n\n")
    (tmp_path / "l.jsonl").write_text('{"url": "u"}\n' * 5)
    rates = load_rates()["stages"]["harvest"]
    assert list_rows([str(tmp_path / "l.*")], rates) == 3 + 2 + 5


def test_a_wat_listing_counts_common_crawl_files(tmp_path):
    listing = tmp_path / "wat.paths.gz"
    listing.write_bytes(gzip.compress(b"crawl-data/a.warc.wat.gz\ncrawl-data/b.warc.wat.gz\n"))
    rates = load_rates()["stages"]["harvest"]
    assert wat_links([str(listing)], rates) == 2 * rates["common_crawl_wat_bytes"] * rates["wat_links_per_byte"]


def test_the_plan_chains_each_stage_from_the_one_before(tmp_path):
    dump = tmp_path / "enwiki-1.xml.bz2"
    dump.write_bytes(b"x" * 920_000)
    pq.write_table(pa.table({"url": [f"u{i}" for i in range(10_000)]}), tmp_path / "pairs.parquet")
    config = {"queries": {"wiki_dump": str(dump)}, "harvest": {"pairs": [str(tmp_path / "pairs.parquet")]}}
    settings = chain_settings(config, str(tmp_path / "run"))
    rates = load_rates()
    table = rates["stages"]
    plan = {e.stage: e for e in plan_run(settings, rates, workers=4, price_vcpu_hour=1.0, price_gb=0.0)}
    assert list(plan) == ["queries", "harvest", "balance", "download", "shard"]
    assert plan["queries"].units_in == 920_000
    assert plan["queries"].vcpu_hours == pytest.approx(920_000 / table["queries"]["units_per_core_second"] / 3600)
    assert plan["harvest"].units_in == 10_000
    assert plan["balance"].units_in == plan["harvest"].units_out
    assert plan["download"].units_in == plan["balance"].units_out
    assert plan["shard"].bytes_written > plan["download"].bytes_written * 0.99  # the images, in tars
    core_seconds = 10_000 / table["harvest"]["units_per_core_second"]
    assert plan["harvest"].wall_seconds == pytest.approx(table["harvest"]["fixed_seconds"] + core_seconds / 4)
    assert plan["harvest"].cost == pytest.approx(core_seconds / 3600)  # $1 a vCPU-hour, storage free
    # bytes per image grow with the pixels asked for
    bigger = chain_settings({**config, "download": {"image_size": 512}}, str(tmp_path / "run"))
    assert {e.stage: e for e in plan_run(bigger, rates)}["download"].bytes_written == pytest.approx(
        4 * plan["download"].bytes_written
    )
    text = format_plan(list(plan.values()), 4, (1.0, 0.0))
    assert text.splitlines()[0].split()[:4] == ["stage", "in", "unit", "out"] and "total" in text


def test_workers_come_from_the_runner_flags():
    assert plan_workers(["--runner=DataflowRunner", "--max_num_workers=200"]) == 200
    assert plan_workers(["--direct_num_workers=2"]) == 2
    assert plan_workers([]) == 1


def test_run_plan_prints_the_table_and_runs_nothing(tmp_path, capsys):
    dump = tmp_path / "enwiki-1.xml.bz2"
    dump.write_bytes(b"x" * 1000)
    config = tmp_path / "run.toml"
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "{dump}"\n')
    assert main(["run", "--config", str(config), "--plan", "--price-vcpu-hour", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "plan, before anything runs" in out and "$0.1/vCPU-hour" in out and "queries" in out
    assert not (tmp_path / "run").exists()
    assert main(["run", "--config", str(config), "--plan", "--rates", str(tmp_path / "none.json")]) != 0
