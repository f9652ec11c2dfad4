"""benchmarks/bench_match.py runs, on both cases, and its two matchers agree where the rules do."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_match.py"


@pytest.mark.parametrize("case", ["real", "synthetic"])
def test_the_benchmark_prints_its_ratio_and_both_matchers_agree(case):
    if case == "real":
        pytest.importorskip("wordfreq")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--queries", "4000", "--captions", "400", "--case", case],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(rf"^match_speedup_{case}=\d+\.\d{{3}}$", done.stdout, re.MULTILINE), done.stdout
    found = re.search(r"same matches on ([\d,]+) of ([\d,]+)", done.stdout)
    agreed, compared = (int(number.replace(",", "")) for number in found.group(1, 2))
    assert compared > 0 and agreed == compared, done.stdout
