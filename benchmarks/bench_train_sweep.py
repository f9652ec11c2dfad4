"""Every training-speed figure the trainer issue asks for, in one command on a GPU machine.

    python benchmarks/bench_train_sweep.py [--plan core|levers|all] [--results results.jsonl]
                                           [--markdown results.md] [--budget-s 540] [--workers N]
                                           [--models ViT-B-32 ViT-B-16] [--batch-size 256]
                                           [--only PATTERN ...] [--extra "ARGS"] [--list]

Runs ``bench_train.py`` once per case, each in its own process (a fresh CUDA context, compile
cache and allocator, so one case's memory or compiled graphs cannot colour the next), appends
each result to ``--results`` with its case name, and skips cases already there: when a machine
limits one command's time, run the same command again (with the results file carried back) and
it goes on where it stopped. ``--budget-s`` bounds the whole command: a case gets what is left
of it (at most ``--case-timeout``), and none starts with less than a minute left. A case that
failed (out of memory, say) is kept with its error and not run again unless ``--retry-failed``.

- **core**: for each of ``--models``, eager and compiled on synthetic tensors and compiled on
  photo-like shards through the trainer's data stream (``--data photo``, ``--workers`` workers);
  the largest model eager on shards too. The largest model's synthetic cases are profiled.
- **levers** (the largest model, each against the case it changes): batch ×½, ×2; compile modes
  ``max-autotune-no-cudagraphs`` and ``reduce-overhead`` (CUDA graphs); SDPA's math kernel
  instead of flash; the multi-tensor AdamW instead of the fused one; gradient checkpointing at
  the same batch (its cost) and at ×4 the batch (what it buys); fp32 instead of bf16.

Then it writes ``--markdown``: the table (samples/s, step time, MFU, peak memory, host syncs,
speed against the case each lever changes), the two goals checked (the largest model's best MFU
on synthetic tensors ≥ 0.45; shards ≥ 0.90 of synthetic tensors, same model and levers), and
each profiled case's breakdown. ``--render-only`` rewrites it from ``--results`` alone.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).with_name("bench_train.py")
ROOT = Path(__file__).resolve().parents[1]  # on PYTHONPATH for each case: no install needed on a GPU machine
MFU_GOAL = 0.45
SHARDS_GOAL = 0.90


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    reference: str | None = None  # the case this one changes one lever of


def plan_cases(plan: str, models: list[str], batch: int, workers: int) -> list[Case]:
    """The cases of ``plan`` (core, levers or all), named ``MODEL/levers/data``."""
    cases: list[Case] = []
    photo = ("--data", "photo", "--workers", str(workers))
    largest = models[-1]
    if plan in ("core", "all"):
        for model in models:
            base = ("--model", model, "--batch-size", str(batch))
            profile = ("--profile", "5") if model == largest else ()
            cases += [
                Case(f"{model}/eager/synthetic", base + profile),
                Case(f"{model}/compiled/synthetic", (*base, "--compile", *profile), f"{model}/eager/synthetic"),
                Case(f"{model}/compiled/shards", (*base, "--compile", *photo), f"{model}/compiled/synthetic"),
            ]
        base = ("--model", largest, "--batch-size", str(batch))
        cases.append(Case(f"{largest}/eager/shards", base + photo, f"{largest}/eager/synthetic"))
    if plan in ("levers", "all"):
        eager, compiled = f"{largest}/eager/synthetic", f"{largest}/compiled/synthetic"

        def lever(name: str, reference: str, *argv: str, size: int = batch) -> Case:
            return Case(
                f"{largest}/{name}/synthetic", ("--model", largest, "--batch-size", str(size), *argv), reference
            )

        cases += [
            lever(f"compiled batch {batch // 2}", compiled, "--compile", size=batch // 2),
            lever(f"compiled batch {batch * 2}", compiled, "--compile", size=batch * 2),
            lever("compiled max-autotune-no-cudagraphs", compiled, "--compile-mode", "max-autotune-no-cudagraphs"),
            lever("compiled reduce-overhead (CUDA graphs)", compiled, "--compile-mode", "reduce-overhead"),
            lever("eager SDPA math", eager, "--sdpa", "math"),
            lever("eager multi-tensor AdamW", eager, "--no-fused-adamw"),
            lever("compiled grad checkpointing", compiled, "--compile", "--grad-checkpointing"),
            lever(
                f"compiled grad checkpointing batch {batch * 4}",
                compiled,
                "--compile",
                "--grad-checkpointing",
                size=batch * 4,
            ),
            lever("eager fp32", eager, "--precision", "fp32"),
        ]
    return cases


def read_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_case(case: Case, extra: list[str], timeout: float) -> dict:
    """One ``bench_train.py`` run in its own process; a failure is a result that says why."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.jsonl"
        argv = [sys.executable, str(BENCH), *case.argv, *extra, "--json", str(out)]
        started = time.monotonic()
        try:
            path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
            env = {**os.environ, "PYTHONPATH": path}
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"case": case.name, "error": f"ran past {timeout:.0f} s", "argv": argv[2:]}
        seconds = round(time.monotonic() - started, 1)
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return {"case": case.name, "error": " | ".join(tail) or f"exit {done.returncode}", "argv": argv[2:]}
        result = json.loads(out.read_text().splitlines()[-1])
    return {"case": case.name, "reference": case.reference, "wall_s": seconds, "argv": argv[2:], **result}


def goals(results: dict[str, dict], largest: str) -> list[str]:
    """The issue's two goals, checked against what was measured (or said to be unmeasured)."""
    lines = []
    synthetic = [
        r
        for r in results.values()
        if r.get("model") == largest and r.get("data") == "synthetic" and r.get("mfu") is not None
    ]
    if synthetic:
        best = max(synthetic, key=lambda r: r["mfu"])
        verdict = "met" if best["mfu"] >= MFU_GOAL else "NOT met"
        lines.append(
            f"- {largest} MFU on synthetic tensors, best case `{best['case']}`: **{best['mfu']:.3f}** "
            f"(goal ≥ {MFU_GOAL}: {verdict})."
        )
    else:
        lines.append(f"- {largest} MFU on synthetic tensors: not measured (no GPU result with a known peak).")
    for name, result in sorted(results.items()):
        if "shards" not in result.get("data", "") or "error" in result:
            continue
        reference = results.get(result.get("reference") or "")
        if not reference or "error" in reference:
            continue
        ratio = result["samples_per_second"] / reference["samples_per_second"]
        verdict = "met" if ratio >= SHARDS_GOAL else "NOT met"
        lines.append(
            f"- `{name}`: shards give **{ratio:.2f}** of `{reference['case']}`'s samples/s "
            f"(goal ≥ {SHARDS_GOAL}: {verdict}; data workers: {result['workers']})."
        )
    return lines


def tflops(value: float) -> str:
    return f"{value:.1f}" if value >= 10 else f"{value:.3f}"


def render(results: list[dict], largest: str) -> str:
    """The Markdown section for ``benchmarks/RESULTS.md``."""
    by_name = {r["case"]: r for r in results}
    measured = [r for r in results if "error" not in r]
    first = measured[0] if measured else {}
    steps = sorted({(str(r.get("warmup_steps", "?")), str(r["steps_timed"])) for r in measured})
    precisions = sorted({r["precision"] for r in measured})
    lines = [
        f"### {first.get('date', '?')}, {first.get('device', '?')}, torch {first.get('torch', '?')}",
        "",
        "Measured by `python benchmarks/bench_train_sweep.py`: each case is one `bench_train.py` process with the "
        "flags its name says; warm-up and timed steps "
        f"{', '.join(f'{w} + {t}' for w, t in steps) or '?'}; precision {' / '.join(precisions) or '?'} "
        "unless the case names fp32.",
        "",
        "| case | batch | samples/s | step ms | TFLOP/s | MFU | peak GiB | host syncs | against |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for result in results:
        if "error" in result:
            lines.append(f"| `{result['case']}` | | failed: {result['error'][:160]} | | | | | | |")
            continue
        reference = by_name.get(result.get("reference") or "")
        against = ""
        if reference and "error" not in reference:
            ratio = result["samples_per_second"] / reference["samples_per_second"]
            against = f"{ratio:.2f}× `{reference['case']}`"
        mfu = "—" if result["mfu"] is None else f"{result['mfu']:.3f}"
        memory = "—" if result["peak_memory_gib"] is None else f"{result['peak_memory_gib']:.1f}"
        syncs = "—" if result["host_syncs_per_step"] is None else str(result["host_syncs_per_step"])
        lines.append(
            f"| `{result['case']}` | {result['batch_size']} | {result['samples_per_second']:,.1f} | "
            f"{result['step_ms']:.1f} | {tflops(result['achieved_tflops'])} | {mfu} | {memory} | {syncs} | "
            f"{against} |"
        )
    lines += ["", "Goals:", *goals(by_name, largest)]
    for result in measured:
        if "profile_summary" in result:
            lines += [
                "",
                f"Where a step of `{result['case']}` goes ({result['profile_steps']} steps profiled):",
                "",
                result["profile_summary"],
            ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", choices=("core", "levers", "all"), default="all")
    parser.add_argument("--models", nargs="+", default=["ViT-B-32", "ViT-B-16"], help="smallest first")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=max(1, min(14, (os.cpu_count() or 4) - 2)))
    parser.add_argument("--results", default="results.jsonl", help="JSON lines, appended to; cases there are skipped")
    parser.add_argument("--markdown", default="results.md", help="the table, the goals and the profiles")
    parser.add_argument("--budget-s", type=float, default=570, help="the whole command's time, in seconds")
    parser.add_argument("--case-timeout", type=float, default=420)
    parser.add_argument("--retry-failed", action="store_true", help="run again the cases that failed")
    parser.add_argument("--only", nargs="+", metavar="PATTERN", help="run only cases whose names match (fnmatch)")
    parser.add_argument("--extra", default="", help="more bench_train.py flags for every case (quoted)")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    parser.add_argument("--render-only", action="store_true", help="rewrite --markdown from --results")
    args = parser.parse_args()

    cases = plan_cases(args.plan, args.models, args.batch_size, args.workers)
    if args.only:
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in args.only)]
    if args.list:
        for case in cases:
            print(f"{case.name}: bench_train.py {' '.join(case.argv)}")
        return
    results_path = Path(args.results)
    if not args.render_only:
        done = {r["case"] for r in read_results(results_path) if "error" not in r or not args.retry_failed}
        started = time.monotonic()
        todo = [c for c in cases if c.name not in done]
        print(f"{len(cases)} case(s), {len(cases) - len(todo)} already in {results_path}", flush=True)
        for index, case in enumerate(todo, 1):
            left = args.budget_s - (time.monotonic() - started)
            if left < 60:
                left_over = len(todo) - index + 1
                print(f"budget of {args.budget_s:.0f} s spent: {left_over} case(s) left; run again to go on")
                break
            timeout = min(args.case_timeout, left)
            print(f"[{index}/{len(todo)}] {case.name} ...", flush=True)
            result = run_case(case, shlex.split(args.extra), timeout)
            with results_path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(result) + "\n")
            if "error" in result:
                print(f"    failed: {result['error']}", flush=True)
            else:
                mfu = "" if result["mfu"] is None else f", mfu {result['mfu']:.3f}"
                print(f"    {result['samples_per_second']:,.1f} samples/s{mfu} ({result['wall_s']:.0f} s)", flush=True)
    latest = {r["case"]: r for r in read_results(results_path)}  # a re-run case replaces its failure
    Path(args.markdown).write_text(render(list(latest.values()), args.models[-1]))
    print(f"wrote {args.markdown} ({len(latest)} case(s))")


if __name__ == "__main__":
    main()
