"""``wit-builder run``: stages chained from a config, each stage's settings built from its table."""

from __future__ import annotations

import json
import pathlib

import pytest

from wit_builder.chain import CHAIN, chain_settings, format_results, load_config, run_chain, stage_dir
from wit_builder.cli import main
from wit_builder.stage_settings import SettingsError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_chain_settings_wire_each_stage_to_the_earlier_folders():
    config = {"queries": {"wiki_dump": "d/*.xml"}, "harvest": {"wat": ["w1", "w2"]}, "balance": {"per_query": 7}}
    settings = chain_settings(config, "gs://b/run")
    assert settings["harvest"].queries == "gs://b/run/queries" and settings["harvest"].wat == ("w1", "w2")
    assert settings["balance"].candidates == ("gs://b/run/harvest",) and settings["balance"].rules.per_query == 7
    assert settings["shard"].samples == ("gs://b/run/download",) and settings["shard"].queries == "gs://b/run/queries"
    assert settings["tokenizer"].input == "gs://b/run/shard" and settings["download"].out == "gs://b/run/download"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"queries": {"wiki_dump": "d"}, "balanse": {}}, "balanse: unknown key"),
        ({"queries": {"wiki_dump": "d"}, "download": {"image_size": "big"}}, "download.image_size: expected a whole"),
        ({"queries": {"wiki_dump": "d"}, "shard": {"out": "elsewhere"}}, "shard.out: a stage writes to OUT/shard"),
        ({}, "queries: missing wiki_dump"),
    ],
)
def test_a_bad_config_fails_before_anything_runs(tmp_path, config, message):
    with pytest.raises(SettingsError, match=message):
        run_chain(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


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
def test_shipped_pipeline_configs_validate(config):
    data = load_config(config)
    assert isinstance(data.get("beam_args", []), list)
    settings = chain_settings(data, data["out"])  # every table, key and type checked
    assert list(settings) == [stage for stage, _ in CHAIN]


def test_run_command_exit_status(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "{tmp_path}/missing-*.xml"\n')
    assert main(["run", "--config", str(config)]) == 1
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "x"\nmin_unigram_count = "lots"\n')
    assert main(["run", "--config", str(config)]) == 2
