"""benchmarks/bench_train_sweep.py: its plan is valid bench_train flags, it resumes where a
limited command stopped, and its report checks the goals against what was measured."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"
SWEEP = BENCHMARKS / "bench_train_sweep.py"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_case_is_a_valid_bench_train_command_against_a_case_of_the_plan():
    sweep, bench = load("bench_train_sweep"), load("bench_train")
    cases = sweep.plan_cases("all", ["ViT-B-32", "ViT-B-16"], 256, 14)
    names = [c.name for c in cases]
    assert len(names) == len(set(names)) == 16
    for case in cases:
        args = bench.parse_args(list(case.argv))
        assert args.model == case.name.split("/")[0]
        assert case.reference is None or case.reference in names
        assert (args.data == "photo") == case.name.endswith("/shards")
    by_name = {c.name: bench.parse_args(list(c.argv)) for c in cases}
    assert by_name["ViT-B-16/compiled reduce-overhead (CUDA graphs)/synthetic"].compile_mode == "reduce-overhead"
    assert by_name["ViT-B-16/compiled grad checkpointing batch 1024/synthetic"].batch_size == 1024
    assert by_name["ViT-B-16/compiled/shards"].workers == 14
    assert [c.name for c in sweep.plan_cases("core", ["tiny"], 8, 1)] == [
        "tiny/eager/synthetic",
        "tiny/compiled/synthetic",
        "tiny/compiled/shards",
        "tiny/eager/shards",
    ]


def result(case: str, samples: float, mfu: float | None, data: str = "synthetic", reference: str | None = None):
    return {
        "case": case,
        "reference": reference,
        "model": case.split("/")[0],
        "data": data,
        "mfu": mfu,
        "samples_per_second": samples,
        "batch_size": 256,
        "step_ms": 256_000 / samples,
        "achieved_tflops": 400.0,
        "peak_memory_gib": 30.5,
        "host_syncs_per_step": 0,
        "workers": 14 if data != "synthetic" else 0,
        "warmup_steps": 10,
        "steps_timed": 30,
        "precision": "amp_bf16",
        "date": "2026-11-23",
        "device": "NVIDIA H100 80GB HBM3",
        "torch": "2.11.0",
    }


def test_the_report_checks_both_goals_from_the_figures_it_is_given():
    sweep = load("bench_train_sweep")
    results = [
        result("ViT-B-16/eager/synthetic", 2000.0, 0.30),
        result("ViT-B-16/compiled/synthetic", 3000.0, 0.46, reference="ViT-B-16/eager/synthetic"),
        result("ViT-B-16/compiled/shards", 2400.0, None, "photo shards", "ViT-B-16/compiled/synthetic"),
        {"case": "ViT-B-16/compiled batch 1024/synthetic", "error": "CUDA out of memory"},
    ]
    report = sweep.render(results, "ViT-B-16")
    assert "### 2026-11-23, NVIDIA H100 80GB HBM3, torch 2.11.0" in report
    assert "best case `ViT-B-16/compiled/synthetic`: **0.460** (goal ≥ 0.45: met)" in report
    assert "shards give **0.80** of `ViT-B-16/compiled/synthetic`'s samples/s (goal ≥ 0.9: NOT met" in report
    assert "| 1.50× `ViT-B-16/eager/synthetic` |" in report
    assert "failed: CUDA out of memory" in report
    unmeasured = sweep.render([result("tiny/eager/synthetic", 100.0, None)], "tiny")
    assert "tiny MFU on synthetic tensors: not measured" in unmeasured


def test_no_case_starts_without_a_minute_of_budget(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(SWEEP),
            "--models",
            "tiny",
            "--budget-s",
            "30",
            "--results",
            str(tmp_path / "r.jsonl"),
            "--markdown",
            str(tmp_path / "r.md"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "budget of 30 s spent: 13 case(s) left; run again to go on" in done.stdout
    assert not (tmp_path / "r.jsonl").exists() and "not measured" in (tmp_path / "r.md").read_text()


@pytest.mark.slow
def test_a_sweep_runs_its_cases_then_skips_them_when_run_again(tmp_path):
    argv = [sys.executable, str(SWEEP), "--models", "tiny", "--batch-size", "8", "--workers", "0",
            "--only", "*/eager/*", "--extra", "--steps 2 --warmup 1 --photo-samples 48 --stored-size 96",
            "--results", str(tmp_path / "r.jsonl"), "--markdown", str(tmp_path / "r.md")]  # fmt: skip
    first = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "2 case(s), 0 already in" in first.stdout
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["case"] for r in lines] == ["tiny/eager/synthetic", "tiny/eager/shards"]
    assert all("error" not in r and r["samples_per_second"] > 0 for r in lines)
    report = (tmp_path / "r.md").read_text()
    assert "| `tiny/eager/shards` | 8 |" in report and "of `tiny/eager/synthetic`'s samples/s" in report
    assert "Where a step of `tiny/eager/synthetic` goes (5 steps profiled)" in report
    again = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert "2 case(s), 2 already in" in again.stdout
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 2
