"""The balance stage's settings: its inputs and its sampling rules, with their flags."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.capping.rules import BalanceRules
from wit_builder.stage_settings import Settings, nested, option


@dataclass(frozen=True, kw_only=True)
class BalanceSettings(Settings):
    """``wit-builder balance``."""

    candidates: tuple[str, ...] = option(
        metavar="PATH", role="input", help="the harvest stage's folder, or candidate Parquet files / globs (may repeat)"
    )
    queries: str | None = option(
        None,
        metavar="PATH",
        role="input",
        help="the query list, for each query's source and the queries that matched nothing "
        "(default: the one the harvest folder was matched against)",
    )
    out: str = option(metavar="DIR", role="out", help="writes balanced/*.parquet, report/, stats.json")
    rules: BalanceRules = nested(BalanceRules)
