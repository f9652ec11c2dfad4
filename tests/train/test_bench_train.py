"""benchmarks/bench_train.py on the CPU with the tiny model: every lever flag, both kinds of
data, the profile summary and the JSON line the sweep reads."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from wit_builder.train.configs import model_config
from wit_builder.train.flops import step_flops

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_train.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_train", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_bench(tmp_path: Path, *flags: str) -> tuple[str, dict]:
    out = tmp_path / "results.jsonl"
    argv = [
        sys.executable,
        str(BENCH),
        "--model",
        "tiny",
        "--batch-size",
        "8",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--json",
        str(out),
        *flags,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text().splitlines()[-1])


def test_synthetic_tensors_with_a_profile_by_kind_of_work(tmp_path):
    stdout, result = run_bench(tmp_path, "--profile", "1")
    assert "samples/s" in stdout and "no known peak for cpu" in stdout
    assert "where the time of 1 step(s) goes" in stdout and "aten::" in stdout
    assert "| matrix products (GEMM) |" in result["profile_summary"]
    assert result["data"] == "synthetic" and result["samples_per_second"] > 0 and result["mfu"] is None
    assert result["train_gflops_per_sample"] == round(step_flops(model_config("tiny"), 8).train / 1e9, 3)
    assert result["peak_memory_gib"] is None and result["host_syncs_per_step"] is None  # GPU-only readings
    assert (result["warmup_steps"], result["steps_timed"]) == (1, 2)


def test_photo_shards_and_the_lever_flags(tmp_path):
    flags = ["--data", "photo", "--photo-samples", "48", "--stored-size", "96", "--workers", "0"]
    stdout, result = run_bench(tmp_path, *flags, "--grad-checkpointing", "--sdpa", "math", "--no-fused-adamw")
    assert stdout.startswith("tiny on cpu (fp32, batch 8, eager, SDPA math, grad checkpointing; photo shards)")
    assert result["data"] == "photo shards" and result["stored_size"] == 96
    assert result["grad_checkpointing"] and result["sdpa"] == "math" and not result["fused_adamw"]
    assert result["final_loss"] > 0


def test_a_compile_mode_implies_compile():
    bench = load_bench()
    assert bench.parse_args(["--compile-mode", "reduce-overhead"]).compile
    eager = bench.parse_args([])
    assert not eager.compile and eager.compile_mode == "default"


@pytest.mark.slow
def test_real_shards_through_the_trainers_stream(scene_shards, tmp_path):
    _, result = run_bench(tmp_path, "--data", str(scene_shards), "--workers", "0")
    assert result["data"] == "shards" and result["samples_per_second"] > 0


@pytest.mark.slow
def test_compiled(tmp_path):
    stdout, result = run_bench(tmp_path, "--compile")
    assert "compiled" in stdout and result["compile"] and result["compile_mode"] == "default"
    assert result["final_loss"] > 0
