"""The download stage's settings: fetching, image checks (img2dataset's meanings) and dedupe,
with their flags. Light to import: the CLI builds its flags from here without aiohttp or Pillow."""

from __future__ import annotations

import math
from dataclasses import dataclass

from wit_builder import __version__
from wit_builder.download.opt_out import directive_list, opt_out_signals
from wit_builder.stage_settings import Settings, nested, option

RESIZE_MODES = ("no", "keep_ratio", "keep_ratio_largest", "center_crop", "border")
ENCODE_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def port_set(text: str) -> frozenset[int]:
    """``"80,443"`` as a set of ports, each from 1 to 65535; ``"any"`` is every port."""
    if text.strip().lower() == "any":
        return frozenset(range(1, 65536))
    parts = [part.strip() for part in text.split(",") if part.strip()]
    bad = [part for part in parts if not (part.isascii() and part.isdigit() and 1 <= int(part) <= 65535)]
    if bad or not parts:
        raise ValueError(f"expected ports from 1 to 65535 separated by commas, or 'any', got {text!r}")
    return frozenset(int(part) for part in parts)


@dataclass(frozen=True, kw_only=True)
class FetchSettings(Settings):
    """How images are fetched: time limits, retries, politeness and the address guard."""

    user_agent: str = option(
        f"wit-builder/{__version__} (image-text dataset collection)", metavar="TEXT", help="the User-Agent header"
    )
    connect_timeout: float = option(10.0, metavar="S", help="seconds to connect", low=0.01, high=86_400)
    read_timeout: float = option(20.0, metavar="S", help="seconds between bytes", low=0.01, high=86_400)
    total_timeout: float = option(60.0, metavar="S", help="seconds per attempt", low=0.01, high=86_400)
    retries: int = option(2, metavar="N", help="attempts after the first", low=0, high=100)
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    max_redirects: int = option(5, metavar="N", help="redirects followed", low=0, high=100)
    max_bytes: int = option(20 * 2**20, metavar="N", shown="20 MiB", help="largest body", low=1, high=2**31)
    concurrency: int = option(64, metavar="N", help="open connections per worker", low=1, high=100_000)
    per_host: int = option(8, metavar="N", help="open connections per host and worker", low=1, high=10_000)
    allow_private_network: bool = option(
        False, help="fetch from private and loopback addresses (tests; never for crawls)"
    )
    allowed_ports: frozenset[int] | None = option(
        None, metavar="LIST", parse=port_set, help="e.g. 80,443 or 'any' (default: 80, 443 and 1024-65535)"
    )
    ignore_opt_out: frozenset[str] = option(
        frozenset(),
        metavar="NAMES",
        parse=opt_out_signals,
        bare="all",
        shown="none",
        help="opt-out signals not to honour, by name: robots, x-robots-tag, tdmrep, content-usage, ai-txt, meta, "
        "or all "
        "(alone: all); every one is honoured by default",
    )
    disallowed_directives: tuple[str, ...] = option(
        ("noai", "noimageai", "noml", "noindex", "none"),
        flag="x-robots-directives",
        metavar="LIST",
        parse=directive_list,
        shown="noai,noimageai,noml,noindex,none",
        help="X-Robots-Tag directives that refuse an image",
    )
    max_crawl_delay: float = option(
        10.0, metavar="S", help="longest robots.txt Crawl-delay waited between requests to a host", low=0, high=3600
    )

    def honours(self, signal: str) -> bool:
        """Whether the opt-out signal ``signal`` (``opt_out.SIGNALS``) is honoured."""
        return signal not in self.ignore_opt_out


@dataclass(frozen=True, kw_only=True)
class ImageSettings(Settings):
    """Which images are kept and how they are stored, with img2dataset's meanings."""

    image_size: int = option(256, metavar="PX", help="side of the stored image", low=16, high=4096)
    resize_mode: str = option("border", choices=RESIZE_MODES, help="how the image is fitted to the size")
    resize_only_if_bigger: bool = option(False, help="never enlarge a smaller image")
    encode_format: str = option("jpg", choices=tuple(ENCODE_FORMATS), help="stored format")
    encode_quality: int = option(95, metavar="Q", help="JPEG and WebP quality", low=1, high=100)
    min_image_size: int = option(32, metavar="PX", help="smallest shorter side kept", low=0, high=4096)
    max_aspect_ratio: float = option(
        math.inf, metavar="R", help="largest longer / shorter side kept", low=1, high=math.inf
    )
    max_pixels: int = option(
        89_478_485, metavar="N", help="decompression-bomb limit (Pillow's own)", low=1, high=10**10
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"resize mode {self.resize_mode!r} is not one of {', '.join(RESIZE_MODES)}")
        if self.encode_format not in ENCODE_FORMATS:
            raise ValueError(f"encode format {self.encode_format!r} is not one of {', '.join(ENCODE_FORMATS)}")


@dataclass(frozen=True, kw_only=True)
class DownloadRules(Settings):
    """Everything the download pipeline decides with, besides where its inputs are."""

    fetch: FetchSettings = nested(FetchSettings, group="fetching")
    image: ImageSettings = nested(ImageSettings, group="images (img2dataset's meanings)")
    dedupe: bool = option(True, flag="no-dedupe", group="dedupe", help="keep exact and near duplicates")
    max_distance: int = option(
        4, flag="near-distance", metavar="BITS", group="dedupe", help="perceptual-hash bits", low=0, high=63
    )
    aspect_tolerance: float = option(
        0.05, metavar="F", group="dedupe", help="near copies' aspect ratios may differ so", low=0, high=10
    )
    grid_tolerance: int = 8
    chunks_in_flight: int = 4  # chunks a worker fetches at once (pipeline.FetchChunkFn)
    blocklists: tuple[str, ...] = option(
        (),
        flag="blocklist",
        metavar="FILE",
        role="input",
        group="blocklists and evaluation sets",
        help="a list of image hashes to refuse (a file with a '# kind: sha256', 'md5' or 'pdq' header; may repeat)",
    )
    pdq_radius: int = option(
        31,
        metavar="BITS",
        group="blocklists and evaluation sets",
        help="PDQ bits within which a listed hash matches",
        low=0,
        high=128,
    )
    eval_sets: tuple[str, ...] = option(
        (),
        metavar="[NAME=]PATH",
        role="input",
        group="blocklists and evaluation sets",
        help="an evaluation set whose near copies are dropped: an image folder, WebDataset shards or a Parquet "
        "of hashes (may repeat)",
    )
    eval_radius: int = option(
        40,
        metavar="BITS",
        group="blocklists and evaluation sets",
        help="PDQ bits within which a picture is a near copy of an evaluation image",
        low=0,
        high=128,
    )

    def work_key(self) -> str:
        """A digest of the settings that decide what pass 1 makes of a pair (which URLs may be
        fetched, how images are checked and stored): a chunk's work files are reused by a re-run
        only under the same ones. Time limits, retries and concurrency are left out: a re-run
        with longer time limits keeps the outcomes already recorded."""
        import hashlib
        import json
        from dataclasses import asdict

        fetch = self.fetch
        policy = {
            "max_bytes": fetch.max_bytes,
            "max_redirects": fetch.max_redirects,
            "allow_private_network": fetch.allow_private_network,
            "allowed_ports": sorted(fetch.allowed_ports) if fetch.allowed_ports else None,
            "ignore_opt_out": sorted(fetch.ignore_opt_out),
            "disallowed_directives": list(fetch.disallowed_directives),
        }
        # The lists' and sets' contents enter the key through the runner's salt (download.cli).
        lists = {"pdq_radius": self.pdq_radius, "eval_radius": self.eval_radius}
        deciding = {
            "image": asdict(self.image),
            "fetch": policy,
            **({"lists": lists} if self.blocklists or self.eval_sets else {}),
        }
        return hashlib.sha256(json.dumps(deciding, sort_keys=True, default=str).encode()).hexdigest()[:16]

    image_processes: int = option(
        0,
        metavar="N",
        help="decode and resize in N processes per worker (0: threads, the fastest measured even for one "
        "local worker; processes cost pickled bodies and pipes, but share no GIL)",
        low=0,
        high=256,
    )


@dataclass(frozen=True, kw_only=True)
class DownloadSettings(Settings):
    """``wit-builder download``."""

    pairs: tuple[str, ...] = option(
        metavar="PATH", role="input", help="the balance stage's folder, or its Parquet files"
    )
    out: str = option(metavar="DIR", role="out", help="writes samples/, status/, stats.json (and work/)")
    chunk_rows: int = option(
        500,
        metavar="N",
        help="pairs per output file and unit of resumption; 4 chunks are fetched at once",
        low=1,
        high=10**7,
    )
    unreachable_share: float = option(
        0.9,
        metavar="F",
        help="fail when more than this share of the URLs could not be reached (connection errors and time-outs: "
        "the web is down, or the run is offline); 1: never",
        low=0,
        high=1,
    )
    rules: DownloadRules = nested(DownloadRules)
