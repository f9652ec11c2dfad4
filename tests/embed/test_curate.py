"""The curate stage over real embeddings: one decision file per embeddings file, counts that add
up, and the shard stage leaving out exactly the samples it dropped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.embed.conftest import SAMPLES
from wit_builder.cli import main


@pytest.fixture(scope="module")
def embedded(samples_dir, checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("embed") / "embed"
    assert main(["embed", "--samples", str(samples_dir), "--out", str(out), "--model", str(checkpoint),
                 "--chunk-rows", "100"]) == 0  # fmt: skip
    return out


def curate(embedded, out, *flags) -> int:
    return main(["curate", "--embeddings", str(embedded), "--out", str(out), *flags])


def decisions(out) -> list[dict]:
    return [row for path in sorted((out / "curation").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def test_every_embedded_sample_gets_one_decision_and_the_counts_add_up(embedded, tmp_path, capsys):
    out = tmp_path / "curate"
    assert curate(embedded, out, "--clip-score-top", "0.8") == 0
    rows = decisions(out)
    assert len(rows) == SAMPLES and len({r["uid"] for r in rows}) == SAMPLES
    names = sorted(p.name for p in (out / "curation").glob("*.parquet"))
    assert names == sorted(p.name for p in (embedded / "embeddings").glob("*.parquet"))
    stats = json.loads((out / "stats.json").read_text())
    assert stats["adds_up"] and sum(stats["statuses"].values()) == SAMPLES
    assert stats["statuses"]["low_clip_score"] == pytest.approx(0.2 * SAMPLES, abs=2)
    assert sum(stats["clip_score"]["kept"]) == stats["kept"]
    assert stats["model"]["digest"] == json.loads((embedded / "stats.json").read_text())["model"]["digest"]
    for row in rows:
        assert (row["status"] == "ok") == (row["evidence"] is None)
        if row["status"] == "semantic_duplicate":
            assert row["duplicate_of"] and row["score"] > 0.95
    assert f"of {SAMPLES} samples kept" in capsys.readouterr().out


def test_the_shard_stage_leaves_out_what_curation_dropped(embedded, samples_dir, tmp_path):
    out = tmp_path / "curate"
    assert curate(embedded, out, "--clip-score-top", "0.5") == 0
    dropped = {r["uid"] for r in decisions(out) if r["status"] != "ok"}
    shards = tmp_path / "shards"
    assert main(["shard", "--samples", str(samples_dir), "--out", str(shards), "--curation", str(out)]) == 0
    written = {u for p in shards.glob("0*.parquet") for u in pq.read_table(p)["uid"].to_pylist()}
    assert written and not written & dropped and len(written) == SAMPLES - len(dropped)
    stats = json.loads((shards / "stats.json").read_text())
    assert stats["rejected"]["curated_out"] == len(dropped) and stats["adds_up"]
    # Another threshold leaves out other samples: the shards are made again, not reused.
    looser = tmp_path / "looser"
    shutil.copytree(out, looser)
    assert curate(embedded, looser, "--clip-score-top", "0.9") == 0
    assert main(["shard", "--samples", str(samples_dir), "--out", str(shards), "--curation", str(looser)]) == 0
    again = {u for p in shards.glob("0*.parquet") for u in pq.read_table(p)["uid"].to_pylist()}
    assert len(again) > len(written)


def test_nothing_kept_fails_in_one_line(embedded, tmp_path, capsys):
    assert curate(embedded, tmp_path / "c", "--clip-score-min", "0.99") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"0 of {SAMPLES} samples kept" in err[0] and "low_clip_score" in err[0]


def test_the_run_report_shows_the_curation_with_pictures(embedded, samples_dir, tmp_path):
    from wit_builder.report.curation_section import PICTURES
    from wit_builder.report.run_page import write_run_report

    run = tmp_path / "run"
    shutil.copytree(samples_dir, run / "download")
    shutil.copytree(embedded, run / "embed")
    assert curate(run / "embed", run / "curate", "--clip-score-top", "0.7") == 0
    page = Path(write_run_report(str(run))).read_text(encoding="utf-8")
    start = page.index("<h2>Curation by model</h2>")
    end = page.find("<h2>", start + 1)
    section = page[start : end if end > 0 else len(page)]
    digest = json.loads((embedded / "stats.json").read_text())["model"]["digest"]
    assert digest in section and "Lowest-scoring pairs" in section and "semantic duplicate groups" in section
    pictures = section.count("data:image/jpeg;base64,")
    assert 16 <= pictures <= PICTURES
    assert len(section.encode()) < 300_000
    stats = json.loads((run / "curate" / "stats.json").read_text())
    assert f"{stats['kept']:,} samples of {SAMPLES:,} kept" in section.replace("\n", " ")


def test_samples_near_an_evaluation_image_are_dropped_with_the_image_named(samples_dir, checkpoint, tmp_path):
    """An evaluation set made of three of the samples' own pictures: embed embeds it beside the
    samples, and curate drops every sample whose picture is one of them (cosine 1)."""
    first = pq.read_table(sorted((samples_dir / "samples").glob("*.parquet"))[0])
    folder = tmp_path / "bench"
    folder.mkdir()
    for index in range(3):
        (folder / f"e{index}.jpg").write_bytes(first["image"][index].as_py())
    out = tmp_path / "embed"
    assert main(["embed", "--samples", str(samples_dir), "--out", str(out), "--model", str(checkpoint),
                 "--eval-sets", f"bench={folder}"]) == 0  # fmt: skip
    assert curate(out, tmp_path / "curate", "--eval-similarity", "0.999", "--no-semantic-dedup") == 0
    rows = decisions(tmp_path / "curate")
    dropped = {r["uid"]: r for r in rows if r["status"] == "eval_embedding"}
    copies = set(first["uid"].to_pylist()[:3])
    assert copies <= set(dropped)  # the pool reuses pictures: other samples showing them go too
    for row in dropped.values():
        assert row["list"] == "bench" and row["duplicate_of"].startswith("bench:e") and row["score"] >= 0.999
    stats = json.loads((tmp_path / "curate" / "stats.json").read_text())
    assert stats["statuses"]["eval_embedding"] == len(dropped) and stats["eval_sets"] == {"bench": 3}
    assert len(stats["eval_matches"]) == min(8, len(dropped))
