"""``wit-builder recheck``'s settings: what is re-checked, where the findings go, what a finding
removes, and how politely the hosts are asked. Light to import: the CLI builds its flags here
without aiohttp."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.download.settings import FetchSettings
from wit_builder.stage_settings import Settings, nested, option

# What a re-check can find for a sample. The first two are no drift; the next three are drift a
# takedown may remove; ``unreachable`` is a sample that could not be checked this time.
OUTCOMES = ("consented", "unchanged", "opted_out", "gone", "changed", "unreachable")
DRIFT = ("opted_out", "gone", "changed")


def drift_reasons(text: str) -> frozenset[str]:
    """``--remove``'s value: drift findings separated by commas; an unknown one is a ValueError."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(names - set(DRIFT))
    if unknown or not names:
        raise ValueError(f"expected findings from {', '.join(DRIFT)}, separated by commas, got {text!r}")
    return frozenset(names)


@dataclass(frozen=True, kw_only=True)
class RecheckSettings(Settings):
    """How a published shard set is checked again against the web it came from."""

    out: str | None = option(
        None,
        metavar="DIR",
        role="out",
        help="writes recheck.json, drift.parquet, host_files.parquet and takedown-request.txt "
        "(default: recheck/TIME beside the shard folder)",
    )
    refetch: bool = option(
        False,
        help="also request every sample's image again: finds URLs gone (404, 410), content changed (another "
        "SHA-256) and opt-outs sent in response headers",
    )
    host_interval: float = option(
        0.1,
        metavar="S",
        help="least seconds between two requests to one host (a robots.txt Crawl-delay that asks for more wins)",
        low=0,
        high=3600,
    )
    remove: frozenset[str] = option(
        frozenset({"opted_out"}),
        metavar="LIST",
        parse=drift_reasons,
        shown="opted_out",
        help="the findings the takedown request names: opted_out, gone, changed",
    )
    apply: bool = option(False, help="run the takedown the request file describes, on the shard set itself")
    reason: str | None = option(
        None, metavar="TEXT", help="the takedown's reason, logged in takedowns.jsonl (default: the findings' counts)"
    )
    by: str | None = option(None, metavar="NAME", help="who applied the takedown (default: the user running it)")
    fetch: FetchSettings = nested(FetchSettings, group="fetching (as download's; --ignore-opt-out narrows the "
                                  "signals honoured at collection)")  # fmt: skip
