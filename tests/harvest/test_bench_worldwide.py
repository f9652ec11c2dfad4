"""benchmarks/bench_worldwide.py runs on a few languages: the matcher agrees with the brute-force
reference in every caption, and every figure it promises is printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "benchmarks" / "bench_worldwide.py"


def test_the_benchmark_agrees_with_brute_force_and_prints_its_figures():
    pytest.importorskip("wordfreq")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--queries-per-language", "800", "--captions-per-language", "60",
         "--harvest-captions", "300", "--memory-entries", "30000", "--languages", "en,zh,he"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = re.findall(r"^(en|zh|he) .* (\d+) +(\d\.\d{3})", done.stdout, re.MULTILINE)
    assert {lang for lang, _, _ in rows} == {"en", "zh", "he"}
    assert all(disagree == "0" for _, disagree, _ in rows), done.stdout
    assert re.search(r"^zh .* 0\.\d{3} +0\.\d{3}$", done.stdout, re.MULTILINE)  # segmenter agreement
    assert re.search(r"worldwide_match_speedup=\d+\.\d{2}", done.stdout)
    assert re.search(r"harvest_worldwide_ratio=(\d+\.\d{2}|n/a)", done.stdout)  # n/a: too few captions to time
    assert re.search(r"MiB per million", done.stdout)
