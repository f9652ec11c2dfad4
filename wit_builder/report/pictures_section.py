"""The run report's "Pictures of what was kept and dropped": what an auditor asks to see.

- **Per query**: for the most-matched queries of the final set (the shard stage's indexes, or
  the download stage's samples when no shard ran), and for every query an auditor names
  (``wit-builder report RUN --queries q1,q2``, kept in ``RUN/report/queries.txt``), a strip of
  kept thumbnails with their captions and languages.
- **Per drop reason decided on an image**: ``duplicate``, each copy beside the copy kept;
  ``too_small``, drawn to scale against the minimum; ``decode_error`` and ``not_image``, what was
  received, in words.
- **Never** a picture of a ``blocklisted``, ``eval_duplicate`` or opted-out image: the stages do
  not keep those bytes, and this section shows only images that passed every filter (a
  duplicate is dropped after the filters; a too-small image before them, so it is drawn, not
  shown).

Thumbnails are 96 px JPEGs embedded as data URIs, so the page opens offline. The section is
bounded at any scale: at most ``TOP_QUERIES`` + ``NAMED_QUERIES`` strips of ``PER_STRIP``
pictures, and ``PER_STRIP`` examples of each reason, so at most 176 pictures (about 3 KB each:
well under 1 MB), however large the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import fsspec

from wit_builder.report.templating import render
from wit_builder.report.thumbnails import data_uri, thumbnail
from wit_builder.schemas import read_batches

TOP_QUERIES = 10
NAMED_QUERIES = 10
PER_STRIP = 8
CANDIDATES = 4  # samples considered a query, in strips: so that common queries show different pictures
CAPTION_CHARS = 90
QUERIES_FILE = "report/queries.txt"
TEXT_REASONS = ("decode_error", "not_image")


def named_queries(run_dir: str) -> list[str]:
    """The queries an auditor named with ``report --queries`` (one a line), at most ``NAMED_QUERIES``."""
    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    path = f"{run_dir}/{QUERIES_FILE}"
    if not filesystem.exists(path):
        return []
    with filesystem.open(path, "r", encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    return list(dict.fromkeys(line for line in lines if line))[:NAMED_QUERIES]


def _files(folder: str, pattern: str) -> list[str]:
    filesystem, _ = fsspec.core.url_to_fs(folder)
    return sorted(filesystem.glob(f"{folder}/{pattern}"))


def _final_rows(run_dir: str) -> tuple[str, Iterator[tuple[str, list[str], str, str | None]]]:
    """(where from, (uid, matches, caption, lang) of every sample of the final set, in order)."""
    indexes = [p for p in _files(f"{run_dir}/shard", "*.parquet") if p.rsplit("/", 1)[-1][:1].isdigit()]
    if indexes:
        return "the shards", _rows(indexes, "shard_index")
    return "the download stage's samples", _rows(_files(f"{run_dir}/download", "samples/*.parquet"), "samples")


def _rows(paths: Iterable[str], schema: str) -> Iterator[tuple[str, list[str], str, str | None]]:
    columns = ["uid", "matches", "text", "lang"]
    for path in paths:
        for table in read_batches(path, schema, columns):
            yield from zip(*(table.column(name).to_pylist() for name in columns), strict=True)


def _chosen_per_query(run_dir: str, named: list[str]) -> tuple[str, list[tuple[str, int, list[dict]]]]:
    """The queries shown and, for each, its kept count and its first ``PER_STRIP`` samples."""
    source, rows = _final_rows(run_dir)
    counts: Counter[str] = Counter()
    for _, matches, _, _ in rows:
        counts.update(matches)
    queries = [query for query, _ in counts.most_common(TOP_QUERIES)]
    queries += [query for query in named if query not in queries]
    candidates: dict[str, list[dict]] = {query: [] for query in queries}
    _, rows = _final_rows(run_dir)
    for uid, matches, caption, lang in rows:
        for query in matches:
            picked = candidates.get(query)
            if picked is not None and len(picked) < CANDIDATES * PER_STRIP:
                picked.append({"uid": uid, "caption": _short(caption), "lang": lang or "en"})
    shown: set[str] = set()
    strips = []
    for query in queries:  # a sample already shown for another query is shown again only if it must be
        fresh = [row for row in candidates[query] if row["uid"] not in shown]
        again = [row for row in candidates[query] if row["uid"] in shown]
        chosen = (fresh + again)[:PER_STRIP]
        shown.update(row["uid"] for row in chosen)
        strips.append((query, counts.get(query, 0), chosen))
    return source, strips


def _short(text: str) -> str:
    return text if len(text) <= CAPTION_CHARS else text[: CAPTION_CHARS - 1] + "…"


def images_of(paths: Iterable[str], schema: str, uids: set[str]) -> dict[str, bytes]:
    """The image bytes of ``uids`` from sample files, reading the image column only of the row
    groups that hold one of them."""
    import pyarrow.parquet as pq

    found: dict[str, bytes] = {}
    for path in paths:
        if len(found) == len(uids):
            break
        with fsspec.open(path, "rb") as handle:
            parquet = pq.ParquetFile(handle)
            for group in range(parquet.num_row_groups):
                ids = parquet.read_row_group(group, columns=["uid"]).column("uid").to_pylist()
                rows = [i for i, uid in enumerate(ids) if uid in uids and uid not in found]
                if rows:
                    images = parquet.read_row_group(group, columns=["image"]).column("image")
                    for i in rows:
                        found[ids[i]] = images[i].as_py()
    return found


def _uri(data: bytes | None) -> str | None:
    if not data:
        return None
    try:
        return data_uri(thumbnail(data))
    except Exception:  # a stored image that no longer decodes: shown as missing, never fatal
        return None


def _status_examples(download_dir: str) -> dict[str, list[dict]]:
    """The first ``PER_STRIP`` status rows of each reason shown: duplicates, too small, and
    those whose bytes were not an image."""
    shown = ("duplicate", "too_small", *TEXT_REASONS)
    examples: dict[str, list[dict]] = {reason: [] for reason in shown}
    columns = ["uid", "url", "status", "error", "duplicate_of"]
    for path in _files(download_dir, "status/*.parquet"):
        for table in read_batches(path, "status", columns):
            for uid, url, status, error, copy in zip(*(table.column(c).to_pylist() for c in columns), strict=True):
                picked = examples.get(status)
                if picked is not None and len(picked) < PER_STRIP:
                    picked.append({"uid": uid, "host": urlsplit(url).netloc, "error": error or "", "copy": copy})
        if all(len(v) >= PER_STRIP for v in examples.values()):
            break
    return examples


def _to_scale(error: str, minimum: int) -> dict | None:
    """A too-small image's size from its status sentence ("20×15 < 32 px"), to draw."""
    try:
        size = error.split(" ", 1)[0]
        width, height = (int(side) for side in size.split("×"))
    except ValueError:
        return None
    return {"width": width, "height": height, "minimum": minimum, "scale": 48 / max(minimum, width, height, 1)}


def pictures_section(run_dir: str, all_stats: Mapping[str, Any]) -> str | None:
    stats = all_stats.get("download")
    if stats is None:
        return None
    download_dir = f"{run_dir}/download"
    named = named_queries(run_dir)
    source, per_query = _chosen_per_query(run_dir, named)
    examples = _status_examples(download_dir)
    wanted = {row["uid"] for _, _, rows in per_query for row in rows}
    wanted |= {row["copy"] for row in examples["duplicate"] if row["copy"]}
    kept_images = images_of(_files(download_dir, "samples/*.parquet"), "samples", wanted)
    duplicates = images_of(_files(download_dir, "work/fetched/*.parquet"), "samples",
                           {row["uid"] for row in examples["duplicate"]})  # fmt: skip
    strips = [
        {"query": query, "count": count, "named": query in named,
         "samples": [{**row, "uri": _uri(kept_images.get(row["uid"]))} for row in rows]}
        for query, count, rows in per_query
    ]  # fmt: skip
    pairs = [
        {"host": row["host"], "copy_uri": _uri(duplicates.get(row["uid"])),
         "kept_uri": _uri(kept_images.get(row["copy"])), "uid": row["uid"], "kept": row["copy"]}
        for row in examples["duplicate"]
    ]  # fmt: skip
    minimum = int(stats.get("rules", {}).get("min_image_size") or 0)
    small = [{**row, "box": _to_scale(row["error"], minimum)} for row in examples["too_small"]]
    received = {reason: examples[reason] for reason in TEXT_REASONS if examples[reason]}
    counts = stats.get("statuses", {})
    return render(
        "sections/pictures.html.j2",
        source=source,
        strips=strips,
        pairs=pairs,
        small=small,
        received=received,
        counts=counts,
        per_strip=PER_STRIP,
    )
