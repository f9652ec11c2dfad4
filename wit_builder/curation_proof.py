"""Proof that curation by model helps, on the synthetic world whose faults are known.

The world of ``demo --curate`` gives a share of its images a misaligned caption and re-renders
some scenes under other URLs (``synthetic.catalog``); ``truth/images.parquet`` says which. A
run with ``[embed] model = "bootstrap"`` trains a model on the uncurated samples, scores every
sample with it, curates and trains again (``chain.run_bootstrap``). Here:

1. **the filters against the truth**: precision and recall of ``low_clip_score`` against the
   misaligned pairs, and of ``semantic_duplicate`` against the near copies (in a group of k
   copies that reached the embed stage, k − 1 should go);
2. **the gain**: models trained for the same steps on the uncurated shards
   (``OUT/bootstrap/shard``) and on the curated ones (``OUT/shard``), at several seeds, each
   evaluated on the same held-out scenes; R@1 both ways, with the mean and the spread.

Written to ``OUT/curation_proof.json`` (the run report's "Curation by model" section shows it).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from wit_builder.atomic import write_atomically

PROOF = "curation_proof.json"
METRICS = ("image_to_text_R@1", "text_to_image_R@1")


def truth_by_url(truth_path: str | Path) -> dict[str, dict]:
    """url → {misaligned, near_copy_group} from the world's ``truth/images.parquet``."""
    table = pq.read_table(truth_path, columns=["url", "misaligned", "near_copy_group"])
    return {row["url"]: row for row in table.to_pylist()}


def filter_scores(run: str | Path, truth: Mapping[str, dict]) -> dict[str, dict]:
    """Precision and recall of each filter against the truth, over the samples embedded."""
    run = Path(run)
    url_of = {}
    for path in sorted((run / "download" / "samples").glob("*.parquet")):
        table = pq.read_table(path, columns=["uid", "url"])
        url_of.update(zip(table.column("uid").to_pylist(), table.column("url").to_pylist(), strict=True))
    decided = [row for path in sorted((run / "curate" / "curation").glob("*.parquet"))
               for row in pq.read_table(path, columns=["uid", "status"]).to_pylist()]  # fmt: skip
    facts = [(row["status"], truth.get(url_of.get(row["uid"], ""), {})) for row in decided]
    misaligned = [(status == "low_clip_score", bool(fact.get("misaligned"))) for status, fact in facts]
    groups: dict[int, int] = {}
    for _, fact in facts:
        if _group(fact) >= 0:
            groups[_group(fact)] = groups.get(_group(fact), 0) + 1
    should_go = sum(count - 1 for count in groups.values())
    dropped_as_copies = sum(1 for status, _ in facts if status == "semantic_duplicate")
    copies_dropped = sum(1 for status, fact in facts if status == "semantic_duplicate" and _group(fact) >= 0)
    return {
        "low_clip_score": _precision_recall(misaligned),
        "semantic_duplicate": {
            "dropped": dropped_as_copies,
            "truly_copies": copies_dropped,
            "should_go": should_go,
            "groups": len(groups),
            "precision": round(copies_dropped / dropped_as_copies, 4) if dropped_as_copies else None,
            "recall": round(min(copies_dropped, should_go) / should_go, 4) if should_go else None,
        },
        "embedded": len(decided),
    }


def _group(fact: Mapping[str, Any]) -> int:
    """A sample's near-copy group in the truth, -1 for none."""
    group = fact.get("near_copy_group")
    return -1 if group is None else int(group)


def _precision_recall(pairs: Sequence[tuple[bool, bool]]) -> dict:
    """(predicted, true) per sample → the counts, precision and recall."""
    hit = sum(1 for predicted, true in pairs if predicted and true)
    predicted = sum(1 for p, _ in pairs if p)
    actual = sum(1 for _, t in pairs if t)
    return {
        "dropped": predicted,
        "truly_misaligned": hit,
        "misaligned_embedded": actual,
        "precision": round(hit / predicted, 4) if predicted else None,
        "recall": round(hit / actual, 4) if actual else None,
    }


def train_and_evaluate(train_settings: Any, train_data: str, tokenizer: str, out: str, seed: int) -> dict:
    """One training of the run's [train] settings on ``train_data`` at ``seed``, resumed when
    its folder holds a finished one; its ``eval.json``."""
    from wit_builder.train.cli import run as train

    evaluation = Path(out) / "eval.json"
    settings = replace(train_settings, train_data=train_data, tokenizer=tokenizer, out=out, seed=seed, resume=None)
    stamp = Path(out) / "proof-settings.json"
    shards = hashlib.sha256((Path(train_data) / "manifest.json").read_bytes()).hexdigest()  # which samples
    wanted = json.dumps({"train_data": train_data, "shards": shards, "tokenizer": tokenizer, "seed": seed,
                         "steps": settings.steps, "model": settings.model}, sort_keys=True)  # fmt: skip
    if evaluation.exists() and stamp.exists() and stamp.read_text() == wanted:
        return json.loads(evaluation.read_text())
    if Path(out).exists():  # a training of other shards or settings: made again from the start
        import shutil

        shutil.rmtree(out)
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        status = train(settings)
    if status != 0 or not evaluation.exists():
        raise RuntimeError(f"the training at {out} failed: {said.getvalue().strip()[-400:]}")
    write_atomically(str(stamp), wanted.encode())
    return json.loads(evaluation.read_text())


def gain_over_seeds(run: str | Path, train_settings: Any, seeds: Sequence[int]) -> dict:
    """R@1 both ways of models trained on the uncurated and on the curated shards, per seed."""
    run = Path(run)
    sides = {
        "uncurated": (run / "bootstrap" / "shard", run / "bootstrap" / "tokenizer"),
        "curated": (run / "shard", run / "bootstrap" / "tokenizer"),
    }
    # The bootstrap model is the uncurated side at the run's seed. The run's final model is not
    # the curated side: its tokenizer learnt from the curated captions alone, and both sides
    # must read captions with one tokenizer.
    bootstrap = run / "bootstrap" / "train" / "eval.json"
    per_seed: dict[str, dict[int, dict]] = {side: {} for side in sides}
    for seed in seeds:
        for side, (shards, tokenizer) in sides.items():
            out = run / "proof" / f"{side}-seed-{seed}"
            if side == "uncurated" and seed == train_settings.seed and bootstrap.exists():
                found = json.loads(bootstrap.read_text())
            else:
                found = train_and_evaluate(train_settings, str(shards), str(tokenizer), str(out), seed)
            per_seed[side][seed] = {metric: found[metric] for metric in METRICS}
            print(f"[proof] {side} shards, seed {seed}: " + ", ".join(
                f"{metric} {found[metric]:.3f}" for metric in METRICS), flush=True)  # fmt: skip
    summary = {}
    for metric in METRICS:
        mine = [per_seed["curated"][seed][metric] for seed in seeds]
        theirs = [per_seed["uncurated"][seed][metric] for seed in seeds]
        gains = [a - b for a, b in zip(mine, theirs, strict=True)]
        summary[metric] = {
            "uncurated_mean": round(statistics.mean(theirs), 4),
            "curated_mean": round(statistics.mean(mine), 4),
            "gain_mean": round(statistics.mean(gains), 4),
            "seed_spread": round(max(statistics.pstdev(mine), statistics.pstdev(theirs)), 4),
            "every_seed_gains": all(gain > 0 for gain in gains),
        }
    return {"seeds": list(seeds), "per_seed": per_seed, "summary": summary}


def write_proof(run: str | Path, document: dict) -> str:
    path = Path(run) / PROOF
    write_atomically(str(path), (json.dumps(document, indent=2) + "\n").encode())
    return str(path)


def proof_lines(document: dict) -> str:
    """What the demo prints: the filters against the truth, then the gain."""
    filters = document["filters"]
    low, copies = filters["low_clip_score"], filters["semantic_duplicate"]
    lines = [
        f"[proof] against the world's ground truth ({filters['embedded']:,} samples embedded):",
        f"  low_clip_score      dropped {low['dropped']:,}: precision {low['precision']}, recall {low['recall']} "
        f"of {low['misaligned_embedded']:,} misaligned pairs",
        f"  semantic_duplicate  dropped {copies['dropped']:,}: precision {copies['precision']}, recall "
        f"{copies['recall']} of {copies['should_go']:,} near copies beyond the first of each group",
    ]
    gain = document["gain"]
    lines.append(f"[proof] R@1 on held-out scenes, {len(gain['seeds'])} seeds, the same steps:")
    for metric, figures in gain["summary"].items():
        lines.append(
            f"  {metric:<18} uncurated {figures['uncurated_mean']:.3f}, curated {figures['curated_mean']:.3f}: "
            f"gain {figures['gain_mean']:+.3f} (seed spread {figures['seed_spread']:.3f}"
            f"{'; every seed gains' if figures['every_seed_gains'] else ''})"
        )
    return "\n".join(lines)
