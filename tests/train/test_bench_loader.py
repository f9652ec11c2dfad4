"""benchmarks/bench_loader.py runs both pipelines on shards it writes and prints the ratio."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_loader.py"


@pytest.mark.slow
def test_the_loader_benchmark_runs_both_pipelines():
    argv = [sys.executable, str(BENCH), "--samples", "192", "--shards", "2", "--batch-size", "16", "--workers", "1",
            "--image-size", "64", "--stored-size", "96", "--online-balance", "--rounds", "2"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^baseline: +[\d,]+ images/s \(runs: [\d,]+, [\d,]+\)$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^loader_ratio=\d+\.\d{3}$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^online_cost=-?\d+\.\d{3} \(rounds: -?\d\.\d{3}, -?\d\.\d{3}\)$", done.stdout, re.M), done.stdout
    assert re.search(r"^floor_ratio=\d+\.\d{3}$", done.stdout, re.MULTILINE), done.stdout


@pytest.mark.slow
def test_the_balancing_comparison_trains_both_sides_and_the_report_shows_it(finished_demo, tmp_path):
    """benchmarks/bench_online_balance.py on a finished demo (a copy: it writes into the run),
    cut to one seed and a few steps: both sides train, the figures are written and the run
    report's training section shows them."""
    import json
    import shutil

    from wit_builder.report.run_page import render_run_report

    runs = tmp_path / "runs"
    shutil.copytree(finished_demo / "runs", runs)
    bench = Path(__file__).parents[2] / "benchmarks" / "bench_online_balance.py"
    argv = [sys.executable, str(bench), "--run", str(runs / "demo" / "run"), "--steps", "4", "--seeds", "0"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads((runs / "demo" / "run" / "online_balance_proof.json").read_text())
    assert set(document["per_seed"]) == {"offline", "online"} and document["seeds"] == [0]
    assert document["coverage"]["online"]["distinct_pairs_drawn_from"] > 0
    assert "Online against offline balancing" in render_run_report(str(runs / "demo" / "run"))
