"""Each stage's section of the run report (``RUN/report/index.html``), named by the stage's
entry in ``wit_builder.stages``. A section takes the run folder and every stage's ``stats.json``
(None where it has not run) and returns its HTML, or None when its stage has not run here. Each
computes what it shows and renders ``templates/sections/STAGE.html.j2``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wit_builder.io.json_files import read_json_if_present, read_json_lines
from wit_builder.report.evaluation_figures import evaluation_figures
from wit_builder.report.svg import Series, bar_chart, line_chart
from wit_builder.report.templating import Markup, render

BLUE = "#1f77b4"
Stats = Mapping[str, Any]


def _metrics(path: str) -> list[dict]:
    """The records of a training's metrics.jsonl; a line cut short by a kill is left out."""
    return [record for record in read_json_lines(path) if isinstance(record, dict)]


def _total(value: int | dict) -> int:
    return sum(value.values()) if isinstance(value, dict) else int(value)


def queries(run_dir: str, all_stats: Stats) -> str | None:
    stats = all_stats["queries"]
    if stats is None:
        return None
    per_source = stats["queries_per_source"]
    chart = bar_chart(
        list(per_source), [("queries", list(per_source.values()), BLUE)], "Queries per source", "source", "queries"
    )
    counts = stats["counts"]
    return render(
        "sections/queries.html.j2",
        total=stats["queries"],
        articles=counts.get("articles", 0),
        tokens=counts.get("tokens", 0),
        duplicates=_total(stats.get("overlap_removed", 0)),
        numbers=per_source.get("number", 0),
        languages=len(stats.get("languages") or {}),
        rows=[[source, count] for source, count in per_source.items()],
        chart=Markup(chart),
    )


def harvest(run_dir: str, all_stats: Stats) -> str | None:
    stats = all_stats["harvest"]
    if stats is None:
        return None
    drops = stats["dropped"]
    rows = [["kept", stats["kept"]], *([reason.replace("_", " "), n] for reason, n in drops.items())]
    rows.append(["pairs read", stats["pairs_read"]])
    chart = bar_chart(
        ["kept", *(reason.replace("_", " ") for reason in drops)],
        [("pairs", [stats["kept"], *drops.values()], BLUE)],
        "Harvest: every pair read, kept or dropped by reason",
        "fate",
        "pairs",
    )
    without = [(reason.replace("_", " "), n) for reason, n in stats.get("records_without_pairs", {}).items()]
    return render(
        "sections/harvest.html.j2",
        rows=rows,
        counts_add_up=stats.get("adds_up"),
        without_pairs=without,
        chart=Markup(chart),
    )


def balance(run_dir: str, all_stats: Stats) -> str | None:
    balance, shard = all_stats["balance"], all_stats.get("shard")
    if balance is None:
        return None
    queries = balance.get("queries", {})
    rows = [
        ["pairs in", balance["pairs_in"]],
        ["kept", balance["kept"]],
        ["dropped over the cap", balance["dropped"]["over_cap"]],
        ["queries matched", queries.get("matched", 0)],
        ["queries capped", queries.get("capped", 0)],
    ]
    if shard is not None:
        rows += [["samples in shards", shard["written"]], ["capped again at shard", shard["capped"]]]
    return render("sections/balance.html.j2", rows=rows, sharded=shard is not None)


def shard(run_dir: str, all_stats: Stats) -> str | None:
    manifest, stats = read_json_if_present(f"{run_dir}/shard/manifest.json", "manifest"), all_stats["shard"]
    if manifest is None or stats is None:
        return None
    totals = manifest["totals"]
    rows = [["shards", totals["shards"]], ["samples", totals["samples"]], ["bytes", f"{totals['bytes'] / 1e6:,.1f} MB"]]
    return render("sections/shard.html.j2", rows=rows, train_data=manifest["train_data"])


def train(run_dir: str, all_stats: Stats) -> str | None:
    records = _metrics(f"{run_dir}/train/metrics.jsonl")
    results = read_json_if_present(f"{run_dir}/train/eval.json", "eval")
    if not records and results is None:
        return None
    steps = [r for r in records if "loss" in r]
    chart = line_chart(
        [Series("training loss", [r["step"] for r in steps], [r["loss"] for r in steps], BLUE)],
        "Training loss",
        "step",
        "loss",
    )
    rates = [r["samples_per_second"] for r in steps if "samples_per_second" in r]
    evaluation = [
        [name, f"{value:.4f}", f"{chance:.4f}" if chance is not None else ""]
        for name, value, chance in (evaluation_figures(results) if results is not None else [])
    ]
    return render(
        "sections/train.html.j2",
        chart=Markup(chart),
        rate=rates[-1] if rates else None,
        evaluation=evaluation,
        balancing=_balancing_comparison(run_dir),
    )


BALANCING_PROOF = "online_balance_proof.json"  # written by benchmarks/bench_online_balance.py


def _balancing_comparison(run_dir: str) -> dict | None:
    """Online against offline balancing at equal steps, when it was measured on this run: per
    metric the means, their difference and the seeds' spread; per side what an epoch held."""
    document = read_json_if_present(f"{run_dir}/{BALANCING_PROOF}")
    if not isinstance(document, dict) or "summary" not in document:
        return None
    words = {"image_to_text_R@1": "image → text R@1", "text_to_image_R@1": "text → image R@1"}
    return {
        "per_query": document.get("per_query"),
        "steps": document.get("steps"),
        "seeds": len(document.get("seeds", [])),
        "val_sets": document.get("val_sets"),
        "rows": [
            [
                words.get(metric, metric),
                f"{f['offline_mean']:.3f}",
                f"{f['online_mean']:.3f}",
                f"{f['difference_mean']:+.3f}",
                f"{f['seed_spread']:.3f}",
            ]
            for metric, f in document["summary"].items()
        ],
        "coverage": [
            [side, f"{figures['samples_per_epoch']:,}", figures["distinct_pairs_drawn_from"]]
            for side, figures in document.get("coverage", {}).items()
        ],
    }
