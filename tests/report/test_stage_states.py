"""The run report says what each stage's files prove: finished, stale, failed, interrupted, never
run; and shows a stage's figures only when they are what its key says."""

from __future__ import annotations

import json
import shutil

import pytest

from wit_builder.chain import run_chain
from wit_builder.report.run_page import render_run_report
from wit_builder.report.stage_states import stage_states


def config(world, min_text_chars: int = 5) -> dict:
    return {
        "queries": {"wiki_dump": world.wiki_dump_glob, "min_bigram_pmi": 12},
        "harvest": {"pairs": str(world.pairs_dir / "*"), "min_text_chars": min_text_chars},
    }


@pytest.fixture(scope="module")
def finished(small_world_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("states") / "run"
    run_chain(config(small_world_dir), str(run), to_stage="balance")
    return run


def states_of(run) -> dict[str, tuple[str, str]]:
    return {name: (state.state, state.why) for name, state in stage_states(str(run)).items()}


def test_finished_stages_and_ones_never_run(finished):
    states = states_of(finished)
    assert [states[s][0] for s in ("queries", "harvest", "balance")] == ["finished"] * 3
    assert [states[s][0] for s in ("download", "shard", "tokenizer", "train")] == ["never run"] * 4
    assert all(state.seconds and state.seconds > 0 for state in list(stage_states(str(finished)).values())[:3])
    page = render_run_report(str(finished))
    assert '<td class="">finished</td>' in page and "The download stage has not run in this folder." in page


def test_a_stage_whose_input_ran_again_is_stale_and_its_figures_are_hidden(finished, small_world_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    assert states_of(run)["balance"][0] == "finished"  # a copied run folder is still what its keys say
    run_chain(config(small_world_dir, min_text_chars=6), str(run), to_stage="harvest")
    states = states_of(run)
    assert states["harvest"][0] == "finished"
    assert states["balance"] == ("stale", "harvest ran again since: its files describe data no longer there")
    page = render_run_report(str(run))
    assert "The balance stage is stale (harvest ran again since" in page and "its figures are not shown" in page
    assert "queries capped" not in page  # the balance section's own table


def test_a_failed_stage_says_so_and_shows_nothing(finished, small_world_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    results = run_chain(config(small_world_dir), str(run), to_stage="download")  # offline: keeps nothing
    assert results[3].outcome == "failed (exit 1)"
    states = stage_states(str(run))
    assert (states["download"].state, states["download"].why) == ("failed", "exit 1") and states["download"].seconds
    assert json.loads((run / "download" / "stats.json").read_text())["ok"] == 0  # written: the auditor may look
    assert "The download stage is failed (exit 1): its figures are not shown." in render_run_report(str(run))


def test_a_stage_that_started_and_never_ended_is_interrupted(finished, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    (run / "download").mkdir()
    (run / "download" / "_RUNNING").write_text(json.dumps({"key": "k"}))
    assert states_of(run)["download"][0] == "interrupted"
