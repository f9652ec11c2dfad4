"""The settings of ``wit-builder demo`` and ``wit-builder world``: light to import, so the
command line builds their flags without the synthetic world's code."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.stage_settings import Settings, option

COMPRESSIONS = ("none", "bz2", "multistream")


@dataclass(frozen=True, kw_only=True)
class WorldSettings(Settings):
    """``wit-builder world``."""

    out: str = option(metavar="DIR", role="out", help="where to write the world's files")
    scale: float = option(1.0, help="size of the world", low=0.1, high=64)
    seed: int = option(0, help="seed", low=0, high=2**32 - 1)
    compression: str = option("bz2", choices=COMPRESSIONS, help="dump compression")
    serve: bool = option(False, help="serve its web on loopback until interrupted")
    port: int = option(
        0,
        help="with --serve, the port to serve on (0: the port it was last served on when free, else any free one)",
        low=0,
        high=65_535,
    )
    after_release: bool = option(
        False,
        help="with --serve, serve the web as it is after a release: a site now disallows, another reserves, "
        "images replaced, gone or tagged noai (to try wit-builder recheck)",
    )


@dataclass(frozen=True, kw_only=True)
class DemoSettings(Settings):
    """``wit-builder demo``."""

    out: str = option("runs/demo", metavar="DIR", role="out", help="where the world and the run go")
    scale: float = option(1.0, help="size of the synthetic world", low=0.1, high=64)
    seed: int = option(0, help="seed of the synthetic world", low=0, high=2**32 - 1)
    port: int = option(
        0,
        help="serve the web on this port (0: the port the last demo used when free, else any free one)",
        low=0,
        high=65_535,
    )
    train: bool = option(True, flag="no-train", help="stop after the tokenizer: no training, no evaluation")
    curate: bool = option(
        False,
        help="curation by model: a world with misaligned captions and re-rendered copies, a model trained "
        "first to score them (bootstrap), the curated shards trained on, and the gain measured",
    )
    proof_seeds: int = option(
        3, metavar="N", help="with --curate: seeds of the uncurated-against-curated comparison", low=1, high=20
    )
