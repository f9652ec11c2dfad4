"""The balance stage's settings: its inputs and its sampling rules, with their flags."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.stage_settings import nested, option

SAMPLING, TUNING = "sampling", "tuning"


@dataclass(frozen=True, kw_only=True)
class BalanceRules:
    """How many pairs each query keeps. The shard stage applies the same rule for its final cap."""

    per_query: int | None = option(
        20_000, metavar="T", group=SAMPLING, help="keep about T pairs per query (none: no cap, a report only)"
    )
    oversample: float = option(
        1.0, metavar="F", group=SAMPLING, help="keep min(1, F*T/n) to leave room for download failures"
    )
    seed: int = option(0, group=SAMPLING, help="seed of the sampling decisions")
    count_fanout: int = option(4, metavar="N", group=TUNING, help="hot-key fan-out of the per-query sums")
    count_shards: int = option(
        64,
        metavar="S",
        group=TUNING,
        help="per-query counts travel in S blobs per file; the result does not depend on it",
    )
    batch_rows: int = option(
        65_536, metavar="N", group=TUNING, help="rows read and written at a time: the row groups of the output files"
    )

    def __post_init__(self) -> None:
        if self.per_query is not None and self.per_query < 1:
            raise ValueError(f"--per-query must be at least 1, not {self.per_query}")
        if self.oversample < 1.0:
            raise ValueError(f"--oversample must be at least 1, not {self.oversample}")

    def p_keep(self, matched: int) -> float:
        from wit_builder.balance.sampling import keep_probability

        return keep_probability(matched, self.per_query, self.oversample)


@dataclass(frozen=True, kw_only=True)
class BalanceSettings:
    """``wit-builder balance``."""

    candidates: tuple[str, ...] = option(
        metavar="PATH", role="input", help="the harvest stage's folder, or candidate Parquet files / globs (may repeat)"
    )
    queries: str | None = option(
        None, metavar="PATH", role="input",
        help="the query list, for each query's source and the queries that matched nothing "
        "(default: the one the harvest folder was matched against)",
    )  # fmt: skip
    out: str = option(metavar="DIR", role="out", help="writes balanced/*.parquet, report/, stats.json")
    rules: BalanceRules = nested(BalanceRules)
