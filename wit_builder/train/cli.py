"""``wit-train``: the contrastive trainer's entry point (run under torchrun on GPU machines)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_NOT_BUILT = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wit-train",
        description="Train a CLIP-style model on WebDataset shards (not built yet).",
        epilog="Shard URLs may be local paths, brace patterns, '::'-joined lists, http(s), gs:// or s3:// URLs.",
    )
    parser.add_argument("--shards", metavar="URLS", required=True, help="the training shards")
    parser.add_argument("--out", metavar="DIR", required=True, help="checkpoints and the metrics log go here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    build_parser().parse_args(argv)
    print("wit-train: not built yet; nothing was trained.", file=sys.stderr)
    return EXIT_NOT_BUILT


if __name__ == "__main__":
    sys.exit(main())
