"""The run report's "Languages" section: a worldwide run, language by language.

For each language: the wiki text its list was built from and the rule it got (CLIP's
thresholds or Meta CLIP 2's shares), its queries by source, the captions harvest identified in
it and kept, the t balance gave it and why (its tail share against English's), its head (the
queries matched most) and its tail, and the samples in the shards. It reads the queries,
harvest and balance ``stats.json``, balance's per-query report and the shard index files, so
``wit-builder report RUN`` rebuilds it. A run of an English-only list has no such section.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import fsspec

from wit_builder.report.templating import render
from wit_builder.schemas import damage_named

HEAD = 5  # queries shown as a language's head


def _report_rows(run_dir: str) -> list[dict]:
    import pyarrow.parquet as pq

    path = f"{run_dir}/balance/report/balance.parquet"
    filesystem, _ = fsspec.core.url_to_fs(path)
    if not filesystem.exists(path):
        return []
    with filesystem.open(path, "rb") as handle, damage_named(path):
        table = pq.read_table(handle)
    return table.to_pylist() if "lang" in table.column_names else []


def _shard_languages(run_dir: str) -> Counter[str]:
    """Samples per language in the shard index files."""
    import pyarrow.parquet as pq

    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    counts: Counter[str] = Counter()
    for path in sorted(filesystem.glob(f"{run_dir}/shard/*.parquet")):
        with filesystem.open(path, "rb") as handle, damage_named(path):
            parquet = pq.ParquetFile(handle)
            if "lang" in parquet.schema_arrow.names:
                counts.update(lang or "en" for lang in parquet.read(columns=["lang"]).column("lang").to_pylist())
    return counts


def languages_section(run_dir: str, all_stats: Mapping[str, Any]) -> str | None:
    queries = (all_stats.get("queries") or {}).get("languages") or {}
    harvest = (all_stats.get("harvest") or {}).get("languages") or {}
    balance = ((all_stats.get("balance") or {}).get("queries") or {}).get("languages") or {}
    if len(set(queries) | set(harvest) | set(balance)) < 2:
        return None  # an English-only run
    langs = sorted(set(queries) | set(harvest) | set(balance), key=lambda lang: (lang != "en", lang))
    rows = _report_rows(run_dir)
    samples = _shard_languages(run_dir)
    overview, heads = [], []
    for lang in langs:
        q, h, b = queries.get(lang, {}), harvest.get(lang, {}), balance.get(lang, {})
        per_source = q.get("queries_per_source", {})
        overview.append(
            [
                lang,
                q.get("tokens", 0),
                q.get("rule", "—"),
                q.get("queries", 0),
                ", ".join(f"{s}\u00a0{n}" for s, n in per_source.items() if n),  # a source and its count never split
                h.get("identified", 0),
                h.get("kept", 0),
                b.get("t", "—"),
                b.get("rule", "—"),
                b.get("kept_matches", 0),
                samples.get(lang, 0),
            ]
        )
        mine = sorted(
            (row for row in rows if (row["lang"] or "en") == lang and row["matched"]), key=lambda r: -r["matched"]
        )
        t = b.get("t")
        tail = [row for row in mine if t is not None and row["matched"] < t]
        heads.append(
            {
                "lang": lang,
                "t": t,
                "head": [[row["query"], row["matched"], row["kept"], f"{row['p_keep']:.3f}"] for row in mine[:HEAD]],
                "tail_queries": len(tail),
                "tail_matches": sum(row["matched"] for row in tail),
                "matches": sum(row["matched"] for row in mine),
                "tail_share": b.get("tail_share"),
            }
        )
    return render("sections/languages.html.j2", overview=overview, heads=heads, has_samples=bool(samples))
