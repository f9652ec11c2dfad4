"""Benchmark: the embed stage (Beam's RunInference) against a bare torch loop over the same batches.

    python benchmarks/bench_embed.py [--models tiny,ViT-B-32] [--samples 4096,512] [--repeat 3]

The input is a download folder of photo-like JPEGs at 256 px (``photo_shards.photo_jpegs``: as
web photos weigh after the download stage's resizing, a quarter landscape and a quarter
portrait) with 8-20-word captions. The models have random weights (speed does not depend on
them) in the trainer's own shapes: ``tiny`` and ``ViT-B-32`` (OpenAI's ViT-B/32 shape: 224 px,
patches of 32, 12 layers of 768, a 12-layer text tower of 512).

For each model, in fresh processes, alternately ``--repeat`` times:

- **ours**: ``wit-builder embed`` (a Beam pipeline: read the chunks, batch, RunInference,
  write one Parquet file a chunk, stats.json);
- **bare**: the same batches of the same samples through the same model and the same
  preprocessing (``embed.models.Embedder``) in a plain loop that writes nothing.

It prints samples/s for both and ``runinference_overhead=`` (ours / bare, medians; goal ≤ 1.15).
Both include starting Python and loading the model: what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.measure import measure, median_run, seconds_of

BATCH = 64


def write_download_folder(root: Path, samples: int, seed: int = 0) -> list[str]:
    """``root/samples/part-00000.parquet`` of ``samples`` rows in the samples schema; the captions."""
    import hashlib

    from benchmarks.photo_shards import DISTINCT, photo_jpegs, random_caption
    from wit_builder.schemas import table_from_rows, write_table

    pictures = photo_jpegs(min(samples, DISTINCT), 256, seed)
    words = random.Random(seed)
    rows, captions = [], []
    for index in range(samples):
        image = pictures[index % len(pictures)]
        caption = random_caption(words)
        captions.append(caption)
        rows.append({
            "uid": f"{index:012x}", "url": f"http://example.com/{index}.jpg", "text": caption, "page_url": None,
            "source": "bench", "matches": ["photo"], "image": image, "image_format": "jpg", "width": 256,
            "height": 256, "original_width": 512, "original_height": 512, "original_bytes": len(image),
            "sha256": hashlib.sha256(image).hexdigest(), "phash": index, "colour_grid": bytes(48),
        })  # fmt: skip
    (root / "samples").mkdir(parents=True, exist_ok=True)
    write_table(table_from_rows(rows, "samples"), str(root / "samples" / "part-00000.parquet"), "samples")
    return captions


def write_model(root: Path, name: str, captions: list[str]) -> str:
    """A ``wit-train`` checkpoint of ``name``'s shape with random weights and a BPE of the captions."""
    import torch

    from wit_builder.tokenizer.bpe import train_clip_bpe
    from wit_builder.tokenizer.encode import CaptionTokenizer
    from wit_builder.train.checkpoints import save_checkpoint
    from wit_builder.train.configs import model_config
    from wit_builder.train.factory import create_model

    tokenizer_json = train_clip_bpe(captions, vocab_size=1000, min_frequency=1).to_str()
    tokenizer = CaptionTokenizer(tokenizer_json)
    config = model_config(name).with_vocab(tokenizer.vocab_size)
    torch.manual_seed(0)
    model = create_model(config, tokenizer.end_id)
    state = {
        "step": 0,
        "epoch": 0,
        "model_name": name,
        "model_config": config.as_dict(),
        "tokenizer_json": tokenizer_json,
        "end_token_id": tokenizer.end_id,
        "model": model.state_dict(),
    }
    return save_checkpoint(state, str(root / f"model-{name}"), 0)


def bare_loop(samples: str, model: str) -> None:
    """The same batches through the same model, no framework; prints its seconds of work."""
    import pyarrow.parquet as pq
    import torch

    from wit_builder.embed.models import describe_model, load_embedder

    started = time.monotonic()
    embedder = load_embedder(describe_model(model, None, "cpu", "fp32"))
    rows = 0
    for path in sorted(Path(samples, "samples").glob("*.parquet")):
        table = pq.read_table(path, columns=["uid", "text", "image"])
        images, texts = table.column("image").to_pylist(), table.column("text").to_pylist()
        for first in range(0, len(images), BATCH):
            pixels = torch.stack([embedder.pixels(data) for data in images[first : first + BATCH]])
            image, _ = embedder.embed(pixels, texts[first : first + BATCH])
            rows += len(image)
    print(json.dumps({"rows": rows, "seconds": time.monotonic() - started}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="tiny,ViT-B-32")
    parser.add_argument("--samples", default="4096,512", help="samples per model, in the same order")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bare", nargs=2, metavar=("SAMPLES", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_loop(*args.bare)
        return
    program = str(Path(sys.executable).parent / "wit-builder")
    results = {}
    for name, count in zip(args.models.split(","), (int(n) for n in args.samples.split(",")), strict=True):
        with tempfile.TemporaryDirectory(prefix="bench-embed-") as folder:
            root = Path(folder)
            captions = write_download_folder(root / "download", count)
            model = write_model(root, name, captions)
            ours, bare = [], []
            for attempt in range(args.repeat):
                out = root / f"embed-{attempt}"
                ours.append(measure([program, "embed", "--samples", str(root / "download"), "--out", str(out),
                                     "--model", model, "--device", "cpu", "--batch-size", str(BATCH),
                                     "--chunk-rows", "1024", "--runner=FnApiRunner"]))  # fmt: skip
                bare.append(measure([sys.executable, __file__, "--bare", str(root / "download"), model]))
            mine, theirs = median_run(ours), median_run(bare)
            stats = json.loads((root / "embed-0" / "stats.json").read_text())
            assert stats["embedded"] == count and stats["adds_up"], stats
            overhead = mine["seconds"] / theirs["seconds"]
            results[name] = {
                "samples": count,
                "ours_seconds": round(mine["seconds"], 2),
                "bare_seconds": round(theirs["seconds"], 2),
                "ours_samples_per_s": round(count / mine["seconds"], 1),
                "bare_samples_per_s": round(count / theirs["seconds"], 1),
                "runinference_overhead": round(overhead, 3),
                "ours_peak_mib": round(mine["peak_mib"]),
                "bare_peak_mib": round(theirs["peak_mib"]),
            }
            print(f"{name}: {count:,} samples; ours {seconds_of(ours)} s, bare {seconds_of(bare)} s; "
                  f"{count / mine['seconds']:.1f} against {count / theirs['seconds']:.1f} samples/s; "
                  f"runinference_overhead={overhead:.3f}; peak {mine['peak_mib']:.0f} against "
                  f"{theirs['peak_mib']:.0f} MiB", flush=True)  # fmt: skip
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
