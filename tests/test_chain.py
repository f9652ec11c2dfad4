"""``wit-builder run``: stages chained from a config, stopping honestly at unbuilt stages."""

from __future__ import annotations

import pathlib

import pytest

from wit_builder.chain import CHAIN, flags_from_table, format_results, load_config, run_chain, stage_dir
from wit_builder.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_flags_from_table():
    flags = flags_from_table({"per_query": 20000, "allow_private_network": True, "dry": False, "wat": ["a", "b"]})
    assert flags == ["--per-query", "20000", "--allow-private-network", "--wat", "a", "--wat", "b"]


def test_stage_dir_keeps_urls():
    assert stage_dir("gs://bucket/run/", "harvest") == "gs://bucket/run/harvest"


def test_chain_stops_at_first_unbuilt_stage(tmp_path):
    results = run_chain({"queries": {"wiki_dump": str(tmp_path / "*.xml")}}, str(tmp_path / "run"))
    assert [r.stage for r in results] == [stage for stage, _ in CHAIN]
    assert results[0].outcome == "not built yet"
    assert all(r.outcome == "not run" for r in results[1:])
    table = format_results(results)
    assert "not built yet" in table and "queries" in table.splitlines()[1]


@pytest.mark.parametrize("config", sorted((ROOT / "pipelines").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_pipeline_configs_parse(config):
    data = load_config(config)
    assert "queries" in data and "harvest" in data
    assert isinstance(data.get("beam_args", []), list)


def test_run_command_exit_status(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "x"\n')
    assert main(["run", "--config", str(config)]) == 3
