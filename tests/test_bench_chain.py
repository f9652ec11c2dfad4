"""benchmarks/bench_chain.py runs every stage at two small sizes and prints the curve's figures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_chain.py"


@pytest.mark.slow
def test_the_cost_curve_runs_each_stage_and_writes_its_plot(tmp_path):
    pytest.importorskip("wordfreq")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "2e4,4e4", "--downloads", "200,400", "--queries", "20000",
         "--keep", str(tmp_path / "work"), "--svg", str(tmp_path / "curve.svg")],
        capture_output=True, text=True, timeout=600, cwd=BENCH.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for stage in ("harvest", "balance", "shard", "download"):
        lines = re.findall(rf"^  {stage} +([\d,]+) pairs in .* µs/pair", done.stdout, re.MULTILINE)
        assert len(lines) == 2 and all(int(n.replace(",", "")) > 0 for n in lines), done.stdout
        assert re.search(rf"^{stage} +\d+\.\d\d \(2 sizes\)", done.stdout, re.MULTILINE), done.stdout
    svg = (tmp_path / "curve.svg").read_text()
    assert svg.count("<polyline") == 4 and "harvest" in svg
