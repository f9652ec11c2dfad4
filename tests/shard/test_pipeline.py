"""The shard stage end to end: globally shuffled, deterministic, resumable, and every sample
accounted for."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.shard.conftest import FILES, PER_SHARD, SAMPLES, shard
from wit_builder.capping.sampling import CappedQueries, keep_rows
from wit_builder.cli import main
from wit_builder.schemas import read_table, write_table
from wit_builder.shard.placement import placement_key, shard_for


def tars(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.tar"))}


def index(folder) -> pa.Table:
    return pa.concat_tables(read_table(str(path), "shard_index") for path in sorted(folder.glob("0*.parquet")))


def input_table(download_dir) -> pa.Table:
    return pa.concat_tables(read_table(str(p), "samples") for p in sorted((download_dir / "samples").glob("*.parquet")))


def test_every_sample_is_written_once_and_the_counts_add_up(shard_dir, download_dir):
    stats = json.loads((shard_dir / "stats.json").read_text())
    assert stats["adds_up"] and stats["samples_in"] == stats["written"] == SAMPLES
    rejected = {"unreadable": 0, "missing_image": 0, "bad_image_format": 0, "duplicate_uid": 0, "taken_down": 0}
    assert stats["rejected"] == rejected
    written = index(shard_dir)
    assert sorted(written.column("uid").to_pylist()) == sorted(input_table(download_dir).column("uid").to_pylist())
    keys = written.column("key").to_pylist()
    assert len(set(keys)) == len(keys) and all("." not in k and "/" not in k and k.isdigit() for k in keys)


def test_manifest_sizes_and_index_describe_the_tars(shard_dir):
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    sizes = json.loads((shard_dir / "sizes.json").read_text())
    names = sorted(tars(shard_dir))
    assert manifest["pattern"] == f"{{000000..{len(names) - 1:06d}}}.tar" and len(names) == SAMPLES // PER_SHARD
    assert manifest["train_data"] == f"{shard_dir}/{manifest['pattern']}"
    assert sizes == {s["name"]: s["samples"] for s in manifest["shards"]} and sum(sizes.values()) == SAMPLES
    for entry in manifest["shards"]:
        assert (shard_dir / entry["name"]).stat().st_size == entry["bytes"]
        assert pq.ParquetFile(shard_dir / entry["index"]).metadata.num_rows == entry["samples"]
    assert manifest["upstream"]["download"]["stats"]["ok"] == SAMPLES
    total_bytes = sum(s["bytes"] for s in manifest["shards"])
    assert manifest["totals"] == {"shards": len(names), "samples": SAMPLES, "bytes": total_bytes}
    assert not (shard_dir / "work" / "runs").exists()  # the run files are gone once the shards are done


def test_placement_is_the_pure_function_of_seed_and_uid(shard_dir):
    shards = len(tars(shard_dir))
    for path in sorted(shard_dir.glob("0*.parquet")):
        uids = read_table(str(path), "shard_index").column("uid").to_pylist()
        keys = [placement_key(0, uid) for uid in uids]
        assert {shard_for(key, shards) for key in keys} == {int(path.stem)}
        assert keys == sorted(keys)  # in key order inside the shard


def test_shards_are_a_random_mix_of_the_input(shard_dir, download_dir):
    """Shard 0 draws from every input file, and tar order is unrelated to input order."""
    position = {uid: i for i, uid in enumerate(input_table(download_dir).column("uid").to_pylist())}
    first = read_table(str(shard_dir / "000000.parquet"), "shard_index").column("uid").to_pylist()
    files = {position[uid] * FILES // SAMPLES for uid in first}
    assert files == set(range(FILES))
    order = np.array([position[uid] for uid in index(shard_dir).column("uid").to_pylist()])
    ranks = np.argsort(np.argsort(order))
    rho = np.corrcoef(ranks, np.arange(len(order)))[0, 1]
    assert abs(rho) < 0.1, rho  # Spearman's rho of output against input order
    sizes = [len(read_table(str(p), "shard_index")) for p in sorted(shard_dir.glob("0*.parquet"))]
    assert max(sizes) - min(sizes) <= 6 * np.sqrt(PER_SHARD), sizes


@pytest.mark.slow  # three runs of the stage
def test_two_workers_and_a_rerun_give_identical_bytes(shard_dir, download_dir, tmp_path):
    out = tmp_path / "two"
    assert shard(download_dir, out, "--direct_num_workers=2", "--direct_running_mode=multi_processing") == 0
    assert tars(out) == tars(shard_dir)
    for name in tars(shard_dir):
        stem = name.removesuffix(".tar")
        assert (out / f"{stem}.parquet").read_bytes() == (shard_dir / f"{stem}.parquet").read_bytes()
    other = tmp_path / "seed"
    assert shard(download_dir, other, "--seed", "1") == 0
    assert tars(other) != tars(shard_dir)


def test_a_cut_tar_or_a_damaged_index_is_written_again_not_resumed(shard_dir, download_dir, tmp_path):
    """Bytes damaged after a finished run (a tar cut short, an index overwritten) are not taken
    as a finished shard: a re-run writes those shards again, the same bytes as before, and the
    others are resumed."""
    out = tmp_path / "damaged"
    shutil.copytree(shard_dir, out)
    (out / "manifest.json").unlink()  # a run that must look at its shards again
    tar = (out / "000001.tar").read_bytes()
    (out / "000001.tar").write_bytes(tar[: len(tar) // 2])
    (out / "000003.parquet").write_bytes(b"not a parquet file")
    assert shard(download_dir, out) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["shards_resumed"] == len(tars(shard_dir)) - 2
    assert tars(out) == tars(shard_dir)
    assert (out / "000003.parquet").read_bytes() == (shard_dir / "000003.parquet").read_bytes()
    assert main(["verify", str(out)]) == 0


def test_a_killed_run_rewrites_only_the_missing_shards(shard_dir, download_dir, tmp_path, capsys):
    out = tmp_path / "resume"
    shutil.copytree(shard_dir, out)
    # As if killed before the end: no manifest, one shard not committed, one half written.
    (out / "manifest.json").unlink()
    (out / "000002.tar").unlink()
    (out / "000004.tar").rename(out / "000004.tar.partial")
    before = {name: os.stat(out / name).st_mtime_ns for name in ("000000.tar", "000001.tar", "000003.tar")}
    assert shard(download_dir, out) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["shards_resumed"] == len(tars(shard_dir)) - 2 and stats["adds_up"]
    assert {name: os.stat(out / name).st_mtime_ns for name in before} == before
    assert tars(out) == tars(shard_dir) and not list(out.glob("*.partial"))
    capsys.readouterr()
    assert shard(download_dir, out) == 0  # finished and unchanged: nothing to do
    assert "up to date" in capsys.readouterr().out


def test_final_cap_uses_the_balance_rule_and_reports(download_dir, tmp_path, capsys):
    out = tmp_path / "capped"
    assert shard(download_dir, out, "--per-query", "20", "--seed", "3") == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["adds_up"] and stats["capped"] > 0 and stats["written"] + stats["capped"] == SAMPLES
    table = input_table(download_dir)
    matched = dict(
        zip(*np.unique(np.concatenate(table.column("matches").to_pylist()), return_counts=True), strict=True)
    )
    capped = CappedQueries.build({q: int(n) for q, n in matched.items()}, 20, 1.0, 3)
    expected = set(
        np.array(table.column("uid").to_pylist())[keep_rows(table.column("uid"), table.column("matches"), capped)]
    )
    assert set(index(out).column("uid").to_pylist()) == expected
    report = read_table(str(out / "report" / "balance.parquet"), "balance_report").to_pylist()
    kept = {row["query"]: row["kept"] for row in report}
    assert sum(row["matched"] for row in report) == sum(matched.values())
    written_matches = np.concatenate(index(out).column("matches").to_pylist())
    assert kept == {q: int(n) for q, n in zip(*np.unique(written_matches, return_counts=True), strict=True)} | {
        q: 0 for q in kept if q not in set(written_matches)
    }
    html = (out / "report" / "balance.html").read_text()
    assert "what is in the shards" in html and "t = 20" in html
    assert "--train-data" in capsys.readouterr().out


def test_bad_inputs_are_counted_not_fatal(download_dir, tmp_path, capsys):
    folder = tmp_path / "download"
    shutil.copytree(download_dir, folder)
    samples = folder / "samples"
    (samples / "part-00005.parquet").write_bytes((samples / "part-00005.parquet").read_bytes()[:5000])  # truncated
    broken = read_table(str(samples / "part-00004.parquet"), "samples")
    images = broken.column("image").to_pylist()
    images[0] = b""
    formats = broken.column("image_format").to_pylist()
    formats[1] = "tiff"
    broken = broken.set_column(broken.schema.get_field_index("image"), "image", pa.array(images, pa.binary()))
    broken = broken.set_column(broken.schema.get_field_index("image_format"), "image_format", pa.array(formats))
    write_table(broken, str(samples / "part-00004.parquet"), "samples")
    duplicated = read_table(str(samples / "part-00000.parquet"), "samples").slice(0, 3)
    write_table(duplicated, str(samples / "part-00006.parquet"), "samples")  # 3 uids twice
    out = tmp_path / "out"
    assert shard(folder, out) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejected"] == {
        "unreadable": 0,
        "missing_image": 1,
        "bad_image_format": 1,
        "duplicate_uid": 3,
        "taken_down": 0,
    }
    assert stats["adds_up"] and stats["samples_in"] == SAMPLES - SAMPLES // FILES + 3
    assert [f["path"] for f in stats["unreadable_files"]] == [str(samples / "part-00005.parquet")]
    uids = index(out).column("uid").to_pylist()
    assert len(uids) == len(set(uids)) == stats["written"]
    assert "WARNING skipped (in stats.json)" in capsys.readouterr().err


def test_shard_bytes_and_base_url(download_dir, tmp_path, capsys):
    out = tmp_path / "bytes"
    assert shard(download_dir, out, "--shard-bytes", "400KB", "--base-url", "gs://bucket/set/") == 0
    manifest = json.loads((out / "manifest.json").read_text())
    mean = manifest["totals"]["bytes"] / manifest["totals"]["shards"]
    assert manifest["totals"]["shards"] > 3 and 0.7 * 400_000 < mean < 1.3 * 400_000
    assert manifest["url_pattern"] == manifest["train_data"] == f"gs://bucket/set/{manifest['pattern']}"
    assert f"--train-data '{manifest['train_data']}'" in capsys.readouterr().out


def test_nothing_to_shard_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "download" / "samples").mkdir(parents=True)
    assert shard(tmp_path / "download", tmp_path / "out") == 2  # a usage error, found before anything is written
    assert "samples/ holds no .parquet file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
