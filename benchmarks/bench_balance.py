"""Benchmark: the balance stage's two passes on ≥ 1M candidates, against MetaCLIP's in-memory way.

    python benchmarks/bench_balance.py [--pairs 1000000] [--queries 100000] [--per-query 200]

Writes a Zipf candidate pool (``wit_builder.synthetic.candidate_pool``) in 16 files, then in
separate processes (so each peak memory is its own):

- pass 1 alone (matches per query) on FnApiRunner;
- pass 2 alone (keep or drop, write) with the capped queries the stage found as its side input;
- the whole stage (pass 1, pass 2, report) on FnApiRunner, one worker, as ``wit-builder balance``;
- the baseline, as MetaCLIP's curation balances (metaclip/balancing.py): every pair's matches
  loaded into memory, a Counter of matches per query, then for each pair a loop over its
  matches drawing ``random() < t / n``; it writes the kept pairs to one Parquet file.

Prints pairs/s for each pass alone and for the stage, each process's peak memory, and
``balance_ratio=<stage / baseline pairs per second>``. With ``--scaling`` it also runs the stage
on a quarter of the pool, to show that its memory does not grow with the number of pairs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from measure import measure, median_run, seconds_of

from wit_builder.synthetic.candidate_pool import write_zipf_pool

PASS_ONE = """
import sys, time
import apache_beam as beam
from wit_builder.capping.transforms import count_matches
from wit_builder.balance.settings import BalanceRules
from wit_builder.beam_options import pipeline_options
from wit_builder.io.paths import expand_globs
files = expand_globs([sys.argv[1] + "/candidates/*.parquet"])
started = time.monotonic()
with beam.Pipeline(options=pipeline_options([])) as pipeline:
    matched, _ = count_matches(pipeline | beam.Create(files), BalanceRules(per_query=int(sys.argv[2])))
    matched | beam.Map(lambda shard: len(shard[1])) | beam.CombineGlobally(sum) | beam.Map(print)
print("seconds", time.monotonic() - started)
"""

PASS_TWO = """
import json, sys, time
import apache_beam as beam
from apache_beam import pvalue
from wit_builder.capping.transforms import ERRORS, KEPT_COUNTS
from wit_builder.balance.pipeline import BalanceFileFn
from wit_builder.balance.settings import BalanceRules
from wit_builder.beam_options import pipeline_options
from wit_builder.io.paths import expand_globs
from wit_builder.stage_stats import STATS
files = expand_globs([sys.argv[1] + "/candidates/*.parquet"])
rules = BalanceRules(per_query=int(sys.argv[2]))
over_cap = [tuple(kv) for kv in json.load(open(sys.argv[4]))]
started = time.monotonic()
with beam.Pipeline(options=pipeline_options([])) as pipeline:
    capped = pipeline | "Capped" >> beam.Create(over_cap)
    no_languages = pipeline | "Thresholds" >> beam.Create([{}])
    kept = pipeline | beam.Create(list(enumerate(files))) | beam.ParDo(
        BalanceFileFn(rules, sys.argv[3]), pvalue.AsDict(capped), pvalue.AsSingleton(no_languages)
    ).with_outputs(STATS, ERRORS, KEPT_COUNTS, main="kept")
    kept[KEPT_COUNTS] | beam.combiners.Count.Globally() | beam.Map(print)
print("seconds", time.monotonic() - started)
"""

BASELINE = """
import random, sys, time
from collections import Counter
import pyarrow as pa, pyarrow.parquet as pq
from wit_builder.io.paths import expand_globs
started = time.monotonic()
table = pa.concat_tables(pq.read_table(f) for f in expand_globs([sys.argv[1] + "/candidates/*.parquet"]))
matches = table.column("matches").to_pylist()
counts = Counter(q for row in matches for q in row)
t = int(sys.argv[2])
random.seed(0)
keep = [any(random.random() < t / counts[q] for q in row) for row in matches]
pq.write_table(table.filter(pa.array(keep)), sys.argv[3])
print("kept", sum(keep), "seconds", time.monotonic() - started)
"""


def run_stage(harvest: Path, out: Path, per_query: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)  # a finished output would make the stage a no-op
    cli = [sys.executable, "-m", "wit_builder.cli", "balance", "--candidates", str(harvest)]
    run = measure([*cli, "--out", str(out), "--per-query", str(per_query)])
    run["stats"] = json.loads((out / "stats.json").read_text())
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--per-query", type=int, default=200)
    parser.add_argument("--scaling", action="store_true", help="also run on a quarter of the pool")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternately; medians compared (default 1)")
    parser.add_argument("--keep", metavar="DIR")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-balance-"))

    started = time.monotonic()
    harvest = write_zipf_pool(root / "pool", args.pairs, args.queries, files=16, seed=4)
    print(f"pool: {args.pairs:,} pairs, {args.queries:,} queries, 16 files ({time.monotonic() - started:.0f}s)")

    one = measure([sys.executable, "-c", PASS_ONE, str(harvest), str(args.per_query)])
    one_seconds = float(one["stdout"].split("seconds")[-1])
    stages, baselines = [], []
    for _ in range(max(1, args.repeat)):
        stages.append(run_stage(harvest, root / "balance", args.per_query))
        baselines.append(
            measure([sys.executable, "-c", BASELINE, str(harvest), str(args.per_query), str(root / "base.parquet")])
        )
    stage, baseline = median_run(stages), median_run(baselines)
    if args.repeat > 1:
        print(f"seconds, stage: {seconds_of(stages)}; baseline: {seconds_of(baselines)} (medians compared)")
    report = pq.read_table(root / "balance" / "report" / "balance.parquet").to_pylist()
    over_cap = [(row["query"], row["matched"]) for row in report if row["p_keep"] < 1]
    (root / "over_cap.json").write_text(json.dumps(over_cap))
    (root / "pass2" / "balanced").mkdir(parents=True, exist_ok=True)
    two = measure(
        [
            sys.executable,
            "-c",
            PASS_TWO,
            str(harvest),
            str(args.per_query),
            str(root / "pass2"),
            str(root / "over_cap.json"),
        ]
    )
    two_seconds = float(two["stdout"].split("seconds")[-1])
    baseline_kept = int(baseline["stdout"].split()[1])
    stats = stage["stats"]
    assert stats["adds_up"] and stats["pairs_in"] == args.pairs

    print(
        f"pass 1 (pipeline alone): {args.pairs / one_seconds:,.0f} pairs/s ({one_seconds:.1f}s), "
        f"process peak {one['peak_mib']:.0f} MiB"
    )
    print(
        f"pass 2 (pipeline alone): {args.pairs / two_seconds:,.0f} pairs/s ({two_seconds:.1f}s), "
        f"process peak {two['peak_mib']:.0f} MiB"
    )
    print(
        f"stage (both passes, report): {args.pairs / stage['seconds']:,.0f} pairs/s ({stage['seconds']:.1f}s "
        f"with start-up), peak {stage['peak_mib']:.0f} MiB; kept {stats['kept']:,}"
    )
    print(
        f"baseline (MetaCLIP, in memory): {args.pairs / baseline['seconds']:,.0f} pairs/s "
        f"({baseline['seconds']:.1f}s with start-up), peak {baseline['peak_mib']:.0f} MiB; "
        f"kept {baseline_kept:,}"
    )
    print(f"balance_ratio={baseline['seconds'] / stage['seconds']:.3f}")
    if args.scaling:
        quarter = write_zipf_pool(root / "quarter", args.pairs // 4, args.queries, files=16, seed=4)
        small = run_stage(quarter, root / "balance-quarter", args.per_query)
        print(
            f"memory vs pairs: {args.pairs // 4:,} pairs → peak {small['peak_mib']:.0f} MiB; "
            f"{args.pairs:,} pairs → peak {stage['peak_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
