"""A run keys each stage on what its source files are now, not only on how they are named."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from wit_builder.chain import chain_settings, run_chain, source_fingerprints, stage_keys
from wit_builder.io.fingerprint import fingerprint


@pytest.fixture
def lists(tmp_path):
    folder = tmp_path / "lists"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.tsv").write_text(f"url\ttext\nhttp://x/{name}.jpg\ta photo of {name}\n")
    return folder


def keys_for(folder, **more) -> dict[str, str]:
    config = {"queries": {"wiki_dump": "dump.xml"}, "harvest": {"pairs": str(folder / "*.tsv"), **more}}
    return stage_keys(chain_settings(config, "run"))


def later_stages_changed(before: dict, after: dict) -> list[str]:
    return [stage for stage in before if before[stage] != after[stage]]


def bump(path, seconds: int = 5) -> None:
    """Move a file's modification time on, as an edit a few seconds later would."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 10**9))


@pytest.mark.parametrize(
    "change",
    ["glob grows", "glob shrinks", "rewritten in place", "same size rewritten", "renamed", "touched"],
)
def test_every_change_to_a_source_rekeys_its_stage_and_the_later_ones(lists, change):
    before = keys_for(lists)
    if change == "glob grows":
        (lists / "d.tsv").write_text("url\ttext\nhttp://x/d.jpg\ta photo of d\n")
    elif change == "glob shrinks":
        (lists / "c.tsv").unlink()
    elif change == "rewritten in place":
        (lists / "a.tsv").write_text("url\ttext\nhttp://y/a.jpg\tanother photo of a\n")
        bump(lists / "a.tsv")
    elif change == "same size rewritten":
        text = (lists / "a.tsv").read_text()
        (lists / "a.tsv").write_text(text.replace("x/a", "z/a"))
        bump(lists / "a.tsv")
    elif change == "renamed":
        (lists / "b.tsv").rename(lists / "e.tsv")
    else:
        bump(lists / "b.tsv")
    after = keys_for(lists)
    assert later_stages_changed(before, after) == ["harvest", "balance", "download", "shard", "tokenizer"]


def test_reading_or_copying_elsewhere_changes_nothing(lists, tmp_path):
    before = keys_for(lists)
    (lists / "a.tsv").read_bytes()
    assert keys_for(lists) == before
    # A file beside the glob that it does not match is not an input.
    (lists / "notes.txt").write_text("mine")
    assert keys_for(lists) == before
    # The same settings with an unrelated setting of another stage: only that stage moves on.
    assert later_stages_changed(before, keys_for(lists, min_text_chars=3)) == [
        "harvest", "balance", "download", "shard", "tokenizer"
    ]  # fmt: skip


def test_a_fingerprint_counts_files_and_bytes_and_names_what_is_missing(lists, tmp_path):
    found = fingerprint([str(lists / "*.tsv")])
    assert found.files == 3 and found.bytes == sum(p.stat().st_size for p in lists.glob("*.tsv"))
    assert fingerprint([str(lists)]).files == 3  # a folder: every file below it
    missing = fingerprint([str(tmp_path / "nowhere.tsv")])
    assert missing.files == 0 and missing.digest != fingerprint([str(tmp_path / "elsewhere.tsv")]).digest
    (tmp_path / "nowhere.tsv").write_text("url\ttext\n")
    assert fingerprint([str(tmp_path / "nowhere.tsv")]).digest != missing.digest  # it arrived: a change
    # An evaluation set's NAME=PATH is its path; a brace pattern is each file it names.
    assert fingerprint([f"mine={lists}"]).digest == fingerprint([str(lists)]).digest
    assert fingerprint([str(lists / "{a,b}.tsv")]).files == 2


def test_wired_inputs_are_left_to_the_earlier_stages_keys(lists):
    settings = chain_settings({"queries": {"wiki_dump": "dump.xml"}, "harvest": {"pairs": str(lists / "*.tsv")}}, "r")
    sources = source_fingerprints(settings)
    assert set(sources["harvest"]) == {"pairs"}  # not --queries: the queries stage's folder
    assert sources["balance"] == {} and sources["download"] == {}


@pytest.fixture
def world_lists(small_world_dir, tmp_path):
    folder = tmp_path / "pairs"
    shutil.copytree(small_world_dir.pairs_dir, folder)
    return folder


def test_a_run_after_a_list_was_added_harvests_again_and_says_why(small_world_dir, world_lists, tmp_path, capsys):
    config = {
        "queries": {"wiki_dump": small_world_dir.wiki_dump_glob, "min_bigram_pmi": 12},
        "harvest": {"pairs": str(world_lists / "*.tsv")},
    }
    run = tmp_path / "run"
    first = run_chain(config, str(run))
    assert [r.outcome for r in first[:2]] == ["done", "done"]
    pairs_before = json.loads((run / "harvest" / "stats.json").read_text())["pairs_read"]
    assert [r.outcome for r in run_chain(config, str(run))[:3]] == ["up to date"] * 3
    (world_lists / "more.tsv").write_text((small_world_dir.pairs_dir / "cc3m.tsv").read_text().replace("://", "://m."))
    capsys.readouterr()
    again = run_chain(config, str(run))
    assert [r.outcome for r in again[:4]] == ["up to date", "done", "done", "failed (exit 1)"]  # download: offline
    out = capsys.readouterr().out
    assert "harvest (2/7): starting" in out and "its inputs changed since it last finished: --pairs 2 → 3 files" in out
    assert json.loads((run / "harvest" / "stats.json").read_text())["pairs_read"] > pairs_before
    success = json.loads((run / "harvest" / "_SUCCESS").read_text())
    assert success["inputs"]["pairs"]["files"] == 3
