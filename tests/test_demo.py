"""``wit-builder demo`` builds the world, serves it, and reports the chain honestly."""

from __future__ import annotations

import json

import pytest

from wit_builder.cli import main


def test_demo_runs_and_says_where_things_are(tmp_path, capsys):
    status = main(["demo", "--out", str(tmp_path / "demo"), "--scale", "0.2", "--seed", "5", "--no-train"])
    assert status == 0
    out = capsys.readouterr().out
    manifest = json.loads((tmp_path / "demo" / "world" / "world.json").read_text())
    assert manifest["config"]["seed"] == 5
    assert manifest["base_urls"][0].startswith("http://127.0.0.1:")
    assert str(tmp_path / "demo" / "world") in out
    queries = (tmp_path / "demo" / "run" / "queries" / "queries.txt").read_text().splitlines()
    assert len(queries) > 100 and "circle" in queries  # the scene words are frequent dump words
    harvest = json.loads((tmp_path / "demo" / "run" / "harvest" / "stats.json").read_text())
    assert harvest["adds_up"] and harvest["kept"] > 0
    balance = json.loads((tmp_path / "demo" / "run" / "balance" / "stats.json").read_text())
    assert balance["adds_up"] and balance["pairs_in"] == harvest["kept"]
    assert (tmp_path / "demo" / "run" / "balance" / "report" / "balance.html").exists()
    download = json.loads((tmp_path / "demo" / "run" / "download" / "stats.json").read_text())
    assert download["adds_up"] and download["pairs_in"] == balance["kept"] and download["ok"] > 0
    shard = json.loads((tmp_path / "demo" / "run" / "shard" / "stats.json").read_text())
    assert shard["adds_up"] and shard["samples_in"] == download["ok"] and shard["written"] > 0
    manifest = json.loads((tmp_path / "demo" / "run" / "shard" / "manifest.json").read_text())
    assert f"--train-data '{manifest['train_data']}'" in out.split("[demo] the chain:")[1]
    report = tmp_path / "demo" / "run" / "report" / "index.html"
    assert f"[demo] the run report: {report}" in out and "Top failing hosts" in report.read_text()
    tokenizer = json.loads((tmp_path / "demo" / "run" / "tokenizer" / "stats.json").read_text())
    # The tokenizer read the set before the takedown after publication; the shard stats are after it.
    before_takedown = shard["written"] + shard["rejected"]["taken_down"]
    assert tokenizer["captions"] == before_takedown and tokenizer["end_token"]["id"] == tokenizer["vocab_size"] - 1
    assert "stopped at" not in out
    assert f"wit-train train --train-data {tmp_path / 'demo' / 'run' / 'shard'} --tokenizer" in out
    check_collecting_responsibly(tmp_path / "demo", out)
    check_the_plan_against_the_run(tmp_path / "demo")


def check_the_plan_against_the_run(demo) -> None:
    """``run --plan``'s estimate, made from the world's inputs alone, is within 2x of what the
    run did: each stage's pairs in and out, and the bytes the download and shard wrote."""
    from wit_builder.chain import chain_settings
    from wit_builder.demo import demo_config
    from wit_builder.plan import load_rates, plan_run

    settings = chain_settings(demo_config(demo / "world", train=False), str(demo / "run"))
    plan = {e.stage: e for e in plan_run(settings, load_rates())}
    stats = {stage: json.loads((demo / "run" / stage / "stats.json").read_text()) for stage in plan}
    actual = {
        "harvest": (stats["harvest"]["pairs_read"], stats["harvest"]["kept"]),
        "balance": (stats["balance"]["pairs_in"], stats["balance"]["kept"]),
        "download": (stats["download"]["pairs_in"], stats["download"]["ok"]),
        "shard": (stats["shard"]["samples_in"], stats["shard"]["written"]),
    }
    for stage, (units_in, units_out) in actual.items():
        assert 0.5 <= plan[stage].units_in / units_in <= 2, (stage, plan[stage].units_in, units_in)
        assert 0.5 <= plan[stage].units_out / units_out <= 2, (stage, plan[stage].units_out, units_out)
    for stage in ("download", "shard"):
        written = sum(f.stat().st_size for f in (demo / "run" / stage).rglob("*") if f.is_file())
        assert 0.5 <= plan[stage].bytes_written / written <= 2, (stage, plan[stage].bytes_written, written)


def check_collecting_responsibly(demo, out: str) -> None:
    """The demo's world exercises every removal: each planted picture that reached download ends
    as its truth says, the URL list acts in harvest, one takedown is logged, and the report shows it."""
    import pyarrow.parquet as pq

    truth = json.loads((demo / "world" / "planted" / "truth.json").read_text())
    statuses = {row["url"]: row["status"] for row in pq.read_table(demo / "run" / "download" / "status").to_pylist()}
    reached = {url: statuses[url] for url in truth if url in statuses}
    assert {record["expected"] for url, record in truth.items() if url in reached} >= {"eval_duplicate", "blocklisted"}
    assert all(status == truth[url]["expected"] for url, status in reached.items()), reached
    assert not any(truth[url]["expected"].startswith("harvest:") for url in reached)  # dropped by the URL list
    harvest = json.loads((demo / "run" / "harvest" / "stats.json").read_text())
    assert harvest["blocklisted_by_list"] == {"demo-urls": 1}
    download = json.loads((demo / "run" / "download" / "stats.json").read_text())
    assert sum(download["blocklisted_by_list"].values()) == download["statuses"]["blocklisted"]
    assert download["faces_blurred"] == sum(len(truth[url]["boxes"] or ()) for url, s in reached.items() if s == "ok")
    log = (demo / "run" / "shard" / "takedowns.jsonl").read_text().splitlines()
    assert len(log) == 1 and "[demo] takedown after publication: 1 sample removed" in out
    assert main(["verify", str(demo / "run" / "shard")]) == 0
    report = (demo / "run" / "report" / "index.html").read_text()
    for heading in ("Opt-outs and removals", "Blocklists", "Evaluation sets", "each evaluation image", "Takedowns"):
        assert heading in report, heading
    assert "demo: the site owner asked" in report and "data:image/jpeg;base64," in report


@pytest.mark.slow
def test_the_demo_trains_and_evaluates_on_held_out_data(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--scale", "0.5", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "demo" / "run" / "train" / "eval.json").read_text())
    assert results["n"] == 400 and results["image_to_text_R@1"] > 4 * results["chance_R@1"], results
    assert "held-out scenes" in out and "× chance" in out
    report = (tmp_path / "demo" / "run" / "report" / "index.html").read_text()
    assert "Training loss" in report and "image → text R@1" in report and "image_to_text_R@1" not in report
    assert main(["demo", "--out", str(tmp_path / "demo"), "--scale", "0.5", "--seed", "2"]) == 0
    again = capsys.readouterr().out  # the same demo again: every stage has finished with these settings
    assert sum(line.startswith("[run] ") and ": up to date in " in line for line in again.splitlines()) == 7


@pytest.mark.slow  # a chain, two trainings and a third for the proof
def test_the_curate_demo_scores_with_its_own_model_and_measures_the_result(tmp_path, capsys, monkeypatch):
    from wit_builder import demo as demo_module

    # Every training of the loop (the bootstrap, the curated, the proof's) at 40 steps, not 200:
    # what is checked here is the loop and its records, not how well a model learns.
    monkeypatch.setitem(demo_module.TRAIN, "steps", 40)
    monkeypatch.setitem(demo_module.TRAIN, "warmup", 5)
    demo = ["demo", "--out", str(tmp_path / "demo"), "--scale", "0.34", "--seed", "2", "--curate", "--proof-seeds", "1"]
    assert main(demo) == 0
    out = capsys.readouterr().out
    run = tmp_path / "demo" / "run"
    for step in ("shard", "tokenizer", "train"):
        assert (run / "bootstrap" / step / "_SUCCESS").exists(), step
    embed = json.loads((run / "embed" / "stats.json").read_text())
    assert embed["model"]["name"].startswith("tiny step 40") and "bootstrap/train" in embed["model"]["name"]
    curate = json.loads((run / "curate" / "stats.json").read_text())
    assert curate["adds_up"] and curate["statuses"]["low_clip_score"] > 0
    shard = json.loads((run / "shard" / "stats.json").read_text())
    assert shard["rejected"]["curated_out"] == curate["samples_in"] - curate["kept"]
    proof = json.loads((run / "curation_proof.json").read_text())
    low = proof["filters"]["low_clip_score"]
    assert low["misaligned_embedded"] > 0 and 0 <= low["precision"] <= 1 and 0 <= low["recall"] <= 1
    assert set(proof["gain"]["per_seed"]) == {"uncurated", "curated"} and proof["gain"]["seeds"] == [0]
    assert proof["gain"]["val_sets"] == 5 and "semantic_dedup_not_applied" in proof["filters"]
    assert "[proof] against the world's ground truth" in out and "[proof] R@1 on held-out scenes" in out
    report = (run / "report" / "index.html").read_text()
    assert "Against the synthetic world's ground truth" in report and "uncurated against curated" in report
    assert main(demo) == 0  # again: the bootstrap and every stage are up to date
    again = capsys.readouterr().out
    assert "[bootstrap] train: up to date in" in again and "[run] embed: up to date in" in again


def test_world_command_writes_offline_world(tmp_path, capsys):
    assert main(["world", "--out", str(tmp_path / "w"), "--scale", "0.1", "--compression", "multistream"]) == 0
    assert list((tmp_path / "w" / "wiki").glob("*multistream-index*"))
    assert "not served" in capsys.readouterr().out


def test_the_demo_again_is_up_to_date_and_on_another_port_harvests_again(tmp_path, capsys):
    """The web's port is in every URL: the same demo again serves on the port it used (nothing
    to redo); on another port its WAT files and lists are rewritten, and the run sees it."""
    import socket

    argv = ["demo", "--out", str(tmp_path / "demo"), "--scale", "0.1", "--no-train"]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert sum(": up to date in " in line for line in again.splitlines() if line.startswith("[run] ")) == 6
    with socket.socket() as probe:  # a port free now, which the first demo did not use
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main([*argv, "--port", str(port)]) == 0
    moved = capsys.readouterr().out
    assert "[run] queries: up to date" in moved
    assert "[run] harvest (2/7): starting" in moved and "its inputs changed since it last finished: --wat" in moved
    import pyarrow.parquet as pq

    urls = pq.read_table(tmp_path / "demo" / "run" / "harvest" / "candidates", columns=["url"]).column("url")
    assert all(f":{port}/" in url for url in urls.to_pylist() if url.startswith("http://127.0.0."))
