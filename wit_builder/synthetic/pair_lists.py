"""URL + caption lists in the layouts public data sets ship them in.

- ``cc3m.tsv``: ``caption<TAB>url``, no header (Conceptual Captions 3M)
- ``cc12m.tsv``: ``url<TAB>caption``, no header (Conceptual 12M)
- ``laion.parquet``: ``URL``, ``TEXT``, ``WIDTH``, ``HEIGHT`` (LAION-400M/5B metadata)
- ``datacomp.parquet``: ``uid``, ``url``, ``text`` (DataComp pools)
- ``pairs.jsonl``: one ``{"url": ..., "caption": ...}`` object a line

Each list holds a deterministic share of the catalogue's images plus the junk real lists carry:
``data:`` and ``ftp:`` URLs, a relative URL, empty and overlong captions, HTML entities and
tags (``with_html``), and the same URL twice with different captions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.synthetic.catalog import DATA_URI, WebCatalog
from wit_builder.synthetic.opt_out_sites import META_FAULTS
from wit_builder.synthetic.seeding import python_rng

LIST_FILES = ("cc3m.tsv", "cc12m.tsv", "laion.parquet", "datacomp.parquet", "pairs.jsonl")


def pair_rows(catalog: WebCatalog, base_urls: list[str], list_name: str) -> list[tuple[str, str]]:
    """(url, caption) rows of one list: about a third of the images, then the junk rows."""
    rng = python_rng(catalog.config.seed, "pair-list", list_name)
    # Images whose only page opts out are in no list: their fate rests on the page's signal.
    rows = [
        (image.url(base_urls), catalog.caption_in_its_language(image))
        for image in catalog.images
        if rng.random() < 0.35 and image.fault not in META_FAULTS
    ]
    rows = with_html(rows, python_rng(catalog.config.seed, "pair-list-html", list_name))
    if rows:
        url, caption = rows[0]
        rows.append((url, caption + " seen again"))
        rows.append((rows[1 % len(rows)][0], rows[1 % len(rows)][1].replace(" and ", " &amp; ")))
    rows += [
        (DATA_URI, "a tiny inline placeholder"),
        ("ftp://127.0.0.1/pub/picture.jpg", "a picture served over ftp"),
        ("/img/relative-only.jpg", "a relative URL with no page to resolve it against"),
        (base_urls[0] + "/img/0.jpg", ""),
        (base_urls[0] + "/img/1.jpg", "red " * 400),
    ]
    return rows


# About one caption in 200 of a real list carries HTML (45 of 10,000 kept LAION captions in
# img2dataset's test list): line breaks, italics, bold, emphasis, with entities beside them.
HTML_SHARE = 0.005
HTML_FORMS = ("{a}<br /> {b}", "<i>{a}</i> {b}", "<b>{a}</b> {b}", "{a} <em>{b}</em>", "{a}<br>{b}")


def with_html(rows: list[tuple[str, str]], rng) -> list[tuple[str, str]]:
    """``rows`` with HTML tags in about ``HTML_SHARE`` of the captions (at least one), placed
    between words so that a cleaned caption is the caption again."""
    if not rows:
        return rows
    wanted = max(1, round(HTML_SHARE * len(rows)))
    chosen = set(rng.sample(range(len(rows)), min(wanted, len(rows))))
    tagged = []
    for index, (url, caption) in enumerate(rows):
        words = caption.split(" ")
        if index in chosen and len(words) > 1:
            cut = 1 + rng.randrange(len(words) - 1)
            form = rng.choice(HTML_FORMS)
            caption = form.format(a=" ".join(words[:cut]), b=" ".join(words[cut:]))
        tagged.append((url, caption))
    return tagged


def _tsv_field(text: str) -> str:
    """TSV cells cannot hold tabs or newlines; real lists replace them with spaces."""
    return text.replace("\t", " ").replace("\n", " ")


def write_pair_lists(catalog: WebCatalog, base_urls: list[str], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_id = {image.url(base_urls): image for image in catalog.images}
    written = []
    for name in LIST_FILES:
        rows = pair_rows(catalog, base_urls, name)
        path = out / name
        if name == "cc3m.tsv":
            path.write_text("".join(f"{_tsv_field(c)}\t{u}\n" for u, c in rows))
        elif name == "cc12m.tsv":
            path.write_text("".join(f"{u}\t{_tsv_field(c)}\n" for u, c in rows))
        elif name == "pairs.jsonl":
            path.write_text("".join(json.dumps({"url": u, "caption": c}, ensure_ascii=False) + "\n" for u, c in rows))
        elif name == "laion.parquet":
            table = pa.table(
                {
                    "URL": [u for u, _ in rows],
                    "TEXT": [c for _, c in rows],
                    "WIDTH": pa.array([by_id[u].width if u in by_id else None for u, _ in rows], pa.int64()),
                    "HEIGHT": pa.array([by_id[u].height if u in by_id else None for u, _ in rows], pa.int64()),
                }
            )
            pq.write_table(table, path)
        else:
            table = pa.table(
                {
                    "uid": [hashlib.md5(f"{u}\x1f{c}".encode()).hexdigest() for u, c in rows],
                    "url": [u for u, _ in rows],
                    "text": [c for _, c in rows],
                }
            )
            pq.write_table(table, path)
        written.append(path)
    return written
