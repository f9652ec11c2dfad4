"""The shard stage's release files: ``croissant.json`` validates with mlcroissant and its records
read through the indexes (and its images out of the tars), ``README.md`` is a dataset card by
which ``datasets.load_dataset`` loads the folder with no other argument, both follow a
takedown, and a new licence rewrites them without touching a tar."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.shard.conftest import shard
from wit_builder.cli import main


@pytest.fixture(scope="module")
def released(download_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("released") / "wit-demo-set"
    flags = ["--license", "cc-by-4.0", "--citation", "@misc{wit, title={A test set}}"]
    assert shard(download_dir, out, *flags) == 0
    return out


@pytest.fixture(scope="module")
def mlcroissant(tmp_path_factory):
    os.environ.setdefault("CROISSANT_CACHE", str(tmp_path_factory.mktemp("croissant-cache")))
    import mlcroissant

    return mlcroissant


def index_keys(folder: Path) -> list[str]:
    return [key for path in sorted(folder.glob("0*.parquet")) for key in pq.read_table(path)["key"].to_pylist()]


def card_header(folder: Path) -> dict:
    text = (folder / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def test_croissant_validates_and_its_records_read_through_the_indexes(released, mlcroissant):
    dataset = mlcroissant.Dataset(jsonld=str(released / "croissant.json"))
    assert not dataset.metadata.ctx.issues.errors
    keys = [record["samples/key"].decode() for record in dataset.records(record_set="samples")]
    assert keys == index_keys(released)
    for number, record in enumerate(dataset.records(record_set="images")):
        assert record["images/key"].decode() in set(keys) and record["images/image"].size == (48, 48)
        if number == 3:
            break
    document = json.loads((released / "croissant.json").read_text())
    assert document["license"] == "cc-by-4.0" and document["citeAs"].startswith("@misc")
    assert document["version"] == "1.0.0" and "url" not in document  # not served yet: no URL is made up
    files = {entry["name"]: entry for entry in document["distribution"] if entry["@type"] == "cr:FileObject"}
    for name, entry in files.items():  # every tar and index, with its real sum and size
        data = (released / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["contentSize"] == f"{len(data)} B"
    assert {name for name in files} == {p.name for p in released.glob("0*") if p.suffix in (".tar", ".parquet")}
    for field in ("rai:dataCollection", "rai:dataPreprocessingProtocol", "rai:personalSensitiveInformation",
                  "rai:dataBiases", "rai:dataLimitations"):  # fmt: skip
        assert document[field], field
    assert str(released.parent) not in json.dumps(document)  # no path of this machine is published


def test_the_card_loads_the_folder_with_datasets_alone(released, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    loaded = datasets.load_dataset(str(released))
    manifest = json.loads((released / "manifest.json").read_text())
    assert loaded["train"].num_rows == manifest["totals"]["samples"]
    row = loaded["train"][0]
    assert row["__key__"] in set(index_keys(released)) and row["jpg"].size == (48, 48) and row["txt"]
    header = card_header(released)
    assert header["license"] == "cc-by-4.0" and header["size_categories"] == ["1K<n<10K"]
    assert header["configs"][0]["data_files"][0]["split"] == "train"


def test_a_takedown_updates_both_files(released, tmp_path, mlcroissant):
    folder = tmp_path / "set"
    shutil.copytree(released, folder)
    victims = index_keys(folder)[:3]
    uids = [row["uid"] for row in pq.read_table(sorted(folder.glob("0*.parquet"))[0]).to_pylist()[:3]]
    listed = tmp_path / "uids.txt"
    listed.write_text("\n".join(uids) + "\n")
    assert main(["takedown", str(folder), "--uids", str(listed), "--reason", "request #1"]) == 0
    document = json.loads((folder / "croissant.json").read_text())
    tar = next(e for e in document["distribution"] if e["name"] == "000000.tar")
    assert tar["sha256"] == hashlib.sha256((folder / "000000.tar").read_bytes()).hexdigest()
    dataset = mlcroissant.Dataset(jsonld=str(folder / "croissant.json"))
    keys = [record["samples/key"].decode() for record in dataset.records(record_set="samples")]
    assert not set(keys) & set(victims) and len(keys) == len(index_keys(released)) - 3
    card = (folder / "README.md").read_text(encoding="utf-8")
    assert f"{len(keys):,} image-text pairs" in card and "Takedowns so far: 1" in card
    assert main(["verify", str(folder)]) == 0


def test_a_new_licence_rewrites_the_release_files_and_no_tar(released, download_dir, tmp_path, capsys):
    folder = tmp_path / "set"
    shutil.copytree(released, folder)
    tars = {p.name: p.stat().st_mtime_ns for p in folder.glob("0*.tar")}
    assert shard(download_dir, folder, "--license", "https://example.org/terms") == 0
    assert "up to date" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("0*.tar")} == tars
    assert json.loads((folder / "croissant.json").read_text())["license"] == "https://example.org/terms"
    header = card_header(folder)
    assert header["license"] == "other" and header["license_link"] == "https://example.org/terms"
    assert json.loads((folder / "manifest.json").read_text())["release"]["license"] == "https://example.org/terms"
