"""Online against offline balancing, at equal steps, on the synthetic world's held-out scenes.

    python benchmarks/bench_online_balance.py [--run runs/demo/run] [--per-query 5] [--seeds 0,1,2]
                                              [--steps 200]

From a finished demo run's download samples (the demo's balance kept at most 50 pairs per
query: a pool ten times looser than t = 5), it writes two shard sets under ``RUN/online_proof/``:

- **offline**: ``shard --per-query T``: one balanced draw, written once (as the chain does);
- **pool**: ``shard --pool --per-query T``: everything, with the draw in the manifest, which
  ``wit-train --online-balance`` makes afresh every epoch.

It trains the demo's tiny model (the run's ``[train]`` settings: same steps, batch, learning
rate) on each, at each seed, with one tokenizer (the run's), and evaluates R@1 both ways on the
same held-out scene sets as the curation proof (five sets of 400 new scenes, averaged). It
prints, and writes to ``RUN/online_balance_proof.json`` (shown in the run report's training
section): per seed and side the R@1s, their means and spreads, the distinct pairs each side
saw, and the samples per epoch. There is no threshold: on a world this small the difference
may well be within the seeds' noise, and the figures say so.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wit_builder.atomic import write_atomically  # noqa: E402
from wit_builder.curation_proof import METRICS, WORDS, evaluate_on, proof_val_sets, train_and_evaluate  # noqa: E402

PROOF = "online_balance_proof.json"


def shard_sides(run: Path, per_query: int) -> dict[str, Path]:
    from wit_builder.cli import main

    sides = {"offline": run / "online_proof" / "offline", "online": run / "online_proof" / "pool"}
    for side, out in sides.items():
        extra = ["--pool"] if side == "online" else []
        flags = ["shard", "--samples", str(run / "download"), "--out", str(out), "--per-query", str(per_query)]
        with contextlib.redirect_stdout(io.StringIO()):
            if main([*flags, "--samples-per-shard", "100", *extra]) != 0:
                raise SystemExit(f"shard {side} failed")
    return sides


def seen_pairs(shards: Path, online: bool, steps: int, batch: int, seed: int) -> tuple[int, float]:
    """(distinct pairs a training of ``steps`` × ``batch`` draws from, samples per epoch)."""
    import pyarrow.parquet as pq

    from wit_builder.capping.languages import row_keys
    from wit_builder.train.data import online_balance_of, resolve_urls

    rows = [r for p in sorted(shards.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]
    if not online:
        return len(rows), float(len(rows))
    balance, expected = online_balance_of(resolve_urls(str(shards)), seed)
    epochs = -(-steps * batch // max(1, round(expected)))
    seen = {r["uid"] for e in range(epochs) for r in rows
            if balance.epoch(e).keeps(r["uid"], row_keys(r["matches"], r.get("lang")))}  # fmt: skip
    return len(seen), expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="runs/demo/run")
    parser.add_argument("--per-query", type=int, default=5)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    run = Path(args.run)
    seeds = [int(s) for s in args.seeds.split(",")]

    from wit_builder.train.settings import TrainSettings

    sides = shard_sides(run, args.per_query)
    base = TrainSettings(train_data="", out="", model="tiny", batch_size=32, steps=args.steps, lr=1e-3, warmup=20,
                         workers=1, log_every_n_steps=50, save_every_n_steps=args.steps,
                         val_data=str(run.parent / "world" / "evaluation" / "val"))  # fmt: skip
    val_sets = proof_val_sets(run.parent / "world", 0)
    per_seed: dict[str, dict[int, dict]] = {side: {} for side in sides}
    coverage = {}
    for side, shards in sides.items():
        settings = replace(base, online_balance=side == "online")
        for seed in seeds:
            trained = train_and_evaluate(settings, str(shards), str(run / "tokenizer"),
                                         str(run / "online_proof" / f"{side}-seed-{seed}"), seed)  # fmt: skip
            found = evaluate_on(trained, val_sets)
            per_seed[side][seed] = {metric: found[metric] for metric in METRICS}
            print(f"[online] {side}, seed {seed}: " + ", ".join(
                f"{WORDS[m]} {found[m]:.3f}" for m in METRICS), flush=True)  # fmt: skip
        seen, per_epoch = seen_pairs(shards, side == "online", args.steps, base.batch_size, seeds[0])
        coverage[side] = {"distinct_pairs_drawn_from": seen, "samples_per_epoch": round(per_epoch, 1)}
    summary = {}
    for metric in METRICS:
        online = [per_seed["online"][s][metric] for s in seeds]
        offline = [per_seed["offline"][s][metric] for s in seeds]
        differences = [a - b for a, b in zip(online, offline, strict=True)]
        summary[metric] = {
            "offline_mean": round(statistics.mean(offline), 4),
            "online_mean": round(statistics.mean(online), 4),
            "difference_mean": round(statistics.mean(differences), 4),
            "seed_spread": round(max(statistics.pstdev(online), statistics.pstdev(offline)), 4),
        }
    document = {"per_query": args.per_query, "steps": args.steps, "seeds": seeds, "val_sets": len(val_sets),
                "coverage": coverage, "per_seed": per_seed, "summary": summary}  # fmt: skip
    write_atomically(str(run / PROOF), (json.dumps(document, indent=2) + "\n").encode())
    for metric, figures in summary.items():
        print(f"[online] {WORDS[metric]:<17} offline {figures['offline_mean']:.3f}, "
              f"online {figures['online_mean']:.3f}: difference {figures['difference_mean']:+.3f} "
              f"(seed spread {figures['seed_spread']:.3f})")  # fmt: skip
    for side, figures in coverage.items():
        print(f"[online] {side}: {figures['samples_per_epoch']:,} samples an epoch; "
              f"{figures['distinct_pairs_drawn_from']:,} distinct pairs over the steps")  # fmt: skip
    print(f"[online] written to {run / PROOF}")


if __name__ == "__main__":
    main()
