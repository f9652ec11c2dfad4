"""The cap's settings: t, the oversampling, the seed of the draws, and how the counts travel.
The balance stage takes them as its flags; the shard stage builds them from its own
``--per-query`` for the final cap (``ShardRules.balance_rules``)."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.stage_settings import Settings, option

SAMPLING, TUNING = "sampling", "tuning"


@dataclass(frozen=True, kw_only=True)
class BalanceRules(Settings):
    """How many pairs each query keeps. The shard stage applies the same rule for its final cap."""

    per_query: int | None = option(
        20_000,
        metavar="T",
        group=SAMPLING,
        help="keep about T pairs per query (none: no cap, a report only)",
        low=1,
        high=10**9,
    )
    oversample: float = option(
        1.0,
        metavar="F",
        group=SAMPLING,
        help="keep min(1, F*T/n) to leave room for download failures",
        low=1,
        high=10**6,
    )
    seed: int = option(0, group=SAMPLING, help="seed of the sampling decisions", low=0, high=2**63 - 1)
    count_fanout: int = option(
        1,
        metavar="N",
        group=TUNING,
        help="hot-key fan-out of the per-query sums (the S count shards already spread them; "
        "raise it when one shard's merge is the straggler: each step above 1 adds two shuffles)",
        low=1,
        high=1024,
    )
    count_shards: int = option(
        64,
        metavar="S",
        group=TUNING,
        help="per-query counts travel in S blobs per file; the result does not depend on it",
        low=1,
        high=100_000,
    )
    batch_rows: int = option(
        65_536,
        metavar="N",
        group=TUNING,
        help="rows read and written at a time: the row groups of the output files",
        low=1,
        high=10**7,
    )

    def p_keep(self, matched: int) -> float:
        from wit_builder.capping.sampling import keep_probability

        return keep_probability(matched, self.per_query, self.oversample)
