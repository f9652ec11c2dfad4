"""``wit-builder run``: stages chained from a config, each stage's settings built from its table,
finished stages skipped by their key, changed ones re-run with everything after them."""

from __future__ import annotations

import json
import pathlib

import pytest
import tomllib

from wit_builder import stages
from wit_builder.chain import (
    chain_settings,
    format_results,
    full_config,
    load_config,
    run_chain,
    stage_dir,
    stage_keys,
)
from wit_builder.cli import main
from wit_builder.demo import demo_toml
from wit_builder.errors import UsageError
from wit_builder.stage_settings import SettingsError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_chain_settings_wire_each_stage_to_the_earlier_folders():
    config = {"queries": {"wiki_dump": "d/*.xml"}, "harvest": {"wat": ["w1", "w2"]}, "balance": {"per_query": 7},
              "train": {"model": "tiny"}}  # fmt: skip
    settings = chain_settings(config, "gs://b/run")
    assert settings["harvest"].queries == "gs://b/run/queries" and settings["harvest"].wat == ("w1", "w2")
    assert settings["balance"].candidates == ("gs://b/run/harvest",) and settings["balance"].rules.per_query == 7
    assert settings["shard"].samples == ("gs://b/run/download",) and settings["shard"].queries == "gs://b/run/queries"
    assert settings["tokenizer"].input == "gs://b/run/shard" and settings["download"].out == "gs://b/run/download"
    assert settings["train"].train_data == "gs://b/run/shard" and settings["train"].tokenizer == "gs://b/run/tokenizer"
    assert "train" not in chain_settings({"queries": {"wiki_dump": "d"}}, "o")  # no [train]: no training


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"queries": {"wiki_dump": "d"}, "balanse": {}}, "balanse: unknown key"),
        ({"queries": {"wiki_dump": "d"}, "download": {"image_size": "big"}}, "download.image_size: expected a whole"),
        ({"queries": {"wiki_dump": "d"}, "shard": {"out": "elsewhere"}}, "shard.out: a stage writes to OUT/shard"),
        ({"queries": {"wiki_dump": "d"}, "train": {"modle": "tiny"}}, "train.modle: unknown setting"),
        ({"queries": {"wiki_dump": "d"}, "train": {"model": "huge"}}, "train.model: expected one of"),
        ({"queries": {"wiki_dump": "d"}, "harvest": 3}, "harvest: expected a table"),
        ({}, "queries: missing wiki_dump"),
        (
            {"queries": {"wiki_dump": "d"}, "beam_args": "--runner=DataflowRunner"},
            "beam_args: expected a list of texts",
        ),
    ],
)
def test_a_bad_config_fails_before_anything_runs(tmp_path, config, message):
    with pytest.raises(SettingsError, match=message):
        run_chain(config, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_stage_dir_keeps_urls():
    assert stage_dir("gs://bucket/run/", "harvest") == "gs://bucket/run/harvest"


def test_a_changed_setting_changes_its_stage_key_and_every_later_one():
    base = {"queries": {"wiki_dump": "d"}, "train": {"model": "tiny"}}
    before = stage_keys(chain_settings(base, "o"))
    after = stage_keys(chain_settings({**base, "balance": {"per_query": 10}}, "o"))
    assert [stage for stage in before if before[stage] == after[stage]] == ["queries", "harvest"]
    tokenizer_only = stage_keys(chain_settings({**base, "tokenizer": {"vocab_size": 1000}}, "o"))
    assert [stage for stage in before if before[stage] != tokenizer_only[stage]] == ["tokenizer", "train"]


@pytest.mark.parametrize("config", sorted((ROOT / "pipelines").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_pipeline_configs_validate(config):
    data = load_config(config)
    assert isinstance(data.get("beam_args", []), list)
    settings = chain_settings(data, data["out"])  # every table, key and type checked
    assert list(settings) == [stage for stage in stages.names() if not stages.get(stage).optional or stage in data]
    # --print-config gives a config that builds the same settings again.
    printed = tomllib.loads(_format(full_config(data, data["out"])))
    assert chain_settings(printed, data["out"]) == settings


def _format(document):
    from wit_builder.stage_settings import format_toml

    return format_toml(document)


def test_the_demo_config_file_is_the_demos_own():
    assert (ROOT / "pipelines" / "demo.toml").read_text() == demo_toml(), (
        "regenerate it: python -c 'from wit_builder.demo import demo_toml; print(demo_toml(), end=\"\")' "
        "> pipelines/demo.toml"
    )


def test_print_config_fills_in_every_default(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('out = "o"\n[queries]\nwiki_dump = "d"\n')
    assert main(["run", "--config", str(config), "--print-config"]) == 0
    printed = tomllib.loads(capsys.readouterr().out)
    assert printed["balance"]["per_query"] == 20000 and printed["download"]["resize_mode"] == "border"
    assert printed["harvest"]["queries"] == "o/queries" and "train" not in printed
    assert not (tmp_path / "o").exists()


def _chain_config(world) -> dict:
    return {
        "queries": {"wiki_dump": world.wiki_dump_glob, "wordnet": str(world.wordnet_dir), "min_bigram_pmi": 12},
        "harvest": {"pairs": str(world.pairs_dir / "*")},
    }


def test_chain_runs_resumes_and_reruns_what_changed(tmp_path, small_world_dir, capsys):
    run = tmp_path / "run"
    results = run_chain(_chain_config(small_world_dir), str(run))
    skipped = ("embed", "curate")  # optional, not configured, between stages that run: no row
    assert [r.stage for r in results] == [name for name in stages.names() if name not in skipped]
    # No image can be fetched (the world is offline): download keeps nothing, and fails saying so.
    assert [r.outcome for r in results[:5]] == ["done", "done", "done", "failed (exit 1)", "not run"]
    assert [r.outcome for r in results[5:]] == ["not run", "not configured"]
    assert "download: 0 of" in capsys.readouterr().err
    assert (run / "queries" / "queries.parquet").exists() and list((run / "harvest" / "candidates").glob("*"))
    assert (run / "balance" / "report" / "balance.html").exists() and (run / "report" / "index.html").exists()
    table = format_results(results)
    assert "failed (exit 1)" in table.splitlines()[4] and "download" in table.splitlines()[4]
    download = json.loads((run / "download" / "stats.json").read_text())
    assert download["adds_up"] and set(download["statuses"]) == {"private_address"}  # refused: loopback
    success = json.loads((run / "balance" / "_SUCCESS").read_text())
    assert success["settings"]["per_query"] == 20000 and not (run / "balance" / "_RUNNING").exists()
    assert json.loads((run / "download" / "_RUNNING").read_text())["key"]  # it failed: never finished

    queries_bytes = (run / "queries" / "queries.parquet").stat().st_mtime_ns
    again = run_chain(_chain_config(small_world_dir), str(run))
    assert [r.outcome for r in again[:5]] == ["up to date"] * 3 + ["failed (exit 1)", "not run"]
    assert (run / "queries" / "queries.parquet").stat().st_mtime_ns == queries_bytes

    changed = {**_chain_config(small_world_dir), "balance": {"per_query": 3}}
    (run / "download" / "notes.txt").write_text("a user's file")
    with pytest.raises(UsageError, match=r"run/download holds notes.txt, which the download stage does not write"):
        run_chain(changed, str(run))  # the run would empty download/: refused before any stage runs
    assert (run / "download" / "notes.txt").exists() and list((run / "download" / "samples").glob("*.parquet"))
    (run / "download" / "notes.txt").unlink()
    rerun = run_chain(changed, str(run))
    assert [r.outcome for r in rerun[:4]] == ["up to date", "up to date", "done", "failed (exit 1)"]
    assert json.loads((run / "balance" / "stats.json").read_text())["rules"]["per_query"] == 3

    forced = run_chain(changed, str(run), from_stage="harvest")
    assert [r.outcome for r in forced[:4]] == ["up to date", "done", "done", "failed (exit 1)"]
    with pytest.raises(UsageError, match="--from harvst: not a stage"):
        run_chain(changed, str(run), from_stage="harvst")


def test_chain_stops_when_a_stage_fails(tmp_path):
    results = run_chain({"queries": {"wiki_dump": str(tmp_path / "missing-*.xml")}}, str(tmp_path / "run"))
    assert results[0].outcome == "failed (exit 2)"  # a usage error of the config: the glob matches nothing
    assert all(r.outcome in ("not run", "not configured") for r in results[1:])


def test_run_command_exit_status(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "{tmp_path}/missing-*.xml"\n')
    assert main(["run", "--config", str(config)]) == 2  # the config names no file: a usage error
    assert "1 input(s) name no file: queries.wiki_dump" in capsys.readouterr().err
    (tmp_path / "dump.xml").write_text("<html>not a dump</html>\n")
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "{tmp_path}/dump.xml"\n')
    assert main(["run", "--config", str(config)]) == 1  # the stage ran and could read nothing: failed
    assert "not a MediaWiki XML export" in capsys.readouterr().err
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "x"\nmin_unigram_count = "lots"\n')
    assert main(["run", "--config", str(config)]) == 2
    assert "queries.min_unigram_count: expected a whole number, got 'lots'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_killed_mid_download_resumes_to_the_same_shards(tmp_path, small_world, served_world):
    import hashlib
    import os
    import signal
    import subprocess
    import sys
    import time

    from wit_builder.stage_settings import format_toml

    world = small_world.write(tmp_path / "world", served_world.base_urls)
    config = {**_chain_config(world), "download": {"allow_private_network": True, "read_timeout": 2.0}}
    whole = run_chain(config, str(tmp_path / "whole"))
    assert all(r.outcome == "done" for r in whole[:6]), format_results(whole)

    path = tmp_path / "c.toml"
    path.write_text(format_toml({"out": str(tmp_path / "killed"), **config}))
    outcomes = tmp_path / "killed" / "download" / "work" / "outcomes"
    command = [sys.executable, "-m", "wit_builder.cli", "run", "--config", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    while not (outcomes.exists() and list(outcomes.glob("*.parquet"))):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)  # the runner and its workers, mid-download
    process.wait()
    assert not (tmp_path / "killed" / "download" / "_SUCCESS").exists()

    resumed = run_chain(config, str(tmp_path / "killed"))
    assert [r.outcome for r in resumed[:6]] == ["up to date"] * 3 + ["done"] * 3
    assert json.loads((tmp_path / "killed" / "download" / "stats.json").read_text())["chunks_resumed"] >= 1

    def tars(run: pathlib.Path) -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((run / "shard").glob("*.tar"))}

    assert tars(tmp_path / "killed") == tars(tmp_path / "whole") and tars(tmp_path / "whole")


def test_a_run_folder_that_is_not_text_is_named(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('out = 5\n[queries]\nwiki_dump = "d"\n')
    assert main(["run", "--config", str(config)]) == 2
    assert "out: expected the run folder's path or URL as text, got 5" in capsys.readouterr().err


def test_run_to_stops_after_a_stage_and_touches_nothing_after_it(tmp_path, small_world_dir, capsys):
    run = tmp_path / "run"
    results = run_chain(_chain_config(small_world_dir), str(run), to_stage="balance")
    assert [r.outcome for r in results] == ["done", "done", "done", "not run", "not run", "not run", "not configured"]
    assert not (run / "download").exists() and not (run / "shard").exists()
    again = run_chain(_chain_config(small_world_dir), str(run), to_stage="harvest")
    assert [r.outcome for r in again[:3]] == ["up to date", "up to date", "not run"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--to", "nowhere"], "--to nowhere: not a stage"),
        (["--from", "shard", "--to", "harvest"], "--from shard comes after --to harvest: nothing would run"),
    ],
)
def test_from_and_to_must_name_stages_in_order(argv, message, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('out = "o"\n[queries]\nwiki_dump = "d"\n')
    assert main(["run", "--config", str(config), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("plan", [True, False], ids=["--plan", "run"])
def test_every_missing_input_is_named_before_anything_runs(plan, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "c.toml"
    config.write_text(
        'out = "run"\n[queries]\nwiki_dump = "data/enwiki/*.bz2"\nwordnet = "nowhere/wordnet"\n'
        '[harvest]\nwat = "data/wat/*.warc.wat.gz"\npairs = ["data/pairs/*.parquet"]\n'
    )
    assert main(["run", "--config", str(config), *(["--plan"] if plan else [])]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "4 input(s) name no file" in err, err
    for named in ("queries.wiki_dump 'data/enwiki/*.bz2'", "queries.wordnet 'nowhere/wordnet'",
                  "harvest.wat 'data/wat/*.warc.wat.gz'", "harvest.pairs 'data/pairs/*.parquet'"):  # fmt: skip
        assert named in err
    assert not (tmp_path / "run").exists()


def test_a_bootstrap_model_is_the_runs_own_first_training():
    from wit_builder.chain import bootstrap_settings, is_bootstrap
    from wit_builder.stage_settings import SettingsError

    config = {"queries": {"wiki_dump": "d"}, "train": {"model": "tiny", "steps": 5},
              "embed": {"model": "bootstrap"}, "curate": {"clip_score_top": 0.7}}  # fmt: skip
    settings = chain_settings(config, "/runs/r")
    assert is_bootstrap(config) and settings["embed"].model == "/runs/r/bootstrap/train"
    assert settings["shard"].curation == "/runs/r/curate" and settings["curate"].embeddings == ("/runs/r/embed",)
    booted = bootstrap_settings(config, "/runs/r")
    assert booted["shard"].samples == ("/runs/r/download",) and booted["shard"].curation is None
    assert booted["train"].train_data == "/runs/r/bootstrap/shard" and booted["train"].steps == 5
    assert booted["train"].tokenizer == "/runs/r/bootstrap/tokenizer"
    with pytest.raises(SettingsError, match=r"add a \[train\] table"):
        chain_settings({"queries": {"wiki_dump": "d"}, "embed": {"model": "bootstrap"}}, "/runs/r")
    plain = chain_settings({"queries": {"wiki_dump": "d"}}, "/runs/r")
    assert plain["shard"].curation is None and "embed" not in plain
