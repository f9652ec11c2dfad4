"""JSON files the stages write for people and for later stages (``stats.json``, manifests)."""

from __future__ import annotations

import json
from typing import Any

import fsspec


def write_json(path: str, document: Any, *, ensure_ascii: bool = True) -> None:
    """``document`` indented for people, with a final newline, through fsspec."""
    with fsspec.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, ensure_ascii=ensure_ascii)
        handle.write("\n")
