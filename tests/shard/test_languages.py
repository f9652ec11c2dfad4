"""A worldwide collection's caption language reaches the shards: each sample's KEY.json and
index row carry ``lang``, verify agrees, and samples without it give shards without it."""

from __future__ import annotations

import json
import shutil
import tarfile

import pyarrow as pa
import pyarrow.parquet as pq

from tests.shard.conftest import shard
from wit_builder.cli import main

LANGS = ("de", "zh", "he")


def with_languages(download_dir, tmp_path):
    copy = tmp_path / "download"
    shutil.copytree(download_dir, copy)
    for path in sorted((copy / "samples").glob("*.parquet")):
        table = pq.read_table(path)
        langs = pa.array([LANGS[hash(uid) % 3] for uid in table.column("uid").to_pylist()], pa.string())
        pq.write_table(table.append_column("lang", langs), path)  # the samples schema's last column
    return copy


def test_language_reaches_key_json_and_the_index(download_dir, tmp_path):
    samples = with_languages(download_dir, tmp_path)
    wanted = {
        uid: lang
        for path in (samples / "samples").glob("*.parquet")
        for uid, lang in zip(*pq.read_table(path, columns=["uid", "lang"]).to_pydict().values(), strict=True)
    }
    out = tmp_path / "shards"
    assert shard(samples, out) == 0
    index = pq.read_table(next(out.glob("*.parquet")), columns=["key", "uid", "lang"]).to_pylist()
    assert index and all(row["lang"] == wanted[row["uid"]] for row in index)
    tar_path = next(out.glob("*.tar"))
    with tarfile.open(tar_path) as tar:
        documents = [json.load(tar.extractfile(m)) for m in tar.getmembers() if m.name.endswith(".json")]
    assert documents and all(doc["lang"] == wanted[doc["uid"]] for doc in documents)
    assert main(["verify", str(out)]) == 0


def test_samples_without_a_language_give_shards_without_one(shard_dir):
    index = next(shard_dir.glob("*.parquet"))
    assert "lang" not in pq.read_schema(index).names
    with tarfile.open(next(shard_dir.glob("*.tar"))) as tar:
        document = json.load(tar.extractfile(next(m for m in tar.getmembers() if m.name.endswith(".json"))))
    assert "lang" not in document


def test_the_final_cap_is_per_language(download_dir, tmp_path):
    samples = with_languages(download_dir, tmp_path)
    out = tmp_path / "capped"
    assert shard(samples, out, "--per-query", "15") == 0
    stats = json.loads((out / "stats.json").read_text())
    languages = stats["queries"]["languages"]
    assert set(languages) == set(LANGS) and all(info["t"] == 15 for info in languages.values())  # no English
    report = pq.read_table(out / "report" / "balance.parquet").to_pylist()
    assert {row["lang"] for row in report} == set(LANGS)
    capped = [row for row in report if row["p_keep"] < 1.0]
    assert capped and all(row["p_keep"] == 15 / row["matched"] for row in capped)
    # The same query in two languages is two entries, each counted in its own language's samples.
    index_rows = [row for path in out.glob("*.parquet") for row in pq.read_table(path).to_pylist()]
    kept = {}
    for row in index_rows:
        for match in row["matches"]:
            kept[(row["lang"], match)] = kept.get((row["lang"], match), 0) + 1
    assert all(kept.get((row["lang"], row["query"]), 0) == row["kept"] for row in report)
