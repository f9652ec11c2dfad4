"""Benchmark: our download stage against img2dataset on the same URLs from the same server.

    python benchmarks/bench_download.py [--inputs photos|jpeg640|scenes] [--images 2300] [--img2dataset PATH]
                                        [--repeat N] [--also LABEL=FLAGS ...]

Serves N images from loopback (made before the clock starts, so the server's drawing is not
timed): with ``--inputs photos`` (the default) photo-like files at web sizes
(``web_photos``: 320-1600 px, 85% JPEG, ~100 KB median), on the synthetic web's ordinary hosts;
with ``--inputs jpeg640`` JPEGs all 640×480 at quality 85 (~40 KB, ``even_photos``);
with ``--inputs scenes`` the synthetic web's own fault-free scenes (flat shapes, 4.5 KB on
average, which time a downloader's overheads more than its image work). It writes the URL list
once as img2dataset reads it (parquet, url and caption) and once as our balance stage writes it,
then runs, in wrapper processes that report wall time and peak memory:

- img2dataset's own CLI (``--img2dataset``: the ``img2dataset`` script of a separate virtual
  environment, since img2dataset pins webdataset < 0.3): 2 processes × 32 threads for this
  2-core machine, ``--image_size 256 --resize_mode border --encode_format jpg
  --encode_quality 95``, parquet output;
- ``wit-builder download`` with the same image settings, dedupe on (work img2dataset does not
  do), on FnApiRunner with one worker process that decodes and resizes in its default thread
  pool (``--image-processes 0``: Pillow releases the GIL while decoding and, into a file,
  while encoding). On this 2-core machine threads beat a pool of 2 processes (8.6-8.9 s
  against 9.2-9.6 s for 2,300 photos, three alternating rounds), whose pickled bodies, pipes
  and extra interpreters cost more CPU than the GIL costs; ``--ours-flags`` tries others, and
  ``--also "processes=--image-processes 2"`` times both in one run.

Then runs ours once more with ``--ignore-opt-out all``, so the opt-out engine's own cost shows
beside the peer: robots.txt, tdmrep.json and ai.txt fetched once per host, every response's
headers checked.

Then times **the floor**: the same files decoded (a JPEG at the smallest DCT scale that still
covers its fit into 256 px, a plain 8-bit PNG by libvips, as ours does), resized (``border`` to
256 px; area-averaged down, Lanczos up, as ours) and encoded (JPEG, quality 95) with Pillow
from memory, in a pool of 2 processes, with nothing else (no fetching, checks, hashes or
files): the least work that makes the same kind of output from the same bytes.

With ``--repeat N`` img2dataset and each run of ours go N times, in turn (img2dataset, ours,
ours without opt-outs, then each ``--also``), and the medians are compared: one run on this
shared VM can be 20% off. ``--also LABEL=FLAGS`` times ours once more each round with FLAGS
added (``--also slots=--concurrency 1024``), to find which part of the stage costs what.

Prints images/s and images/s/core for each, ``download_speedup=<ours / img2dataset>``,
``download_floor_ratio=<our time / the floor's>`` (the goal is ≤ 1.25) and
``opt_out_cost=<time with every signal honoured / time with none>``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from measure import measure, median_run, seconds_of
from web_photos import even_photos, web_photos

from wit_builder.harvest.normalise import url_uid
from wit_builder.schemas import table_from_rows, write_table
from wit_builder.synthetic import SyntheticWorld, WorldConfig
from wit_builder.synthetic.web import SyntheticWeb

SETTINGS = {"image_size": 256, "resize_mode": "border", "encode_format": "jpg", "encode_quality": 95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--inputs", choices=("photos", "jpeg640", "scenes"), default="photos", help="what the web serves"
    )
    parser.add_argument(
        "--images", type=int, default=2300, help="photos, or the scene catalogue's size (~94%% plain normal images)"
    )
    parser.add_argument("--img2dataset", default=shutil.which("img2dataset"), help="path of the img2dataset script")
    parser.add_argument("--keep", metavar="DIR")
    parser.add_argument(
        "--ours-flags",
        default="--image-processes 0",
        help="flags for wit-builder download, one string (default: %(default)s: one worker process, "
        "images decoded in the default thread pool)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds, each tool timed in turn (medians)")
    parser.add_argument(
        "--also", action="append", default=[], metavar="LABEL=FLAGS", help="ours again with FLAGS added, each round"
    )
    args = parser.parse_args()
    also = dict(item.split("=", 1) for item in args.also)
    if not args.img2dataset:
        raise SystemExit("img2dataset not found: pip install img2dataset in another venv and pass --img2dataset PATH")
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-download-"))
    root.mkdir(parents=True, exist_ok=True)
    world = SyntheticWorld(replace(WorldConfig(seed=6), images=args.images, fault_share=0.0))
    photos = {"photos": web_photos, "jpeg640": even_photos}.get(args.inputs, lambda _: {})(args.images)
    with SyntheticWeb(world.catalog, extra=photos) as web:
        if photos:
            hosts = world.config.hosts  # the ordinary hosts, whose robots.txt, ai.txt and tdmrep.json allow these
            urls = [f"{web.base_urls[k % hosts]}/extra/{name}" for k, name in enumerate(photos)]
            captions = [f"a photo, number {k}" for k in range(len(urls))]
        else:
            web.prerender()
            images = [image for image in world.catalog.images if image.size_class == "normal" and image.fault is None]
            urls = [image.url(web.base_urls) for image in images]
            captions = [image.caption for image in images]
        pq.write_table(pa.table({"url": urls, "caption": captions}), root / "urls.parquet")
        (root / "balance" / "balanced").mkdir(parents=True, exist_ok=True)
        rows = [
            {"uid": url_uid(u), "url": u, "text": c, "page_url": None, "source": "bench", "matches": ["bench"]}
            for u, c in zip(urls, captions, strict=True)
        ]
        write_table(
            table_from_rows(rows, "balanced"), str(root / "balance" / "balanced" / "part-00000.parquet"), "balanced"
        )
        on = len({url.split("/")[2] for url in urls})
        sizes = sorted(len(data) for data in photos.values())
        weight = f", median {sizes[len(sizes) // 2] / 1024:,.0f} KB" if sizes else ""
        print(f"{len(urls):,} {args.inputs} on {on} loopback hosts{weight}")

        runs: dict[str, list[dict]] = {}
        for round_index in range(args.repeat):
            runs.setdefault("img2dataset", []).append(run_img2dataset(args.img2dataset, root, round_index))
            flags = shlex.split(args.ours_flags)
            variants = {"ours": flags, "ours-opt-out-off": [*flags, "--ignore-opt-out", "all"]}
            variants.update({label: [*flags, *shlex.split(extra)] for label, extra in also.items()})
            for label, variant in variants.items():
                run = run_ours(root, f"{label}-{round_index}", variant)
                run["stats"] = json.loads((root / f"{label}-{round_index}" / "stats.json").read_text())
                runs.setdefault(label, []).append(run)
    for label, timed in runs.items():
        if len(timed) > 1:
            print(f"{label}: {seconds_of(timed)} s")
    theirs, ours, off = median_run(runs["img2dataset"]), median_run(runs["ours"]), median_run(runs["ours-opt-out-off"])
    their_ok, stats, off_stats = theirs["successes"], ours["stats"], off["stats"]
    floor = floor_seconds(list(photos.values())) if photos else None
    cores = os.cpu_count() or 2
    their_rate, our_rate = their_ok / theirs["seconds"], stats["ok"] / ours["seconds"]
    print(
        f"img2dataset: {their_ok:,} images in {theirs['seconds']:.1f}s = {their_rate:,.0f} images/s "
        f"({their_rate / cores:,.0f}/core), peak {theirs['peak_mib']:.0f} MiB"
    )
    print(
        f"ours:        {stats['ok']:,} images in {ours['seconds']:.1f}s = {our_rate:,.0f} images/s "
        f"({our_rate / cores:,.0f}/core), peak {ours['peak_mib']:.0f} MiB; statuses {stats['statuses']}"
    )
    off_rate = off_stats["ok"] / off["seconds"]
    print(
        f"ours, every opt-out signal ignored: {off_stats['ok']:,} images in {off['seconds']:.1f}s = "
        f"{off_rate:,.0f} images/s, peak {off['peak_mib']:.0f} MiB"
    )
    for label in also:
        run = median_run(runs[label])
        rate = run["stats"]["ok"] / run["seconds"]
        print(f"ours, {label} ({also[label]}): {run['seconds']:.1f}s, {rate:,.0f} images/s")
    print(f"download_speedup={our_rate / their_rate:.3f}")
    if floor is not None:
        floor_rate = len(photos) / floor
        print(f"floor (decode, resize, encode from memory, 2 processes): {len(photos):,} images in {floor:.1f}s = "
              f"{floor_rate:,.0f} images/s")  # fmt: skip
        print(f"download_floor_ratio={floor_rate / our_rate:.3f}")
    print(f"opt_out_cost={off_rate / our_rate:.3f}  (time with every signal honoured / time with none)")


def _floor_one(data: bytes) -> int:
    """Decode, fit into a 256 px square with a border (img2dataset's ``border``), encode JPEG q95."""
    import io

    from PIL import Image

    from wit_builder.download.png_pixels import vips_picture

    size = SETTINGS["image_size"]
    with Image.open(io.BytesIO(data)) as picture:
        scale = size / max(picture.size)
        fitted_size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        if picture.format == "JPEG":  # decoded at the smallest DCT scale that still covers the fit, as ours does
            picture.draft("RGB", fitted_size)
        decoded = vips_picture(data, picture)  # a plain PNG by libvips, as ours
        picture = (picture if decoded is None else decoded).convert("RGB")
        # Area averaging down (img2dataset's INTER_AREA, ours' BOX), Lanczos up, as ours.
        fitted = picture.resize(fitted_size, Image.BOX if scale < 1 else Image.LANCZOS)
    canvas = Image.new("RGB", (size, size))
    canvas.paste(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2))
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=SETTINGS["encode_quality"])
    return len(out.getvalue())


def floor_seconds(files: list[bytes], processes: int = 2) -> float:
    """The floor's wall time over ``files``, in a pool of ``processes``; the pool's start-up not counted."""
    import multiprocessing
    import time

    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(_floor_one, files[:processes])  # started, imports done
        started = time.monotonic()
        pool.map(_floor_one, files, chunksize=8)
        return time.monotonic() - started


def run_img2dataset(script: str, root: Path, round_index: int) -> dict:
    """img2dataset's CLI on the benchmark's URL list, measured, with its count of successes."""
    out = root / f"img2dataset-{round_index}"
    run = measure(
        [
            script,
            "--url_list",
            str(root / "urls.parquet"),
            "--input_format",
            "parquet",
            "--url_col",
            "url",
            "--caption_col",
            "caption",
            "--output_format",
            "parquet",
            "--output_folder",
            str(out),
            "--processes_count",
            "2",
            "--thread_count",
            "32",
            "--image_size",
            str(SETTINGS["image_size"]),
            "--resize_mode",
            SETTINGS["resize_mode"],
            "--encode_format",
            SETTINGS["encode_format"],
            "--encode_quality",
            str(SETTINGS["encode_quality"]),
            "--number_sample_per_shard",
            "1000",
            "--enable_wandb",
            "False",
        ]
    )
    run["successes"] = sum(json.loads(path.read_text())["successes"] for path in out.glob("*_stats.json"))
    return run


def run_ours(root: Path, out: str, flags: list[str]) -> dict:
    """``wit-builder download`` of the benchmark's pairs into ``root/out``, measured."""
    return measure(
        [
            sys.executable,
            "-m",
            "wit_builder.cli",
            "download",
            "--pairs",
            str(root / "balance"),
            "--out",
            str(root / out),
            "--allow-private-network",
            "--image-size",
            str(SETTINGS["image_size"]),
            "--resize-mode",
            SETTINGS["resize_mode"],
            "--encode-format",
            SETTINGS["encode_format"],
            "--encode-quality",
            str(SETTINGS["encode_quality"]),
            "--min-image-size",
            "0",
            *flags,
        ]
    )


if __name__ == "__main__":
    main()
