"""The run report's "Curation by model": what the embed and curate stages decided, shown.

An auditor sees which model scored the pairs (its name and weights digest), every rule's count
(adding up to the samples embedded), the CLIP-score histogram kept against dropped, and
pictures: the lowest- and highest-scoring pairs with their captions, the largest semantic
duplicate groups as strips (the copy kept first), and the samples dropped as near an
evaluation image. Pictures come from the download stage's samples by uid; at most
``PICTURES`` thumbnails of 96 px (about 3 KB each), so the section stays under 300 KB at any
scale. It reads the two stages' ``stats.json`` and the download samples: nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import fsspec
from markupsafe import Markup

from wit_builder.report.svg import bar_chart
from wit_builder.report.templating import render
from wit_builder.report.thumbnails import data_uri, thumbnail

PICTURES = 96  # thumbnails a section shows at most: 8 lowest + 8 highest + 6 groups of 9 + 8 evaluation matches
WORDS = {"image_to_text_R@1": "image → text", "text_to_image_R@1": "text → image"}
MISSING = {"uri": None, "caption": ""}  # a sample whose picture is not in the download folder (moved, or gone)
RULES = {
    "embed_error": "could not be embedded (its stored image did not decode)",
    "eval_embedding": "near an evaluation image (cosine at least τ)",
    "low_clip_score": "image and caption disagree (CLIP score below the cut)",
    "semantic_duplicate": "a semantic duplicate of a sample kept (cosine above 1 − ε)",
}


def _pictures(download_dir: str, uids: set[str]) -> dict[str, dict]:
    """uid → {thumbnail data URI, caption} for the wanted samples, from download's samples."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    found: dict[str, dict] = {}
    if not uids:
        return found
    filesystem, _ = fsspec.core.url_to_fs(download_dir)
    wanted = list(uids)
    for path in sorted(filesystem.glob(f"{download_dir}/samples/*.parquet")):
        with filesystem.open(path, "rb") as handle:
            table = pq.read_table(handle, columns=["uid", "text", "image"])
        chosen = table.filter(pc.is_in(table.column("uid"), value_set=pa.array(wanted, pa.string())))
        for row in chosen.to_pylist():
            try:
                uri = data_uri(thumbnail(row["image"]))
            except Exception:  # a picture that no longer decodes is shown as missing
                uri = None
            found[row["uid"]] = {"uri": uri, "caption": row["text"][:160]}
        if len(found) == len(uids):
            break
    return found


def _group(group: dict, pictures: Mapping[str, dict]) -> dict:
    members = [group["kept"], *group["duplicates"]]
    return {"size": group["size"], "members": [{"uid": uid, **pictures.get(uid, MISSING)} for uid in members]}


def curation_section(run_dir: str, all_stats: Mapping[str, Any]) -> str | None:
    stats, embed = all_stats.get("curate"), all_stats.get("embed")
    if stats is None:
        return None
    histogram = stats["clip_score"]
    edges = histogram["edges"]
    centres = [f"{(a + b) / 2:.2f}" for a, b in pairwise(edges)]
    chart = Markup(
        bar_chart(
            centres,
            [("kept", histogram["kept"], "#2b7bb9"), ("dropped", histogram["dropped"], "#d95f02")],
            "CLIP score of every pair embedded: kept and dropped",
            "CLIP score (image–text cosine)",
            "pairs",
        )
    )
    wanted = [row["uid"] for row in stats.get("lowest", []) + stats.get("highest", [])]
    for group in stats.get("duplicate_groups", []):
        wanted += [group["kept"], *group["duplicates"]]
    wanted += [match["uid"] for match in stats.get("eval_matches", [])]
    pictures = _pictures(f"{run_dir}/download", set(wanted[:PICTURES]))
    statuses = stats["statuses"]
    rows = [[name, RULES.get(name, ""), statuses.get(name, 0)] for name in RULES if statuses.get(name)]
    rules = stats["rules"]
    return render(
        "sections/curation.html.j2",
        model=(embed or {}).get("model") or stats.get("model"),
        embed=embed,
        stats=stats,
        rows=rows,
        kept=statuses.get("ok", 0),
        samples=stats["samples_in"],
        chart=chart,
        thresholds=sorted(stats.get("thresholds", {}).items()),
        rules=rules,
        lowest=[{**row, **pictures.get(row["uid"], MISSING)} for row in stats.get("lowest", [])],
        highest=[{**row, **pictures.get(row["uid"], MISSING)} for row in stats.get("highest", [])],
        groups=[_group(group, pictures) for group in stats.get("duplicate_groups", [])],
        eval_matches=[{**match, **pictures.get(match["uid"], MISSING)} for match in stats.get("eval_matches", [])],
        **_proof_tables(run_dir),
    )


def _proof_tables(run_dir: str) -> dict:
    """The rows of ``curation_proof.json`` (``demo --curate``), when the run has one: each
    filter against the synthetic world's truth, and R@1 trained uncurated against curated."""
    from wit_builder.io.json_files import read_json_if_present

    proof = read_json_if_present(f"{run_dir}/curation_proof.json")
    if not isinstance(proof, dict):
        return {"proof_filters": [], "proof_gain": []}
    low, copies = proof["filters"]["low_clip_score"], proof["filters"]["semantic_duplicate"]
    filters = [
        ["low_clip_score", "misaligned captions", low["misaligned_embedded"], low["dropped"],
         _share(low["precision"]), _share(low["recall"])],
        ["semantic_duplicate", "re-rendered copies beyond the first of a group", copies["should_go"],
         copies["dropped"], _share(copies["precision"]), _share(copies["recall"])],
    ]  # fmt: skip
    if (dry := proof["filters"].get("semantic_dedup_not_applied")) is not None:
        filters[1] = [f"SemDeDup at ε {dry['epsilon']} (measured, not applied)",
                      "re-rendered copies beyond the first of a group", dry["should_go"], dry["dropped"],
                      _share(dry["precision"]), _share(dry["recall"])]  # fmt: skip
    gain = [
        [WORDS.get(metric, metric), f"{f['uncurated_mean']:.3f}", f"{f['curated_mean']:.3f}", f"{f['gain_mean']:+.3f}",
         f"{f['seed_spread']:.3f}", "yes" if f.get("beats_seed_noise") else "no",
         "yes" if f["every_seed_gains"] else "no"]
        for metric, f in proof["gain"]["summary"].items()
    ]  # fmt: skip
    return {"proof_filters": filters, "proof_gain": gain, "proof_seeds": len(proof["gain"]["seeds"])}


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"
