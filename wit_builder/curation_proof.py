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
WORDS = {"image_to_text_R@1": "image → text R@1", "text_to_image_R@1": "text → image R@1"}


def truth_by_url(truth_path: str | Path) -> dict[str, dict]:
    """url → {misaligned, near_copy_group} from the world's ``truth/images.parquet``."""
    table = pq.read_table(truth_path, columns=["url", "misaligned", "near_copy_group"])
    return {row["url"]: row for row in table.to_pylist()}


def filter_scores(run: str | Path, truth: Mapping[str, dict]) -> dict[str, dict]:
    """Precision and recall of each filter against the truth, over the samples embedded."""
    run = Path(run)
    url_of = _urls(run)
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


def dry_dedup_scores(run: str | Path, truth: Mapping[str, dict], epsilon: float = 0.05) -> dict:
    """SemDeDup's precision and recall against the near copies had it run at ``epsilon`` over
    every sample embedded: how the scoring model's image embeddings would do, measured when the
    run's curate stage leaves semantic dedup off."""
    import numpy as np

    from wit_builder.curation.semantic_dedup import semantic_dedup

    run = Path(run)
    url_of = _urls(run)
    uids, images, scores = [], [], []
    for path in sorted((run / "embed" / "embeddings").glob("*.parquet")):
        for row in pq.read_table(path, columns=["uid", "image_emb", "clip_score"]).to_pylist():
            if row["image_emb"] is not None:
                uids.append(row["uid"])
                images.append(row["image_emb"])
                scores.append(row["clip_score"])
    if len(uids) < 2:
        return {"epsilon": epsilon, "dropped": 0, "precision": None, "recall": None}
    result = semantic_dedup(np.asarray(images, np.float32), np.asarray(scores), epsilon)
    facts = [truth.get(url_of.get(uid, ""), {}) for uid in uids]
    groups: dict[int, int] = {}
    for fact in facts:
        if _group(fact) >= 0:
            groups[_group(fact)] = groups.get(_group(fact), 0) + 1
    should_go = sum(count - 1 for count in groups.values())
    dropped = int((~result.kept).sum())
    hits = sum(1 for kept, fact in zip(result.kept, facts, strict=True) if not kept and _group(fact) >= 0)
    return {
        "epsilon": epsilon,
        "dropped": dropped,
        "truly_copies": hits,
        "should_go": should_go,
        "precision": round(hits / dropped, 4) if dropped else None,
        "recall": round(min(hits, should_go) / should_go, 4) if should_go else None,
    }


def _urls(run: Path) -> dict[str, str]:
    url_of: dict[str, str] = {}
    for path in sorted((run / "download" / "samples").glob("*.parquet")):
        table = pq.read_table(path, columns=["uid", "url"])
        url_of.update(zip(table.column("uid").to_pylist(), table.column("url").to_pylist(), strict=True))
    return url_of


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


def train_and_evaluate(train_settings: Any, train_data: str, tokenizer: str, out: str, seed: int) -> str:
    """One training of the run's [train] settings on ``train_data`` at ``seed``; the folder it is
    in. The folder is named by what decides the model (the shards' manifest, the tokenizer, the
    seed, the steps and the model), so a finished one is reused and another is never touched:
    nothing is removed, and a proof after new curation trains beside the old one."""
    from wit_builder.train.cli import run as train

    shards = hashlib.sha256((Path(train_data) / "manifest.json").read_bytes()).hexdigest()  # which samples
    wanted = json.dumps({"train_data": train_data, "shards": shards, "tokenizer": tokenizer, "seed": seed,
                         "steps": train_settings.steps, "model": train_settings.model}, sort_keys=True)  # fmt: skip
    folder = f"{out}-{hashlib.sha256(wanted.encode()).hexdigest()[:10]}"
    if (Path(folder) / "eval.json").exists():
        return folder
    settings = replace(train_settings, train_data=train_data, tokenizer=tokenizer, out=folder, seed=seed, resume=None)
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        status = train(settings)
    if status != 0 or not (Path(folder) / "eval.json").exists():
        raise RuntimeError(f"the training at {folder} failed: {said.getvalue().strip()[-400:]}")
    write_atomically(f"{folder}/proof-settings.json", wanted.encode())
    return folder


VAL_SETS, VAL_SCENES = 5, 400  # the proof's held-out sets: each as the demo's, new scenes each


def proof_val_sets(world_root: str | Path, seed: int) -> list[str]:
    """``VAL_SETS`` held-out shard sets of ``VAL_SCENES`` new scenes each, written once under
    ``WORLD/evaluation/proof/``. R@1 near 0.02 on 400 scenes is 8 hits, whose binomial noise
    alone (±0.007) is as large as the seeds' spread; the mean over five sets cuts it by √5."""
    from wit_builder.shard.cli import run as shard
    from wit_builder.shard.settings import ShardRules, ShardSettings
    from wit_builder.synthetic.scene_pool import write_scene_pool

    folders = []
    for index in range(VAL_SETS):
        root = Path(world_root) / "evaluation" / "proof" / f"val-{index}"
        if not (root / "shards" / "manifest.json").exists():
            pool = write_scene_pool(root / "pool", VAL_SCENES, files=2, seed=seed + 5000 + index)
            settings = ShardSettings(samples=(str(pool),), out=str(root / "shards"),
                                     rules=ShardRules(samples_per_shard=VAL_SCENES))  # fmt: skip
            with contextlib.redirect_stdout(io.StringIO()):
                if shard(settings, []) != 0:
                    raise RuntimeError(f"the proof's held-out set {root} could not be written")
        folders.append(str(root / "shards"))
    return folders


def evaluate_on(train_out: str | Path, val_sets: Sequence[str]) -> dict:
    """A training's latest checkpoint, R@1 both ways on each held-out set; the means and each."""
    from wit_builder.train.evaluate import retrieval_on_sets

    found = retrieval_on_sets(str(train_out), list(val_sets))
    return {metric: round(statistics.mean(f[metric] for f in found), 4) for metric in METRICS} | {
        "per_set": [{metric: f[metric] for metric in METRICS} for f in found]
    }


def gain_over_seeds(run: str | Path, train_settings: Any, seeds: Sequence[int], val_sets: Sequence[str]) -> dict:
    """R@1 both ways of models trained on the uncurated and on the curated shards, per seed,
    each the mean over the held-out sets ``val_sets``."""
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
                trained = bootstrap.parent
            else:
                trained = train_and_evaluate(train_settings, str(shards), str(tokenizer), str(out), seed)
            found = evaluate_on(trained, val_sets)
            per_seed[side][seed] = {metric: found[metric] for metric in METRICS}
            print(f"[proof] {side} shards, seed {seed}: " + ", ".join(
                f"{WORDS[metric]} {found[metric]:.3f}" for metric in METRICS), flush=True)  # fmt: skip
    summary = {}
    for metric in METRICS:
        mine = [per_seed["curated"][seed][metric] for seed in seeds]
        theirs = [per_seed["uncurated"][seed][metric] for seed in seeds]
        gains = [a - b for a, b in zip(mine, theirs, strict=True)]
        spread = max(statistics.pstdev(mine), statistics.pstdev(theirs))  # one side's seed-to-seed noise
        error = statistics.stdev(gains) / len(gains) ** 0.5 if len(gains) > 1 else None  # of the mean gain
        summary[metric] = {
            "uncurated_mean": round(statistics.mean(theirs), 4),
            "curated_mean": round(statistics.mean(mine), 4),
            "gain_mean": round(statistics.mean(gains), 4),
            "seed_spread": round(spread, 4),
            "gain_standard_error": None if error is None else round(error, 4),
            "beats_seed_noise": statistics.mean(gains) > spread,
            "every_seed_gains": all(gain > 0 for gain in gains),
        }
    return {"seeds": list(seeds), "val_sets": len(val_sets), "per_seed": per_seed, "summary": summary}


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
    ]
    if (dry := filters.get("semantic_dedup_not_applied")) is None:
        lines.append(
            f"  semantic_duplicate  dropped {copies['dropped']:,}: precision {copies['precision']}, recall "
            f"{copies['recall']} of {copies['should_go']:,} near copies beyond the first of each group"
        )
    else:
        lines.append(
            f"  SemDeDup at ε {dry['epsilon']} with this model (measured, not applied): would drop "
            f"{dry['dropped']:,}: precision {dry['precision']}, recall {dry['recall']} of "
            f"{dry['should_go']:,} near copies"
        )
    gain = document["gain"]
    sets = gain.get("val_sets", 1)
    lines.append(
        f"[proof] R@1 on held-out scenes ({sets} sets of {VAL_SCENES}, averaged), {len(gain['seeds'])} seeds, "
        "the same steps:"
    )
    for metric, figures in gain["summary"].items():
        lines.append(
            f"  {WORDS.get(metric, metric):<17} uncurated {figures['uncurated_mean']:.3f}, "
            f"curated {figures['curated_mean']:.3f}: "
            f"gain {figures['gain_mean']:+.3f} (seed spread {figures['seed_spread']:.3f}, standard error "
            f"{figures.get('gain_standard_error')}; {'beats' if figures.get('beats_seed_noise') else 'within'} the "
            f"seed noise{'; every seed gains' if figures['every_seed_gains'] else ''})"
        )
    return "\n".join(lines)
