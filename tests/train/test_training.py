"""The trainer end to end on CPU: it learns the synthetic world, resumes exactly after a kill,
runs under torchrun with gloo, and evaluates and exports what it learned."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from wit_builder.cli import main as builder_main
from wit_builder.synthetic.scene_pool import write_templates, write_zeroshot_folder
from wit_builder.train.checkpoints import load_checkpoint, resolve_checkpoint
from wit_builder.train.cli import main as train_main

pytestmark = pytest.mark.slow
TRAIN, VAL = "{000000..000009}.tar", "{000010..000011}.tar"


@pytest.fixture(scope="module")
def inputs(scene_shards, tmp_path_factory):
    root = tmp_path_factory.mktemp("train_inputs")
    assert (
        builder_main(["tokenizer", "--input", str(scene_shards), "--out", str(root / "tok"), "--vocab-size", "2000"])
        == 0
    )
    return {
        "train": f"{scene_shards}/{TRAIN}",
        "val": f"{scene_shards}/{VAL}",
        "tokenizer": str(root / "tok"),
        "zeroshot": str(write_zeroshot_folder(root / "zeroshot", per_class=20, seed=1)),
        "templates": str(write_templates(root / "templates.txt")),
    }


def train_flags(inputs: dict, out: Path, steps: int, batch: int, *extra: str) -> list[str]:
    return [
        "train",
        "--train-data",
        inputs["train"],
        "--tokenizer",
        inputs["tokenizer"],
        "--model",
        "tiny",
        "--batch-size",
        str(batch),
        "--steps",
        str(steps),
        "--lr",
        "1e-3",
        "--warmup",
        "20",
        "--workers",
        "1",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def trained(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("trained")
    flags = train_flags(
        inputs,
        out,
        200,
        32,
        "--log-every-n-steps",
        "20",
        "--save-every-n-steps",
        "100",
        "--val-data",
        inputs["val"],
        "--zeroshot-data",
        inputs["zeroshot"],
        "--templates",
        inputs["templates"],
    )
    assert train_main(flags) == 0
    return out


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_the_tiny_model_learns_the_scenes(trained):
    results = json.loads((trained / "eval.json").read_text())
    chance = 1 / results["n"]
    assert results["n"] >= 300
    assert results["image_to_text_R@1"] >= 5 * chance, results
    assert results["text_to_image_R@1"] >= 5 * chance, results
    assert results["zeroshot_top1"] >= 2 / results["classes"], results
    losses = [m["loss"] for m in metrics(trained) if "loss" in m]
    assert losses[-1] < 0.6 * losses[0], losses


def test_logs_and_checkpoints(trained):
    records = [m for m in metrics(trained) if "loss" in m]
    assert [m["step"] for m in records] == list(range(20, 201, 20))
    for field in ("loss", "logit_scale", "lr", "samples_per_second", "samples_per_second_per_device", "epoch"):
        assert all(field in m for m in records), field
    names = sorted(p.name for p in (trained / "checkpoints").iterdir())
    assert names == ["latest.pt", "step_00000100.pt", "step_00000200.pt"]
    state = load_checkpoint(str(trained / "checkpoints" / "latest.pt"))  # weights_only=True inside
    assert state["step"] == 200 and state["model_name"] == "tiny"
    assert 0 < state["model"]["logit_scale"].exp() <= 100


def test_eval_command_reproduces_the_end_of_training_numbers(trained, inputs, tmp_path, capsys):
    out = tmp_path / "eval.json"
    status = train_main(
        [
            "eval",
            "--checkpoint",
            str(trained),
            "--val-data",
            inputs["val"],
            "--zeroshot-data",
            inputs["zeroshot"],
            "--templates",
            inputs["templates"],
            "--out",
            str(out),
        ]
    )
    assert status == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    written = json.loads(out.read_text())
    assert printed == written and written["step"] == 200
    at_end = json.loads((trained / "eval.json").read_text())
    for key in ("image_to_text_R@1", "text_to_image_R@10", "zeroshot_top1", "zeroshot_top5"):
        assert written[key] == pytest.approx(at_end[key], abs=0.01)


def test_zeroshot_from_shards_with_cls(trained, tmp_path):
    from wit_builder.shard.tar_format import end_of_archive, member

    pieces: list[bytes] = []
    folder = Path(json.loads((trained / "args.json").read_text())["zeroshot_data"])
    for index, path in enumerate(sorted(folder.glob("*/*.jpg"))):
        pieces += member(f"{index:05d}.jpg", path.read_bytes()) + member(f"{index:05d}.cls", path.parent.name.encode())
    (tmp_path / "zs.tar").write_bytes(b"".join(pieces) + end_of_archive(sum(map(len, pieces))))
    from_tar = tmp_path / "a.json"
    assert (
        train_main(
            [
                "eval",
                "--checkpoint",
                str(trained),
                "--zeroshot-data",
                str(tmp_path / "zs.tar"),
                "--templates",
                str(folder.parent / "templates.txt"),
                "--out",
                str(from_tar),
            ]
        )
        == 0
    )
    at_end = json.loads((trained / "eval.json").read_text())
    assert json.loads(from_tar.read_text())["zeroshot_top1"] == pytest.approx(at_end["zeroshot_top1"], abs=0.01)


def test_export_writes_an_open_clip_config_and_matching_weights(trained, tmp_path):
    assert train_main(["export", "--checkpoint", str(trained), "--out", str(tmp_path / "export")]) == 0
    config = json.loads((tmp_path / "export" / "tiny-wit.json").read_text())
    assert set(config) >= {"embed_dim", "vision_cfg", "text_cfg"}
    assert config["vision_cfg"]["image_size"] == 48 and config["text_cfg"]["context_length"] == 77
    weights = torch.load(tmp_path / "export" / "tiny-wit.pt", weights_only=True)
    state = load_checkpoint(resolve_checkpoint(str(trained)))
    assert weights.keys() == state["model"].keys()
    assert weights["token_embedding.weight"].shape[0] == config["text_cfg"]["vocab_size"]
    assert (tmp_path / "export" / "tokenizer.json").read_text() == state["tokenizer_json"]


def test_bad_inputs_are_clear_errors(inputs, tmp_path, capsys):
    assert train_main(train_flags({**inputs, "tokenizer": ""}, tmp_path / "a", 2, 4)) == 2
    assert "--tokenizer is required" in capsys.readouterr().err
    empty = tmp_path / "empty.tar"
    empty.write_bytes(bytes(1024))
    # Shards none of which holds a usable sample: the run could not do its work (exit 1).
    assert train_main(train_flags({**inputs, "train": str(empty)}, tmp_path / "b", 2, 4, "--workers", "0")) == 1
    assert "no sample with an image (jpg/jpeg/png/webp) and a caption (txt)" in capsys.readouterr().err
    assert train_main(["eval", "--checkpoint", str(tmp_path / "nowhere")]) == 2
    assert "give --val-data, --zeroshot-data or both" in capsys.readouterr().err
    (tmp_path / "cut.pt").write_bytes(b"PK\x03\x04 truncated")
    assert train_main(["export", "--checkpoint", str(tmp_path / "cut.pt"), "--out", str(tmp_path / "x")]) == 1
    assert "is not a readable checkpoint" in capsys.readouterr().err
    assert train_main(["export", "--checkpoint", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err
    flags = train_flags({**inputs, "train": str(empty)}, tmp_path / "c", 2, 4)  # the error comes from a worker
    assert train_main(flags) == 1
    err = capsys.readouterr().err.strip()  # the trainer's progress log, then the one error line
    assert "Traceback" not in err and err.splitlines()[-1].startswith("wit-train train: no sample with an image"), err


def test_a_librarys_own_value_error_is_not_a_usage_error(inputs, tmp_path, capsys, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ValueError("math domain error")  # what a library raises, not a flag that cannot be right

    monkeypatch.setattr("wit_builder.train.trainer.cosine_lr", broken)
    assert train_main(train_flags(inputs, tmp_path / "a", 2, 4, "--workers", "0")) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1] == "wit-train train: ValueError: math domain error (--debug shows where)"


def _run(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "wit_builder.train", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_a_killed_run_resumes_exactly_where_it_stopped(inputs, tmp_path):
    common = ["--log-every-n-steps", "1", "--save-every-n-steps", "4", "--accum-freq", "2", "--shuffle-buffer", "50"]
    assert train_main(train_flags(inputs, tmp_path / "whole", 16, 16, *common)) == 0  # uninterrupted, in-process
    killed_out = tmp_path / "killed"
    killed = _run(train_flags(inputs, killed_out, 16, 16, *common, "--resume", "latest"))  # nothing yet: fresh
    deadline = time.monotonic() + 120
    while not (killed_out / "checkpoints" / "step_00000008.pt").exists():
        assert killed.poll() is None and time.monotonic() < deadline, "the run ended before its checkpoint"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    resumed = _run(train_flags(inputs, killed_out, 16, 16, *common, "--resume", "latest"))
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    first, second = metrics(tmp_path / "whole"), metrics(killed_out)
    assert [m["step"] for m in second] == list(range(1, 17))  # no step twice, none missing
    assert [m["batch_keys"] for m in second] == [m["batch_keys"] for m in first]  # no re-seen samples
    for a, b in zip(first, second, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4, abs=1e-5), (a["step"], a["loss"], b["loss"])


def test_torchrun_two_processes_with_gloo(inputs, tmp_path):
    out = tmp_path / "ddp"
    flags = train_flags(inputs, out, 6, 8, "--local-loss", "--gather-with-grad", "--log-every-n-steps", "2")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "wit_builder.train",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    state = load_checkpoint(resolve_checkpoint(str(out)))
    assert state["step"] == 6 and state["data"]["world"] == 2 and len(state["rng"]) == 2
    records = metrics(out)
    assert records[-1]["samples_per_second"] == pytest.approx(
        2 * records[-1]["samples_per_second_per_device"], abs=0.02
    )
    assert "2 x 8 x 1" in result.stderr


def test_open_clip_builds_the_export_and_gives_the_same_embeddings(trained, tmp_path):
    if importlib.util.find_spec("open_clip") is None:
        pytest.skip("make install adds open_clip_torch (without its dependencies)")
    assert train_main(["export", "--checkpoint", str(trained), "--out", str(tmp_path / "export")]) == 0
    here = Path(__file__).parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(here / "torchvision_stub"), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, str(here / "open_clip_parity.py"), str(tmp_path / "export"), str(trained), "tiny-wit"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    differences = json.loads(result.stdout.strip().splitlines()[-1])
    assert differences["image"] < 1e-5 and differences["text"] < 1e-5, differences
    assert differences["logit_scale"][0] == pytest.approx(differences["logit_scale"][1])


def test_bf16_autocast_with_gradient_checkpointing_and_accumulation_trains(inputs, tmp_path):
    flags = train_flags(
        inputs,
        tmp_path,
        3,
        8,
        "--precision",
        "amp_bf16",
        "--grad-checkpointing",
        "--accum-freq",
        "2",
        "--workers",
        "0",
        "--log-every-n-steps",
        "1",
    )
    assert train_main(flags) == 0
    records = metrics(tmp_path)
    assert [m["step"] for m in records] == [1, 2, 3] and all(m["loss"] > 0 for m in records)
    assert load_checkpoint(resolve_checkpoint(str(tmp_path)))["args"]["precision"] == "amp_bf16"


def test_torchcompile_trains(inputs, tmp_path):
    flags = train_flags(
        inputs,
        tmp_path,
        2,
        8,
        "--torchcompile",
        "--torchcompile-mode",
        "default",
        "--workers",
        "0",
        "--log-every-n-steps",
        "1",
    )
    assert train_main(flags) == 0
    assert [m["step"] for m in metrics(tmp_path)] == [1, 2]
    assert load_checkpoint(resolve_checkpoint(str(tmp_path)))["args"]["torchcompile_mode"] == "default"
