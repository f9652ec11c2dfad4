"""The shard stage's settings and the plan a run derives from its inputs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from wit_builder.capping.rules import BalanceRules
from wit_builder.publish.settings import ReleaseSettings
from wit_builder.shard.placement import parse_size
from wit_builder.stage_settings import Settings, nested, option

TUNING = "tuning"


@dataclass(frozen=True, kw_only=True)
class ShardRules(Settings):
    """How samples are placed into shards, and the final cap."""

    samples_per_shard: int = option(10_000, metavar="N", exclusive="size", help="samples per shard", low=1, high=10**8)
    shard_bytes: int | None = option(
        None,
        metavar="SIZE",
        exclusive="size",
        parse=parse_size,
        help="target tar size instead, e.g. 1GB or 500MiB",
        low=2**16,
        high=2**40,
    )
    seed: int = option(0, help="seed of the placement", low=0, high=2**63 - 1)
    per_query: int | None = option(
        None,
        metavar="T",
        help="cap again at about T samples per query, with the balance stage's rule (default: no cap)",
        low=1,
        high=10**9,
    )
    pool: bool = option(
        False,
        help="write the pool for online balancing: nothing is capped, and the manifest carries --per-query's draw, "
        "which wit-train --online-balance makes afresh every epoch",
    )
    base_url: str | None = option(
        None, metavar="URL", help="where the shards will be served from (gs://bucket/set/): the manifest's URLs"
    )
    chunk_rows: int = option(
        2_000, metavar="N", group=TUNING, help="rows per scatter unit (its memory and its run file)", low=1, high=10**7
    )
    read_budget: int = option(
        64 * 2**20,
        metavar="SIZE",
        parse=parse_size,
        shown="64MiB",
        group=TUNING,
        help="bytes a shard writer buffers across its segments",
        low=2**16,
        high=2**40,
    )
    count_shards: int = option(
        64, metavar="S", group=TUNING, help="per-query counts travel in S blobs", low=1, high=100_000
    )
    count_fanout: int = 1
    batch_rows: int = 65_536

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pool and self.per_query is None:
            raise ValueError("--pool needs --per-query T: the t the trainer balances each epoch at")

    @property
    def balance_rules(self) -> BalanceRules:
        """The balance stage's rules for the final cap (no cap when ``per_query`` is None)."""
        return BalanceRules(
            per_query=self.per_query,
            seed=self.seed,
            count_fanout=self.count_fanout,
            count_shards=self.count_shards,
            batch_rows=self.batch_rows,
        )

    def output_fields(self) -> dict:
        """The settings that decide the tars' bytes (not where they are served from, nor tuning)."""
        return {
            "samples_per_shard": None if self.shard_bytes else self.samples_per_shard,
            "shard_bytes": self.shard_bytes,
            "seed": self.seed,
            "per_query": self.per_query,
            **({"pool": True} if self.pool else {}),  # absent otherwise: earlier sets keep their fingerprint
        }

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ShardInputs:
    """The readable sample files and their row counts (from the Parquet footers)."""

    files: tuple[str, ...]
    rows: tuple[int, ...]
    queries: str | None = None  # the query list, for the report's sources and unmatched queries
    unreadable: tuple[tuple[str, str], ...] = ()  # (path, error) of files whose footer cannot be read
    identities: tuple[str, ...] = ()  # what each file holds (``io.chunks.InputFile``)
    taken_down: frozenset[str] = frozenset()  # uids removed by ``takedown`` from the set in the out folder
    curated_out: frozenset[str] = frozenset()  # uids the curate stage's rules dropped (``--curation``)

    def fingerprint(self, settings: ShardRules) -> str:
        """What a finished work file or shard must have been made from to be reused by a re-run:
        the files by what they hold, not by their paths, so a folder spelled another way or moved
        is the same input."""
        held = list(zip(self.identities or self.files, self.rows, strict=True))
        document = {"settings": settings.output_fields(), "files": held}
        if self.curated_out:  # which samples curation left out decides the tars' bytes too
            document["curated_out"] = hashlib.sha256("\n".join(sorted(self.curated_out)).encode()).hexdigest()
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True, kw_only=True)
class ShardSettings(Settings):
    """``wit-builder shard``."""

    samples: tuple[str, ...] = option(
        metavar="PATH",
        role="input",
        help="the download stage's folder, or its samples Parquet files / globs (may repeat)",
    )
    out: str = option(
        metavar="DIR",
        role="out",
        help="writes NNNNNN.tar, NNNNNN.parquet, manifest.json, sizes.json, stats.json, report/",
    )
    queries: str | None = option(
        None,
        metavar="PATH",
        role="input",
        help="the query list, so the report shows each query's source and the queries that matched nothing",
    )
    curation: str | None = option(
        None,
        metavar="PATH",
        role="input",
        help="the curate stage's folder: the samples its rules dropped are left out",
    )
    rules: ShardRules = nested(ShardRules)
    release: ReleaseSettings = nested(ReleaseSettings)


@dataclass(frozen=True)
class ShardPlan:
    """How many shards, decided once all kept samples are counted, and what identifies this run."""

    shards: int
    fingerprint: str  # the inputs' and settings' fingerprint, with the shard count
