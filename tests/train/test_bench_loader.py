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
            "--image-size", "64", "--stored-size", "96"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^baseline: +[\d,]+ images/s$", done.stdout, re.MULTILINE), done.stdout
    assert re.search(r"^loader_ratio=\d+\.\d{3}$", done.stdout, re.MULTILINE), done.stdout
