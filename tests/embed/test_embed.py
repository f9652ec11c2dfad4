"""The embed stage: one row per sample, normalised embeddings and their cosine, resumable by
chunk, another model embedding afresh, the same bytes on two worker processes, and every bad
model or evaluation set a one-line error with nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from tests.embed.conftest import SAMPLES, write_checkpoint
from wit_builder.cli import main
from wit_builder.tokenizer.encode import CaptionTokenizer
from wit_builder.train.checkpoints import load_checkpoint, save_checkpoint

HERE = Path(__file__).resolve().parent
STUB = HERE.parent / "train" / "torchvision_stub"


def embed(samples, out, model, *flags) -> int:
    return main(["embed", "--samples", str(samples), "--out", str(out), "--model", str(model),
                 "--chunk-rows", "70", "--batch-size", "16", *flags])  # fmt: skip


def rows(out: Path) -> list[dict]:
    return [row for path in sorted((out / "embeddings").glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def file_digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "embeddings").glob("*.parquet"))}


@pytest.fixture(scope="module")
def embedded(samples_dir, checkpoint, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("embed") / "embed"
    assert embed(samples_dir, out, checkpoint) == 0
    return out


def test_every_sample_gets_normalised_embeddings_and_their_cosine(embedded, samples_dir):
    found = rows(embedded)
    uids = [u for p in sorted((samples_dir / "samples").glob("*.parquet")) for u in pq.read_table(p)["uid"].to_pylist()]
    assert sorted(r["uid"] for r in found) == sorted(uids) and len(found) == SAMPLES
    image = np.array([r["image_emb"] for r in found], np.float32)
    text = np.array([r["text_emb"] for r in found], np.float32)
    assert image.shape == text.shape == (SAMPLES, 128)
    assert np.allclose(np.linalg.norm(image, axis=1), 1, atol=2e-3)
    assert np.allclose(np.linalg.norm(text, axis=1), 1, atol=2e-3)
    scores = np.array([r["clip_score"] for r in found])
    assert np.allclose(scores, (image * text).sum(1), atol=3e-3)  # the cosine before float16 rounding
    assert all(r["error"] is None for r in found)
    schema = pq.read_schema(next((embedded / "embeddings").glob("*.parquet")))
    assert str(schema.field("image_emb").type.value_type) == "halffloat"
    stats = json.loads((embedded / "stats.json").read_text())
    assert stats["adds_up"] and stats["embedded"] == SAMPLES and stats["errors"] == 0
    assert stats["model"]["kind"] == "wit-train" and len(stats["model"]["digest"]) == 16
    assert sum(stats["clip_score"]["histogram"]["counts"]) == SAMPLES


def test_a_rerun_resumes_every_chunk_and_another_model_embeds_afresh(embedded, samples_dir, captions, tmp_path, capsys):
    out = tmp_path / "embed"
    shutil.copytree(embedded, out)
    before = file_digests(out)
    assert embed(samples_dir, out, _checkpoint_of(embedded)) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["chunks_resumed"] == stats["chunks"] and file_digests(out) == before
    other = write_checkpoint(tmp_path / "other", captions, seed=1)
    assert embed(samples_dir, out, other) == 0
    after = json.loads((out / "stats.json").read_text())
    assert after["model"]["digest"] != stats["model"]["digest"] and after["chunks_resumed"] == 0
    assert not set(file_digests(out)) & set(before)  # the other model's chunks are other files; the old ones gone
    assert len(file_digests(out)) == stats["chunks"]


def _checkpoint_of(embedded: Path) -> str:
    name = json.loads((embedded / "stats.json").read_text())["model"]["name"]
    return name[name.index("(") + 1 : -1]


@pytest.mark.slow  # a second run of the stage, on two worker processes
def test_two_worker_processes_write_the_same_bytes(embedded, samples_dir, tmp_path):
    out = tmp_path / "two"
    flags = ("--direct_num_workers=2", "--direct_running_mode=multi_processing")
    assert embed(samples_dir, out, _checkpoint_of(embedded), *flags) == 0
    assert file_digests(out) == file_digests(embedded)


def test_an_undecodable_image_is_a_row_with_its_error(samples_dir, checkpoint, tmp_path):
    broken = tmp_path / "download"
    shutil.copytree(samples_dir, broken)
    first = sorted((broken / "samples").glob("*.parquet"))[0]
    table = pq.read_table(first)
    images = table["image"].to_pylist()
    images[3] = b"not an image at all"
    table = table.set_column(table.schema.get_field_index("image"), "image", [images])
    pq.write_table(table, first)
    assert embed(broken, tmp_path / "embed", checkpoint) == 0
    failed = [r for r in rows(tmp_path / "embed") if r["error"]]
    assert len(failed) == 1 and failed[0]["uid"] == table["uid"][3].as_py()
    assert failed[0]["image_emb"] is None and failed[0]["clip_score"] is None
    assert failed[0]["error"].startswith("decode_error")
    stats = json.loads((tmp_path / "embed" / "stats.json").read_text())
    assert stats["errors"] == 1 and stats["embedded"] == SAMPLES - 1 and stats["adds_up"]


def test_evaluation_sets_are_embedded_beside_the_samples(samples_dir, checkpoint, tmp_path):
    folder = tmp_path / "eval"
    folder.mkdir()
    for i, colour in enumerate([(250, 0, 0), (0, 250, 0), (0, 0, 250)]):
        Image.new("RGB", (40, 30), colour).save(folder / f"e{i}.png")
    (folder / "broken.png").write_bytes(b"no")
    out = tmp_path / "embed"
    assert embed(samples_dir, out, checkpoint, "--eval-sets", f"probe={folder}") == 0
    table = pq.read_table(out / "eval_embeddings" / "probe.parquet")
    assert table["id"].to_pylist() == ["e0.png", "e1.png", "e2.png"]
    vectors = np.array(table["image_emb"].to_pylist(), np.float32)
    assert vectors.shape == (3, 128) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=2e-3)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["eval_sets"]["probe"]["images"] == 3 and stats["eval_sets"]["probe"]["unreadable"]


def _corrupt(tmp_path: Path, checkpoint: Path) -> Path:
    path = tmp_path / "corrupt.pt"
    path.write_bytes(checkpoint.read_bytes()[:5000])
    return path


def _mismatched_tokenizer(tmp_path: Path, checkpoint: Path) -> Path:
    """The checkpoint with a text tower of fewer ids than its tokenizer has."""
    state = load_checkpoint(str(checkpoint))
    state.pop("format")
    fewer = CaptionTokenizer(state["tokenizer_json"]).vocab_size - 10
    state["model_config"]["text_cfg"]["vocab_size"] = fewer
    state["model"]["token_embedding.weight"] = state["model"]["token_embedding.weight"][:fewer]
    return Path(save_checkpoint(state, str(tmp_path / "mismatch"), 0))


def _wrong_width(tmp_path: Path, checkpoint: Path) -> Path:
    """A config that says 64 dimensions over weights of 128."""
    state = load_checkpoint(str(checkpoint))
    state.pop("format")
    state["model_config"]["embed_dim"] = 64
    return Path(save_checkpoint(state, str(tmp_path / "width"), 0))


def _nan_weights(tmp_path: Path, checkpoint: Path) -> Path:
    state = load_checkpoint(str(checkpoint))
    state.pop("format")
    state["model"]["text_projection"] = torch.full_like(state["model"]["text_projection"], float("nan"))
    return Path(save_checkpoint(state, str(tmp_path / "nan"), 0))


BAD_MODELS = {
    "missing": (lambda tmp, ck: tmp / "no-such-model.pt", 2, "no such file or folder"),
    "corrupt": (_corrupt, 1, "is not a readable checkpoint"),
    "tokenizer mismatch": (_mismatched_tokenizer, 2, "do not belong together"),
    "NaN embeddings": (_nan_weights, 1, "NaN or infinite"),
    "wrong embedding width": (_wrong_width, 2, "its weights do not fit its config (size mismatch"),
    # Without torchvision (this venv) open_clip cannot be imported: the curate extra is named instead.
    "unknown open_clip name": (lambda tmp, ck: "NoSuchNet-7", 2, ("nor an open_clip model", "the curate extra")),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_a_bad_model_is_one_line_and_nothing_is_written(case, samples_dir, checkpoint, tmp_path, capsys):
    make, status, words = BAD_MODELS[case]
    model = make(tmp_path, checkpoint)
    out = tmp_path / "embed"
    assert embed(samples_dir, out, model) == status
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and any(w in err[0] for w in ([words] if isinstance(words, str) else words)), err
    assert not list(out.glob("embeddings/*.parquet")) and not (out / "stats.json").exists()


@pytest.mark.parametrize(
    ("spec", "words"),
    [("hashes=/x/hashes.parquet", "has no pixels to embed"), ("empty={empty}", "no readable image")],
)
def test_an_evaluation_set_in_the_wrong_format_is_one_line(spec, words, samples_dir, checkpoint, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "note.png").write_bytes(b"text, not a picture")
    out = tmp_path / "embed"
    assert embed(samples_dir, out, checkpoint, "--eval-sets", spec.format(empty=tmp_path / "empty")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not list(out.glob("embeddings/*.parquet"))


def test_no_model_named_is_a_usage_error(samples_dir, tmp_path, capsys):
    assert main(["embed", "--samples", str(samples_dir), "--out", str(tmp_path / "e")]) == 2
    assert "give --model" in capsys.readouterr().err


def test_an_export_embeds_through_open_clip_as_the_checkpoint_does(embedded, samples_dir, tmp_path):
    """``wit-train export`` then ``embed --model EXPORT``: open_clip builds the model (with the
    stand-in torchvision, as the export test does) and the embeddings match the checkpoint's."""
    from wit_builder.train.export import export

    folder = tmp_path / "export"
    export(_checkpoint_of(embedded), str(folder))
    out = tmp_path / "embed"
    program = str(Path(sys.executable).parent / "wit-builder")
    command = [program, "embed", "--samples", str(samples_dir), "--out", str(out), "--model", str(folder),
               "--chunk-rows", "70", "--batch-size", "16"]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(STUB)}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    stats = json.loads((out / "stats.json").read_text())
    assert stats["model"]["kind"] == "wit-train export"
    mine = {r["uid"]: r for r in rows(embedded)}
    theirs = {r["uid"]: r for r in rows(out)}
    assert mine.keys() == theirs.keys()
    gap = max(abs(np.array(mine[u]["image_emb"]) - np.array(theirs[u]["image_emb"])).max() for u in mine)
    assert gap < 2e-3, gap  # float16 rounding of the same numbers


def test_nan_embeddings_met_inside_a_worker_are_one_line(samples_dir, checkpoint, tmp_path, capsys, monkeypatch):
    """A model that passes the probe and then gives NaN on the samples (inside RunInference, on
    the runner's worker) still fails the stage in one line, and no chunk of it is written."""
    import numpy as np

    from wit_builder.embed import pipeline
    from wit_builder.embed.models import load_embedder

    def nan_after_load(source):
        embedder = load_embedder(source)
        embedder.embed = lambda pixels, texts: (np.full((len(texts), 128), np.nan, np.float32),) * 2
        return embedder

    monkeypatch.setattr(pipeline, "load_embedder", nan_after_load)
    out = tmp_path / "embed"
    assert embed(samples_dir, out, checkpoint) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the model gave NaN or infinite embeddings (first: sample " in err[0], err
    assert not list(out.glob("embeddings/*.parquet")) and not (out / "stats.json").exists()


def test_a_users_file_among_the_embeddings_stops_the_stage_and_nothing_is_removed(
    samples_dir, checkpoint, tmp_path, capsys
):
    out = tmp_path / "embed"
    assert embed(samples_dir, out, checkpoint) == 0
    before = file_digests(out)
    mine = out / "embeddings" / "my-notes.parquet"
    mine.write_bytes(b"a file of the user's")
    assert embed(samples_dir, out, checkpoint, "--batch-size", "8") == 2  # would replace every chunk
    assert "holds embeddings/my-notes.parquet, which the embed stage does not write" in capsys.readouterr().err
    assert mine.read_bytes() == b"a file of the user's"
    assert {k: v for k, v in file_digests(out).items() if k != mine.name} == before
