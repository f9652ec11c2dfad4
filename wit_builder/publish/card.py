"""``README.md``: the shard set's Hugging Face dataset card. Its YAML header is what the Hub and
``datasets.load_dataset(FOLDER)`` read (licence, task categories, languages, size category, and
a ``configs`` entry whose ``data_files`` are the tars, so the folder loads with no other
argument); its body says the same facts as ``croissant.json`` in words (``rai_text``)."""

from __future__ import annotations

import json

from wit_builder import __version__
from wit_builder.publish import rai_text
from wit_builder.publish.facts import ReleaseFacts

SIZE_CATEGORIES = ((10**3, "n<1K"), (10**4, "1K<n<10K"), (10**5, "10K<n<100K"), (10**6, "100K<n<1M"),
                   (10**7, "1M<n<10M"), (10**8, "10M<n<100M"), (10**9, "100M<n<1B"))  # fmt: skip


def size_category(samples: int) -> str:
    return next((name for bound, name in SIZE_CATEGORIES if samples < bound), "1B<n<10B")


def _license_lines(license_: str | None) -> list[str]:
    """The Hub's licence keys: an id as given; a URL as ``other`` with its link; none: unknown."""
    if not license_:
        return ["license: unknown"]
    if "://" in license_:
        return ["license: other", "license_name: custom", f"license_link: {json.dumps(license_)}"]
    return [f"license: {json.dumps(license_.lower())}"]


def dataset_card(facts: ReleaseFacts) -> str:
    languages = [lang for lang in facts.languages if lang != "und"]
    header = [
        "---",
        *_license_lines(facts.release.get("license")),
        f"pretty_name: {json.dumps(facts.name)}",
        "task_categories:",
        "- image-to-text",
        "- text-to-image",
        "- zero-shot-image-classification",
        "language:",
        *[f"- {lang}" for lang in languages],
        "size_categories:",
        f"- {size_category(facts.samples)}",
        "tags:",
        "- webdataset",
        "- clip",
        "- wit-builder",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        '    path: "[0-9]*.tar"',
        "---",
    ]
    tars = len(facts.tars)
    total_bytes = sum(tar.bytes for tar in facts.tars)
    body = [
        f"# {facts.name}",
        "",
        f"{facts.samples:,} image-text pairs in {tars:,} WebDataset tar shard(s) ({total_bytes / 1e6:,.1f} MB), "
        f"collected with wit-builder {__version__}. Each sample is `KEY.jpg` (or another image type), `KEY.txt` "
        "(the caption) and `KEY.json` (its URL, page, source, matched queries, language, sizes and hashes); each "
        "tar has a Parquet index beside it, and `croissant.json` describes the set in Croissant 1.1 with RAI.",
        "",
        "## Load it",
        "",
        "```python",
        "import datasets",
        "",
        'data = datasets.load_dataset("PATH/TO/THIS/FOLDER")  # or the Hub repository',
        "```",
        "",
        "open_clip: `--train-data` from `manifest.json` (`train_data`), with `--dataset-type webdataset`.",
        "",
        "## Languages",
        "",
        "| language | samples | queries matched | head share (top 1% of queries) | tail share (bottom half) |",
        "| --- | --- | --- | --- | --- |",
        *[
            f"| {lang} | {lf.samples:,} | {lf.queries:,} | {lf.head_share:.0%} | {lf.tail_share:.0%} |"
            for lang, lf in facts.languages.items()
        ],
        "",
        "## How it was collected",
        "",
        *[f"- {line}" for line in rai_text.collection(facts)],
        "",
        "## Preprocessing",
        "",
        *[f"- {line}" for line in rai_text.preprocessing(facts)],
        "",
        "## Personal and sensitive information",
        "",
        *[f"- {line}" for line in rai_text.personal_information(facts)],
        "",
        "## Known biases",
        "",
        *[f"- {line}" for line in rai_text.biases(facts)],
        "",
        "## Limitations",
        "",
        *[f"- {line}" for line in rai_text.LIMITATIONS],
        "",
        "## Removal requests",
        "",
        "Samples are removed on request with `wit-builder takedown`: the shards holding them are rewritten, and "
        f"this card, `croissant.json` and `manifest.json` follow. Takedowns so far: {facts.takedowns:,} "
        "(`takedowns.jsonl`).",
    ]
    if facts.release.get("citation"):
        body += ["", "## Citation", "", "```", facts.release["citation"], "```"]
    return "\n".join([*header, "", *body]) + "\n"
