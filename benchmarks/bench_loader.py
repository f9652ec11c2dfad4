"""Benchmark: the trainer's data stream against the WebDataset pipeline open_clip builds.

    python benchmarks/bench_loader.py [--samples 4000] [--shards 4] [--batch-size 64] [--workers 2]
                                      [--image-size 224] [--stored-size 256] [--batches 0]
                                      [--open-clip-python /tmp/ocvenv/bin/python] [--online-balance]
                                      [--rounds 1] [--plain-malloc]

Inputs, written once into a temporary folder: ``--shards`` WebDataset tars of photo-like JPEGs
(``benchmarks/photo_shards.py``: ``--stored-size`` px on the short side, quality
95, ~33 KB at 256 px like resized web photos, a few landscape and portrait), each with a caption
of 8-20 words, and a CLIP BPE tokenizer trained on those captions.

Both pipelines read the same shards with the same number of data-loader workers and the same
batch size, and use the same rules: ``wit_builder.train.transforms``'s random resized crop
(``random_resized_crop_box``, open_clip's scale (0.9, 1.0)) drawn the same way, bicubic
resizing, CLIP's normalisation, and the same tokenizer. The baseline applies ``train_view``
(Pillow's resize, normalised per picture, as open_clip's preprocess does); ours applies
``train_crop`` (torch's antialiased bicubic on uint8, tested within 3 levels of 255 of
Pillow's) and normalises each batch in the training process, as ``wit-train`` does on its
device. Each is timed over ``--batches`` batches (default: one pass over the samples) after its
first batch (worker start-up is not counted), and both hand the training process float32
normalised pixels:

- **baseline**, as open_clip's ``training/data.py`` builds it: ``SimpleShardList``,
  ``split_by_node``, ``split_by_worker``, ``tarfile_to_samples(handler=warn_and_continue)``,
  ``shuffle``, ``decode("pilrgb")``, ``rename``, ``map_dict`` (image transform, tokenizer per
  caption), ``to_tuple``, ``batched``, through ``WebLoader``;
- **ours**: ``TrainStream`` through a ``DataLoader``, as ``wit-train`` runs it.

- **open_clip itself** (``--open-clip-python PY``): open_clip 3.3.0's own ``get_wds_dataset``
  with its torchvision train transform and its tokenizer, run in PY (a venv with open_clip's
  training extra, which pins webdataset <= 0.2.86: ``benchmarks/open_clip_loader.py`` says how
  to make it), on the same shards. Prints ``open_clip_ratio=<ours / open_clip>``.
- **ours, uint8 handed over** (with ``--open-clip-python``): the same stream, timed without the
  batch normalisation in the training process, which a GPU trainer does on its device; printed
  as ``open_clip_ratio_normalised_on_device``. On this CPU-only machine ``open_clip_ratio`` (the
  training process normalising on the CPU) is the figure that counts.
- **ours with online balancing** (``--online-balance``): the same stream drawing each sample by
  its ``KEY.json`` (``capping.online``), with a table that keeps about 90% of the samples;
  prints ``online_cost`` = 1 − (its images/s / ours without the draw), the median over rounds of
  each round's pair.

With ``--rounds N`` every loader is timed N times, in turn (ours, baseline, open_clip, online,
then again), and the medians are printed: one machine's load moves all of them alike.

- **the floor**: the same pictures decoded and cropped (``train_crop``) from memory in as many
  processes as workers, with nothing else: no tar reading, shuffling, tokenising, batching,
  passing between processes or normalising. ``floor_ratio`` = floor / ours says how much of
  ours is the image work itself.

The benchmark's process keeps large freed blocks (``train.host_memory``), as ``wit-train`` does
on a CPU device, so the batch normalised here reuses the last batch's memory; ``--plain-malloc``
times it without, as before that change.

Prints images/s for each and ``loader_ratio=<ours / baseline>``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import torch


def train_tokenizer(urls: list[str], root: Path) -> str:
    from photo_shards import shard_captions

    from wit_builder.tokenizer.bpe import train_clip_bpe

    path = root / "tokenizer.json"
    path.write_text(train_clip_bpe(iter(shard_captions(urls)), 1000, 2).to_str())
    return str(path)


def baseline_loader(urls: list[str], tokenizer, image_size: int, batch_size: int, workers: int):
    """open_clip's get_wds_dataset, not resampled, with our transform functions."""
    import webdataset as wds

    from wit_builder.train.transforms import train_view

    rng = random.Random(0)

    def image_transform(image):
        return train_view(image, image_size, rng)

    def has_both(sample):
        return ("txt" in sample) and any(k in sample for k in ("png", "jpg", "jpeg", "webp"))

    pipeline = wds.DataPipeline(
        wds.SimpleShardList(urls),
        wds.split_by_node,
        wds.split_by_worker,
        wds.tarfile_to_samples(handler=wds.warn_and_continue),
        wds.shuffle(bufsize=1000, initial=1000),
        wds.select(has_both),
        wds.decode("pilrgb", handler=wds.warn_and_continue),
        wds.rename(image="jpg;png;jpeg;webp", text="txt"),
        wds.map_dict(image=image_transform, text=lambda text: torch.as_tensor(tokenizer([text]))[0]),
        wds.to_tuple("image", "text"),
        wds.batched(batch_size, partial=False),
    )
    return wds.WebLoader(pipeline, batch_size=None, shuffle=False, num_workers=workers, persistent_workers=workers > 0)


def our_loader(urls: list[str], tokenizer, image_size: int, batch_size: int, workers: int, balance=None):
    from torch.utils.data import DataLoader

    from wit_builder.train.data import StreamSpec, TrainStream
    from wit_builder.train.transforms import train_crop

    spec = StreamSpec(
        urls=tuple(urls), batch_size=batch_size, image_size=image_size, shuffle_buffer=1000, balance=balance
    )
    stream = TrainStream(spec, tokenizer, train_crop, workers)
    options = {"prefetch_factor": 4, "persistent_workers": True} if workers else {}
    return DataLoader(stream, batch_size=None, num_workers=workers, **options)


def bench_balance(urls: list[str], keep: float = 0.9):
    """An online-balancing table over the shards' matches that keeps about ``keep`` of the
    samples (every query matched more than t times is capped, t found by bisection), and the
    share it keeps in expectation."""
    from photo_shards import caption_matches, shard_captions

    from wit_builder.capping.online import OnlineBalance, expected_keep

    matches = [caption_matches(caption) for caption in shard_captions(urls)]
    counts: dict[str, int] = {}
    for found in matches:
        for query in found:
            counts[query] = counts.get(query, 0) + 1

    def table(t: float) -> dict[str, float]:
        return {query: t / n for query, n in counts.items() if n > t}

    low, high = 1.0, float(max(counts.values()))
    for _ in range(40):
        middle = (low + high) / 2
        kept = sum(expected_keep(found, table(middle)) for found in matches) / len(matches)
        low, high = (middle, high) if kept < keep else (low, middle)
    return OnlineBalance(table(high)), sum(expected_keep(found, table(high)) for found in matches) / len(matches)


def open_clip_rate(python: str, urls: list[str], args: argparse.Namespace, batches: int) -> float:
    """open_clip's own loader's images/s, run by ``python`` (``open_clip_loader.py``)."""
    script = Path(__file__).with_name("open_clip_loader.py")
    command = [python, str(script), "--train-data", "::".join(urls), "--samples", str(args.samples),
               "--batch-size", str(args.batch_size), "--workers", str(args.workers),
               "--image-size", str(args.image_size), "--batches", str(batches)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["images_per_second"])


def _floor_worker(job: tuple[list[bytes], int, int]) -> int:
    """Decode and crop pictures from memory, as ours does, with nothing around it."""
    import io as _io

    from PIL import Image

    from wit_builder.train.transforms import train_crop

    torch.set_num_threads(1)
    pictures, size, seed = job
    for index, data in enumerate(pictures):
        with Image.open(_io.BytesIO(data)) as picture:
            train_crop(picture, size, random.Random(seed + index))
    return len(pictures)


def floor_rate(urls: list[str], image_size: int, workers: int, images: int) -> float:
    """The floor: the same pictures decoded and cropped (``train_crop``) from memory in
    ``workers`` processes, with no reading, shuffling, batching, tokenising, normalising or
    passing between processes; images/s over ``images``, the pool's start-up not counted."""
    import multiprocessing
    import tarfile

    pictures = []
    for url in urls:
        with tarfile.open(url) as tar:
            pictures += [tar.extractfile(m).read() for m in tar if m.name.endswith(".jpg")]
    pictures = (pictures * (1 + images // max(1, len(pictures))))[:images]
    chunks = [pictures[k::workers] for k in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_floor_worker, [(chunk[:8], image_size, 0) for chunk in chunks])  # started, imports done
        started = time.monotonic()
        done = sum(pool.map(_floor_worker, [(chunk, image_size, k) for k, chunk in enumerate(chunks)]))
        return done / (time.monotonic() - started)


def pixels_of(batch) -> torch.Tensor:
    """Float32 normalised pixels on the training device, whatever form the loader hands over."""
    if isinstance(batch, tuple | list):
        return batch[0]
    return batch.pixels() if hasattr(batch, "pixels") else batch.images


def images_per_second(loader, batches: int, batch_size: int, normalise: bool = True) -> float:
    """Images/s over ``batches`` batches after the first. ``normalise=False`` (ours only): the
    uint8 batch as a GPU trainer receives it, its normalisation being the device's job."""
    iterator = iter(loader)
    next(iterator)  # workers started, first batch out: not counted
    started = time.monotonic()
    for _ in range(batches):
        batch = next(iterator)
        pixels = pixels_of(batch) if normalise else batch.images
        assert pixels.dtype == (torch.float32 if normalise else torch.uint8) and pixels.shape[0] == batch_size
    return batches * batch_size / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--stored-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=0, help="batches timed (default: a pass, less the first)")
    parser.add_argument("--open-clip-python", metavar="PY", help="a venv's python with open_clip's training extra")
    parser.add_argument("--online-balance", action="store_true", help="time ours with online balancing too")
    parser.add_argument("--rounds", type=int, default=1, help="times each loader is timed, in turn (medians)")
    parser.add_argument("--plain-malloc", action="store_true", help="leave glibc's mmap threshold as it is")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not args.plain_malloc:
        from wit_builder.train.host_memory import keep_large_freed_blocks

        print(f"large freed blocks kept (as wit-train on a CPU): {keep_large_freed_blocks()}")

    from photo_shards import write_photo_shards

    from wit_builder.tokenizer.encode import CaptionTokenizer

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        urls = write_photo_shards(root, args.samples, args.shards, args.stored_size)
        tokenizer = CaptionTokenizer.from_file(train_tokenizer(urls, root))
        workers = max(1, args.workers)
        per_worker = args.samples // args.shards * (args.shards // workers)
        balance, kept = bench_balance(urls) if args.online_balance else (None, 1.0)
        # Every loader is timed within its first pass: with online balancing a pass holds only the
        # drawn share, and crossing into the next would time the refill of its shuffle buffer.
        batches = args.batches or max(1, int(per_worker * workers * kept) // args.batch_size - 2 * workers)
        kilobytes = sum(Path(u).stat().st_size for u in urls) / args.samples / 1024 / 1.02
        print(
            f"{args.samples:,} samples in {args.shards} shards (~{kilobytes:.0f} KB each, {args.stored_size} px),",
            f"batch {args.batch_size}, {args.workers} worker(s), {args.image_size} px crops; {batches} batches timed",
        )
        timed: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            runs = {
                "ours": lambda: our_loader(urls, tokenizer, args.image_size, args.batch_size, args.workers),
                "baseline": lambda: baseline_loader(urls, tokenizer, args.image_size, args.batch_size, args.workers),
            }
            if balance is not None:
                runs["online"] = lambda: our_loader(
                    urls, tokenizer, args.image_size, args.batch_size, args.workers, balance
                )
            if args.open_clip_python:
                runs["ours_uint8"] = runs["ours"]
            for name, make in runs.items():
                loader = make()
                rate = images_per_second(loader, batches, args.batch_size, normalise=name != "ours_uint8")
                timed.setdefault(name, []).append(rate)
                del loader  # stop the persistent workers before the next loader starts
                gc.collect()
            if args.open_clip_python:
                timed.setdefault("open_clip", []).append(open_clip_rate(args.open_clip_python, urls, args, batches))
            timed.setdefault("floor", []).append(
                floor_rate(urls, args.image_size, max(1, args.workers), batches * args.batch_size)
            )
    rates = {name: statistics.median(values) for name, values in timed.items()}
    for name, values in timed.items():
        runs_text = f" (runs: {', '.join(f'{v:,.0f}' for v in values)})" if len(values) > 1 else ""
        print(f"{name + ':':11s}{rates[name]:,.0f} images/s{runs_text}")
    print(f"loader_ratio={rates['ours'] / rates['baseline']:.3f}")
    print(f"floor_ratio={rates['floor'] / rates['ours']:.3f}")  # how much faster the bare image work runs
    if "open_clip" in rates:
        print(f"open_clip_ratio={rates['ours'] / rates['open_clip']:.3f}")
        # What a GPU trainer sees: it normalises the uint8 batch on the device, not in this process.
        print(f"open_clip_ratio_normalised_on_device={rates['ours_uint8'] / rates['open_clip']:.3f}")
        if "online" in rates:
            print(f"open_clip_ratio_online_balance={rates['online'] / rates['open_clip']:.3f}")
    if "online" in rates:
        # Paired by round (the two were timed minutes apart, not half an hour): the machine's
        # load moves both alike within a round, so the median of the rounds' costs is the figure.
        costs = [1 - online / ours for online, ours in zip(timed["online"], timed["ours"], strict=True)]
        rounds_text = f" (rounds: {', '.join(f'{c:.3f}' for c in costs)})" if len(costs) > 1 else ""
        print(f"online_cost={statistics.median(costs):.3f}{rounds_text}")


if __name__ == "__main__":
    main()
