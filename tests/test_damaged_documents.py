"""The JSON documents between stages are read against their schemas: a file of the right syntax
and the wrong shape (a list, text for a number, NaN, a missing total) is one line naming the file
and what is wrong, never a TypeError or KeyError that names nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.embed.conftest import write_checkpoint
from wit_builder.chain import run_chain
from wit_builder.cli import main
from wit_builder.io.json_files import read_json
from wit_builder.schemas import document_names, document_problem
from wit_builder.synthetic.sample_pool import write_sample_pool


@pytest.fixture(scope="module")
def run(small_world_dir, tmp_path_factory) -> Path:
    """A run of every stage: the chain up to download on the offline world, then a shard and a
    tokenizer over a pool of samples, so each stage's stats.json is the real thing."""
    root = tmp_path_factory.mktemp("documents")
    config = {
        "queries": {"wiki_dump": small_world_dir.wiki_dump_glob, "min_bigram_pmi": 12},
        "harvest": {"pairs": str(small_world_dir.pairs_dir / "*")},
    }
    run_chain(config, str(root / "run"))  # download keeps nothing offline, and fails: shard is made below
    # Its files as a stage command run by hand would leave them (no run markers): the report reads
    # the stats of such a folder; those of a failed stage it does not show at all.
    (root / "run" / "download" / "_RUNNING").unlink()
    shutil.rmtree(root / "run" / "shard", ignore_errors=True)
    pool = write_sample_pool(root / "pool", 60, files=2, seed=4, image_size=32)
    assert main(["shard", "--samples", str(pool), "--out", str(root / "run" / "shard")]) == 0
    assert main(["tokenizer", "--input", str(root / "run" / "shard"), "--out", str(root / "run" / "tokenizer"),
                 "--vocab-size", "600"]) == 0  # fmt: skip
    captions = [
        text
        for path in sorted((pool / "samples").glob("*.parquet"))
        for text in pq.read_table(path)["text"].to_pylist()
    ]
    model = write_checkpoint(root / "model", captions)
    assert main(["embed", "--samples", str(pool), "--out", str(root / "run" / "embed"), "--model", str(model)]) == 0
    assert main(["curate", "--embeddings", str(root / "run" / "embed"), "--out", str(root / "run" / "curate")]) == 0
    return root / "run"


DOCUMENTS = {
    **{f"stats.{stage}": f"{stage}/stats.json" for stage in ("queries", "harvest", "balance", "download", "embed",
                                                             "curate", "shard", "tokenizer")},
    "manifest": "shard/manifest.json",
    "sizes": "shard/sizes.json",
}  # fmt: skip


def test_every_document_the_stages_write_fits_its_schema(run):
    assert set(document_names()) == {*DOCUMENTS, "eval", "recheck"}  # recheck.json: tests/shard/test_recheck.py
    for schema, relative in DOCUMENTS.items():
        assert document_problem(read_json(str(run / relative)), schema) is None, relative


def damaged(document: dict, how: str, schema: str) -> str:
    """The text of ``document`` damaged in one way a person or a tool could damage it: in its
    schema's first required key (a count, or the manifest's totals)."""
    from importlib.resources import files

    if how == "a list":
        return json.dumps([document])
    changed = dict(document)
    key = json.loads((files("wit_builder.schema_files.documents") / f"{schema}.json").read_text())["required"][0]
    if how == "text for a number":
        changed[key] = "many" if key != "totals" else {**changed[key], "samples": "many"}
    elif how == "NaN":
        changed[key] = float("nan") if key != "totals" else {**changed[key], "bytes": float("nan")}
    elif how == "a total missing":
        del changed[key]
    return json.dumps(changed)


HOW = ("a list", "text for a number", "NaN", "a total missing", "not UTF-8")
CASES = [(schema, how) for schema in DOCUMENTS if schema != "sizes" for how in HOW]


@pytest.mark.parametrize(("schema", "how"), CASES, ids=[f"{s}-{h}" for s, h in CASES])
def test_report_names_a_damaged_document_and_what_is_wrong(schema, how, run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / DOCUMENTS[schema]
    if how == "not UTF-8":
        path.write_bytes(b'{"kept": "\xff\xfe"}')
    else:
        path.write_text(damaged(json.loads(path.read_text()), how, schema))
    assert main(["report", str(copy)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{path}: " in err and "Traceback" not in err, err
    assert not any(name in err for name in ("TypeError", "KeyError", "AttributeError")), err


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("command", ["verify", "takedown", "report"])
def test_a_damaged_manifest_is_named_by_every_command_that_reads_it(command, how, run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    manifest = copy / "shard" / "manifest.json"
    if how == "not UTF-8":
        manifest.write_bytes(b"\xff\xfe{}")
    else:
        manifest.write_text(damaged(json.loads(manifest.read_text()), how, "manifest"))
    assert main(reading(command, copy, tmp_path)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{manifest}: " in err, err


def reading(command: str, run: Path, tmp_path: Path) -> list[str]:
    """The command line of ``command`` reading the shard set of ``run``."""
    (tmp_path / "uids.txt").write_text("nobody\n")
    return {
        "verify": ["verify", str(run / "shard")],
        "takedown": ["takedown", str(run / "shard"), "--uids", str(tmp_path / "uids.txt"), "--reason", "r"],
        "report": ["report", str(run)],
    }[command]


@pytest.mark.parametrize("command", ["verify", "takedown"])  # an English-only run's report reads no index
def test_a_corrupt_shard_index_is_named(command, run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    index = next((copy / "shard").glob("0*.parquet"))
    index.write_bytes(index.read_bytes()[:300])
    status = main(reading(command, copy, tmp_path))
    err = capsys.readouterr().err.strip()
    assert status == 1 and len(err.splitlines()) == 1 and str(index) in err, err


def test_a_takedown_request_that_is_not_utf8_names_its_line(run, tmp_path, capsys):
    request = tmp_path / "urls.txt"
    request.write_bytes(b"http://ok.test/a.jpg\nhttp://x.test/\xff\xfe.jpg\n")
    assert main(["takedown", str(run / "shard"), "--urls", str(request), "--reason", "r"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--urls {request}: line 2 is not UTF-8 (byte 0xff at column 15)" in err and len(err.splitlines()) == 1


def test_nan_is_never_read_as_a_number(tmp_path):
    from wit_builder.errors import DamagedFile

    path = tmp_path / "x.json"
    path.write_text('{"n": NaN}')
    with pytest.raises(DamagedFile, match=r"x.json: not JSON \(ValueError: NaN is not a number JSON allows\)"):
        read_json(str(path))


def test_a_document_of_the_wrong_shape_is_never_written(tmp_path):
    """Every stage's stats.json, the manifest and sizes.json are checked against their schemas
    when written, as they are when read: a wrong shape is an error naming the file, and no file."""
    import pytest

    from wit_builder.io.json_files import write_json

    with pytest.raises(ValueError, match=r"stats\.json: not written, it would not fit its schema"):
        write_json(str(tmp_path / "stats.json"), {"kept": "many"}, schema="stats.harvest")
    assert not list(tmp_path.iterdir())
