"""The Responsible-AI facts of a release in words, from the stages' records: written into
``croissant.json`` (RAI 1.0 properties) and the dataset card alike, so the two never disagree.
A stage whose record is missing (a shard set made from another tool's samples) is said to be
unknown, never guessed."""

from __future__ import annotations

from wit_builder.publish.facts import ReleaseFacts
from wit_builder.wording import counted

UNKNOWN = "not recorded (the stage's stats.json was not beside the samples the shards were made from)"

LIMITATIONS = (
    "Captions are the web's alt text, matched to a query by substring: a caption can match a query and still "
    "not describe its image.",
    "The query list decides what is collected: subjects absent from the Wikipedia-derived list are absent here.",
    "Opt-out signals were read when the images were fetched; a site may have changed its mind since.",
    "Face blurring finds frontal faces of a reasonable size; a face it missed is not blurred.",
    "Perceptual-hash deduplication misses copies changed beyond its radius (a re-shot product photo).",
    "Language identification of short captions is uncertain; a caption's language can be wrong.",
)


def collection(facts: ReleaseFacts) -> list[str]:
    lines = []
    if facts.crawls:
        crawls = ", ".join(f"{crawl} ({facts.sources[crawl]:,} samples)" for crawl in facts.crawls)
        lines.append(f"Common Crawl WAT files of crawl(s) {crawls}.")
    lists = {name: n for name, n in facts.sources.items() if name not in facts.crawls}
    if lists:
        lines.append(
            "URL and caption lists: " + ", ".join(f"{name} ({n:,} samples)" for name, n in lists.items()) + "."
        )
    download = facts.stage("download")
    opt_out = download.get("opt_out")
    if opt_out:
        honoured = ", ".join(opt_out.get("honoured", [])) or "none"
        by_signal = opt_out.get("opted_out_by_signal", {})
        refused = ", ".join(f"{signal} {n:,}" for signal, n in sorted(by_signal.items())) or "none"
        lines.append(
            f"Images were fetched by wit-builder's downloader, honouring these opt-out signals: {honoured}; "
            f"pairs refused by each: {refused}."
        )
    else:
        lines.append(f"Opt-out signals honoured: {UNKNOWN}.")
    if "consent" in facts.index_columns:
        lines.append(
            "Each sample records when it was fetched, the SHA-256 of the bytes its URL served, and the host files "
            "(robots.txt, tdmrep.json, ai.txt) that allowed it, with their digests and fetch times (fields "
            "fetched_at, body_sha256, consent)."
        )
    return lines


def preprocessing(facts: ReleaseFacts) -> list[str]:
    lines = []
    queries = facts.stage("queries")
    if queries:
        total = queries.get("queries_written") or queries.get("kept") or queries.get("queries")
        lines.append(f"A query list built from Wikipedia titles and WordNet ({_number(total)} queries).")
    harvest = facts.stage("harvest")
    if harvest:
        dropped = _dropped(harvest.get("dropped", {}))
        lines.append(
            f"Harvest: {harvest.get('pairs_read', 0):,} pairs read, {harvest.get('kept', 0):,} kept whose caption "
            f"contains a query; dropped: {dropped}."
        )
    balance = facts.stage("balance")
    if balance:
        per_language = balance.get("queries", {}).get("languages", {})
        caps = ", ".join(f"{lang} t={entry.get('t')}" for lang, entry in sorted(per_language.items()))
        lines.append(
            f"Balance: at most t pairs per query ({caps or 't=' + str(balance.get('rules', {}).get('per_query'))}); "
            f"{balance.get('kept', 0):,} of {balance.get('pairs_in', 0):,} pairs kept."
        )
    download = facts.stage("download")
    if download:
        statuses = {k: v for k, v in download.get("statuses", {}).items() if k != "ok"}
        rules = download.get("rules", {})
        lines.append(
            f"Download: {download.get('ok', 0):,} of {download.get('pairs_in', 0):,} images kept, verified, "
            f"deduplicated by perceptual hash (radius {rules.get('max_distance', '?')}) and resized to "
            f"{rules.get('image_size', '?')} px ({rules.get('resize_mode', '?')}); dropped: {_dropped(statuses)}."
        )
    shard = facts.shard_stats or {}
    if shard:
        rejected = _dropped(shard.get("rejected", {}))
        lines.append(f"Shard: {shard.get('written', facts.samples):,} samples written; rejected: {rejected}.")
    if facts.takedowns:
        lines.append(f"{counted(facts.takedowns, 'takedown')} applied since (takedowns.jsonl).")
    return lines or [f"Preprocessing: {UNKNOWN}."]


def personal_information(facts: ReleaseFacts) -> list[str]:
    download = facts.stage("download")
    harvest = facts.stage("harvest")
    lines = [
        f"Faces: {facts.faces_blurred_samples:,} of {facts.samples:,} images had faces blurred"
        f" ({download.get('faces_blurred', facts.faces_blurred_samples):,} at download)."
    ]
    lists = dict(harvest.get("blocklisted_by_list", {}))
    for name, n in download.get("blocklisted_by_list", {}).items():
        lists[name] = lists.get(name, 0) + n
    if lists:
        named = ", ".join(f"{name} ({n:,} removed)" for name, n in sorted(lists.items()))
        lines.append(f"Blocklists applied, by name (their contents are not published): {named}.")
    else:
        lines.append("No blocklist was applied." if download else f"Blocklists: {UNKNOWN}.")
    evaluation = download.get("eval_sets", {}).get("duplicates_by_set", {})
    if evaluation:
        named = ", ".join(f"{name} ({n:,})" for name, n in sorted(evaluation.items()))
        lines.append(f"Near copies of evaluation images removed: {named}.")
    lines.append("Captions are public alt text and may name people; they were not filtered for names.")
    return lines


def biases(facts: ReleaseFacts) -> list[str]:
    lines = [
        f"{lang}: {lf.samples:,} samples over {lf.queries:,} matched queries; the most-matched 1% of queries take "
        f"{lf.head_share:.0%} of the matches, the least-matched half {lf.tail_share:.0%}."
        for lang, lf in facts.languages.items()
    ]
    lines.append(
        "Queries come from one encyclopedia's titles and page views: its coverage of places, people and "
        "languages carries over."
    )
    return lines


def rai_properties(facts: ReleaseFacts) -> dict:
    return {
        "rai:dataCollection": " ".join(collection(facts)),
        "rai:dataCollectionType": ["Web Scraping"],
        "rai:dataCollectionRawData": "Common Crawl WAT metadata and public URL+caption lists; images fetched from "
        "their URLs.",
        "rai:dataPreprocessingProtocol": preprocessing(facts),
        "rai:dataManipulationProtocol": "Images were re-encoded and resized; faces were blurred where found. "
        "Captions are kept as found, HTML entities decoded.",
        "rai:personalSensitiveInformation": personal_information(facts),
        "rai:dataBiases": biases(facts),
        "rai:dataLimitations": list(LIMITATIONS),
        "rai:dataUseCases": "Training and evaluating contrastive image-text models (CLIP-style) for research.",
        "rai:dataReleaseMaintenancePlan": "Samples are removed on request with `wit-builder takedown`, which "
        "rewrites the affected shards, updates this file and logs the request in takedowns.jsonl. Consent and "
        "content are re-checked after release with `wit-builder recheck`, which fetches every host's robots.txt, "
        "tdmrep.json and ai.txt again (and, with --refetch, every image) and takes down what now opts out.",
    }


def _dropped(counts: dict) -> str:
    shown = [f"{reason} {n:,}" for reason, n in sorted(counts.items()) if isinstance(n, int) and n]
    return ", ".join(shown) or "none"


def _number(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"
