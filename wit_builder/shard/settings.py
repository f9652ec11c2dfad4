"""The shard stage's settings and the plan a run derives from its inputs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from wit_builder.balance.pipeline import BalanceRules


@dataclass(frozen=True)
class ShardSettings:
    samples_per_shard: int = 10_000
    shard_bytes: int | None = None  # the alternative to samples_per_shard
    seed: int = 0
    per_query: int | None = None  # a final cap after download, with the balance stage's rule
    base_url: str | None = None  # where the shards will be served from (gs://bucket/set/)
    chunk_rows: int = 2_000  # rows per scatter unit: its run file, and the memory of one unit
    read_budget: int = 64 * 2**20  # bytes a shard writer buffers across all its segments
    count_shards: int = 64
    count_fanout: int = 4
    batch_rows: int = 65_536

    def __post_init__(self) -> None:
        if self.samples_per_shard < 1:
            raise ValueError(f"--samples-per-shard must be at least 1, not {self.samples_per_shard}")
        if self.chunk_rows < 1:
            raise ValueError(f"--chunk-rows must be at least 1, not {self.chunk_rows}")
        if self.per_query is not None and self.per_query < 1:
            raise ValueError(f"--per-query must be at least 1, not {self.per_query}")

    @property
    def balance_rules(self) -> BalanceRules:
        """The balance stage's rules for the final cap (no cap when ``per_query`` is None)."""
        return BalanceRules(
            per_query=self.per_query, seed=self.seed, count_fanout=self.count_fanout,
            count_shards=self.count_shards, batch_rows=self.batch_rows,
        )  # fmt: skip

    def output_fields(self) -> dict:
        """The settings that decide the tars' bytes (not where they are served from, nor tuning)."""
        return {"samples_per_shard": None if self.shard_bytes else self.samples_per_shard,
                "shard_bytes": self.shard_bytes, "seed": self.seed, "per_query": self.per_query}  # fmt: skip

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ShardInputs:
    """The readable sample files and their row counts (from the Parquet footers)."""

    files: tuple[str, ...]
    rows: tuple[int, ...]
    queries: str | None = None  # the query list, for the report's sources and unmatched queries
    unreadable: tuple[tuple[str, str], ...] = ()  # (path, error) of files whose footer cannot be read

    def fingerprint(self, settings: ShardSettings) -> str:
        """What a finished work file or shard must have been made from to be reused by a re-run."""
        document = {"settings": settings.output_fields(), "files": list(zip(self.files, self.rows, strict=True))}
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ShardPlan:
    """How many shards, decided once all kept samples are counted, and what identifies this run."""

    shards: int
    fingerprint: str  # the inputs' and settings' fingerprint, with the shard count
