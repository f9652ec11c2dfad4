"""The queries stage's last step, on one worker: every source's candidates gathered, the union
(or the target size), and the three output files: ``queries.parquet``, ``queries.txt`` and
``stats.json``."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import apache_beam as beam
import fsspec

from wit_builder.io.json_files import write_json
from wit_builder.queries.inputs import QueryInputs
from wit_builder.queries.selection import ALWAYS_IN, SOURCE_ORDER, Candidate, select_target_size, union
from wit_builder.queries.settings import QueryRules
from wit_builder.schemas import table_from_rows, write_table


def gather(candidates: dict, target_size: int | None):
    """One list per source; with a target size, only each source's best ``target_size``."""
    gathered = {}
    for source in SOURCE_ORDER:
        collection = candidates[source]
        if target_size is None:
            gathered[source] = collection | f"Gather{source}" >> beam.combiners.ToList()
        else:
            gathered[source] = collection | f"Top{source}" >> beam.combiners.Top.Of(
                target_size, key=Candidate.rank_key, reverse=True
            )
    return gathered


def write_query_list(
    _: None,
    out_dir: str,
    rules: QueryRules,
    inputs: QueryInputs,
    stats: dict,
    errors: list[tuple[str, str]],
    **by_source: list[Candidate],
) -> dict:
    """The last step, on one worker: union (or target size), then the three output files."""
    numbers = {c.query: c for c in by_source["unigram"] if c.query in ALWAYS_IN}
    if rules.target_size is None:
        chosen, overlap = union(by_source)
    else:
        forced = [numbers.get(n, Candidate(n, "unigram", 0.0, 0)) for n in ALWAYS_IN]
        chosen, overlap = select_target_size(by_source, rules.target_size, forced)
    chosen_queries = {c.query for c in chosen}
    missing_numbers = [n for n in ALWAYS_IN if n not in chosen_queries]
    chosen += [Candidate(n, "unigram", 0.0, 0) for n in missing_numbers]  # always in, even unseen
    chosen.sort(key=lambda c: c.query)
    out = out_dir.rstrip("/")
    table = table_from_rows([asdict(c) for c in chosen], "queries")
    write_table(table, f"{out}/queries.parquet", "queries")
    with fsspec.open(f"{out}/queries.txt", "wt", encoding="utf-8") as handle:
        handle.writelines(c.query + "\n" for c in chosen)
    per_source = Counter(c.source for c in chosen)
    report = {
        "inputs": {"wiki_dump": list(inputs.wiki_dump), "pageviews": list(inputs.pageviews), "wordnet": inputs.wordnet},
        "unreadable_files": [{"path": path, "error": error} for path, error in [*inputs.unreadable, *sorted(errors)]],
        "rules": asdict(rules),
        "counts": dict(sorted(stats.items())),
        "candidates_per_source": {s: len(by_source[s]) for s in SOURCE_ORDER},
        "queries_per_source": {s: per_source.get(s, 0) for s in SOURCE_ORDER},
        "overlap_removed": overlap,
        "numbers_added_unseen": len(missing_numbers),
        "queries": len(chosen),
    }
    write_json(f"{out}/stats.json", report)
    return report
