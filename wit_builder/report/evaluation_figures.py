"""The training evaluation's figures (``train/eval.json``) as people read them: each with its
name in words and its chance level, for the run report's table. Apart from the trainer, so the
report reads an eval.json without importing torch."""

from __future__ import annotations

_DIRECTIONS = {"image_to_text": "image → text", "text_to_image": "text → image"}
# Counts and chance levels that eval.json holds beside the figures: read, not listed as figures.
_NOT_FIGURES = {"n", "classes", "zeroshot_n", "chance_R@1", "zeroshot_chance"}


def metric_name(key: str) -> str:
    """A figure's name in words: ``image_to_text_R@1`` → ``image → text R@1``, ``zeroshot_top5``
    → ``zero-shot top-5``; a key this list does not know is shown as it is."""
    for prefix, words in _DIRECTIONS.items():
        if key.startswith(prefix + "_"):
            return f"{words} {key[len(prefix) + 1 :]}"
    if key.startswith("zeroshot_top"):
        return f"zero-shot top-{key.removeprefix('zeroshot_top')}"
    return key.replace("_", " ")


def evaluation_figures(results: dict) -> list[tuple[str, float, float | None]]:
    """Each figure of an evaluation with its name in words and its chance level: R@k by chance is
    k/n, zero-shot top-k is k/classes. For the report's table."""
    rows = []
    for key, value in results.items():
        if key in _NOT_FIGURES or not isinstance(value, int | float):
            continue
        k = key.rsplit("@", 1)[-1] if "@" in key else key.removeprefix("zeroshot_top")
        if "@" in key and results.get("n"):
            chance = min(1.0, int(k) / results["n"]) if k.isdigit() else None
        elif key.startswith("zeroshot_top") and results.get("classes"):
            chance = min(1.0, int(k) / results["classes"]) if k.isdigit() else None
        else:
            chance = None
        rows.append((metric_name(key), float(value), chance))
    return rows
