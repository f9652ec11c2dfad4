"""``wit-builder run``: stages chained from a config, stopping honestly at unbuilt stages."""

from __future__ import annotations

import json
import pathlib

import pytest

from wit_builder.chain import CHAIN, flags_from_table, format_results, load_config, run_chain, stage_dir
from wit_builder.cli import build_parser, main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_flags_from_table():
    flags = flags_from_table({"per_query": 20000, "allow_private_network": True, "dry": False, "wat": ["a", "b"]})
    assert flags == ["--per-query", "20000", "--allow-private-network", "--wat", "a", "--wat", "b"]


def test_stage_dir_keeps_urls():
    assert stage_dir("gs://bucket/run/", "harvest") == "gs://bucket/run/harvest"


def test_chain_runs_built_stages_and_stops_at_the_first_unbuilt(tmp_path, small_world_dir):
    config = {
        "queries": {
            "wiki_dump": small_world_dir.wiki_dump_glob,
            "wordnet": str(small_world_dir.wordnet_dir),
            "min_bigram_pmi": 12,
        },
        "harvest": {"pairs": str(small_world_dir.pairs_dir / "*")},
    }
    results = run_chain(config, str(tmp_path / "run"))
    assert [r.stage for r in results] == [stage for stage, _ in CHAIN]
    # No image can be fetched (below), so the shard stage has nothing to write and says so.
    assert [r.outcome for r in results[:5]] == ["done", "done", "done", "done", "failed (exit 1)"]
    assert all(r.outcome == "not run" for r in results[5:])
    assert (tmp_path / "run" / "queries" / "queries.parquet").exists()
    assert list((tmp_path / "run" / "harvest" / "candidates").glob("*.parquet"))
    assert (tmp_path / "run" / "balance" / "report" / "balance.html").exists()
    table = format_results(results)
    assert "failed (exit 1)" in table.splitlines()[5] and "shard" in table.splitlines()[5]
    # The chain's default download refuses the world's loopback URLs: private addresses.
    download = json.loads((tmp_path / "run" / "download" / "stats.json").read_text())
    assert download["adds_up"] and set(download["statuses"]) == {"private_address"}


def test_chain_stops_when_a_stage_fails(tmp_path):
    results = run_chain({"queries": {"wiki_dump": str(tmp_path / "missing-*.xml")}}, str(tmp_path / "run"))
    assert results[0].outcome == "failed (exit 1)"
    assert all(r.outcome == "not run" for r in results[1:])


@pytest.mark.parametrize("config", sorted((ROOT / "pipelines").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_pipeline_configs_parse(config):
    data = load_config(config)
    assert "queries" in data and "harvest" in data
    assert isinstance(data.get("beam_args", []), list)
    parser = build_parser()
    for stage, inputs in CHAIN:
        # The argv run_chain builds for this stage; anything the stage does not know would be
        # handed to Beam unnoticed, so a config table may hold only the stage's own flags.
        argv = [stage, "--out", "RUN/" + stage]
        for flag, earlier in inputs.items():
            argv += ["--" + flag, "RUN/" + earlier]
        _, unknown = parser.parse_known_args(argv + flags_from_table(data.get(stage, {})))
        assert not unknown, f"{config.name}: [{stage}] {unknown} are no flags of wit-builder {stage}"


def test_run_command_exit_status(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "{tmp_path}/missing-*.xml"\n')
    assert main(["run", "--config", str(config)]) == 1
