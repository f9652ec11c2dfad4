"""A stage that keeps nothing has failed, and says why in one line.

A stage whose every input was dropped used to end "done": download against a web that was no
longer up kept 0 of 539 images (535 ``connection_error``), and only the shard stage after it
failed, far from the cause. So every stage that can keep nothing checks what it kept against
what came in, after its outputs and ``stats.json`` are written (an auditor can read them), and
fails with the reasons that took everything, the largest first, and what to look at.
"""

from __future__ import annotations

from collections.abc import Mapping

from wit_builder.errors import StageFailed


def biggest(reasons: Mapping[str, int], shown: int = 3) -> str:
    """``535 connection_error, 4 http_error``: the reasons with the most, largest first."""
    ranked = sorted(((n, reason) for reason, n in reasons.items() if n), key=lambda item: (-item[0], item[1]))
    text = ", ".join(f"{n:,} {reason}" for n, reason in ranked[:shown])
    return text + (f" and {len(ranked) - shown} more" if len(ranked) > shown else "")


def require_kept(kept: int, total: int, reasons: Mapping[str, int], noun: str, hint: str = "") -> None:
    """``StageFailed`` when ``total`` came in and none of it was kept: ``0 of 539 images kept:
    535 connection_error, 4 http_error; HINT``."""
    if total and not kept:
        why = biggest(reasons) or "no reason counted"
        raise StageFailed(f"0 of {total:,} {noun} kept: {why}" + (f"; {hint}" if hint else ""))
