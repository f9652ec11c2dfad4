"""Shard URL lists as WebDataset and open_clip write them: sources joined with ``::``, each a
path or URL with brace patterns (``gs://b/set/{000000..000123}.tar``). Shared by ``verify``
and the trainer, so both accept the same strings."""

from __future__ import annotations

from braceexpand import braceexpand


def expand_urls(spec: str) -> list[str]:
    """Every URL of ``spec``, in order (``a/{0..2}.tar::b/x.tar`` gives four)."""
    urls: list[str] = []
    for source in spec.split("::"):
        source = source.strip()
        if source:
            urls.extend(braceexpand(source))
    return urls
