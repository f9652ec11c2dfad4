"""Run a command in a wrapper process and report its wall time and peak memory (shared by benchmarks)."""

from __future__ import annotations

import json
import subprocess
import sys

_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
seconds = time.monotonic() - started
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "seconds": seconds, "peak_mib": peak_kib / 1024,
                  "stdout": done.stdout[-2000:], "stderr": done.stderr[-2000:]}))
"""


def measure(command: list[str]) -> dict:
    """``command``'s wall time (``seconds``), the peak memory of its largest process
    (``peak_mib``) and the end of its output; exits with its error output if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, json.dumps(command)], capture_output=True, text=True, check=True
    )
    report = json.loads(result.stdout)
    if report["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{report['stderr']}")
    return report


def median_run(runs: list[dict]) -> dict:
    """Of several ``measure`` results, the one with the median wall time (the lower middle one of
    an even number). On a shared VM one run of either side can be 20% off, so a benchmark's
    ``--repeat N`` runs ours and the peer N times each, alternately, and compares medians."""
    return sorted(runs, key=lambda run: run["seconds"])[(len(runs) - 1) // 2]


def seconds_of(runs: list[dict]) -> str:
    """The wall times of repeated runs, for the benchmark's output."""
    return ", ".join(f"{run['seconds']:.1f}" for run in runs)
