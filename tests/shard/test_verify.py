"""``wit-builder verify`` passes a good set and names what is wrong with a bad one."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pytest

from wit_builder.cli import main
from wit_builder.schemas import read_table, write_table


@pytest.fixture
def copy(shard_dir, tmp_path):
    target = tmp_path / "set"
    shutil.copytree(shard_dir, target, ignore=shutil.ignore_patterns("work", "report"))
    return target


@pytest.mark.parametrize("form", ["folder", "manifest", "pattern"])
def test_a_good_set_passes(shard_dir, form, capsys):
    manifest = json.loads((shard_dir / "manifest.json").read_text())
    spec = {"folder": str(shard_dir), "manifest": str(shard_dir / "manifest.json"), "pattern": manifest["train_data"]}[
        form
    ]
    assert main(["verify", spec]) == 0
    out = capsys.readouterr().out
    assert "every check passed" in out and f"{manifest['totals']['samples']:,} samples" in out


def test_a_truncated_tar_is_named_with_the_offset(copy, capsys):
    tar = copy / "000001.tar"
    tar.write_bytes(tar.read_bytes()[:50_000])
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "000001.tar: damaged at byte 50,000" in out and "truncated" in out
    assert "size is 50000; the manifest says" in out


def test_a_corrupt_image_fails_to_decode(copy, capsys):
    tar = copy / "000002.tar"
    raw = bytearray(tar.read_bytes())
    raw[512 + 200 : 512 + 1200] = bytes(1000)  # inside the first sample's JPEG data
    tar.write_bytes(bytes(raw))
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert ".jpg does not decode" in out or "sha256 is" in out
    assert "000002.tar: sha256 is" in out


def test_json_must_agree_with_the_index(copy, capsys):
    path = str(copy / "000000.parquet")
    table = read_table(path, "shard_index")
    urls = table.column("url").to_pylist()
    urls[3] = "http://elsewhere.example/x.jpg"
    write_table(table.set_column(table.schema.get_field_index("url"), "url", pa.array(urls)), path, "shard_index")
    assert main(["verify", str(copy), "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert not result["ok"] and any("disagrees with the index on url" in e["error"] for e in result["errors"])


def test_keys_must_be_unique_across_the_set(copy, capsys):
    (copy / "manifest.json").unlink()
    shutil.copy(copy / "000000.tar", copy / "000099.tar")
    shutil.copy(copy / "000000.parquet", copy / "000099.parquet")
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "no manifest found" in out and "appears 2 times, in 000000.tar, 000099.tar" in out


def test_quick_checks_sums_and_a_missing_shard(copy, capsys):
    assert main(["verify", str(copy), "--quick"]) == 0
    capsys.readouterr()
    (copy / "000003.tar").unlink()
    tar = copy / "000004.tar"
    raw = bytearray(tar.read_bytes())
    raw[-20_000] ^= 1
    tar.write_bytes(bytes(raw))
    assert main(["verify", str(copy), "--quick", "--json"]) == 1
    errors = {e["shard"].rsplit("/", 1)[-1]: e["error"] for e in json.loads(capsys.readouterr().out)["errors"]}
    assert errors["000003.tar"].startswith("missing") and errors["000004.tar"].startswith("sha256 is")


def test_nothing_to_verify_is_a_clear_error(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "no manifest.json and no .tar file" in capsys.readouterr().err
