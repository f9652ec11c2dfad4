"""Counts in words, for the lines and pages people read: ``1 pair``, ``2 pairs``, ``1,204 tail
queries``. One rule, so a page never says "1 tail queries" or "dropped 1 pairs"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` with thousands separators and ``noun`` in the number it takes: the singular for
    exactly one, else ``plural`` (default: ``noun`` + "s")."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"
