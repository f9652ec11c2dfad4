"""Benchmark: the cost curve. Harvest → balance → shard at 10⁵, 10⁶ and 10⁷ image links, and
download at 10⁴ and 10⁵ images: does the cost per pair stay flat as the work grows?

    python benchmarks/bench_chain.py [--sizes 1e5,1e6,1e7] [--downloads 1e4,1e5] [--keep DIR]
                                     [--shard-limit 1e6] [--svg benchmarks/chain_curve.svg]

Inputs, made before any clock starts:

- **the list**: 500,000 queries shaped like the real one (``bench_match.real_vocabulary``:
  the most frequent words of ``wordfreq``'s English list, WordNet 3.0's names, word pairs by
  frequency, punctuated entries included), given to harvest as a text file;
- **WAT files** in Common Crawl's format (``synthetic.wat.page_records``: request, response and
  metadata records per page), 62,500 image links a file as a fixed-size crawl file holds, 10
  links a page. Of the links: 72% a photo of its own with an alt text of 6-30 words by real
  frequency; 18% a site asset (a logo or an icon from a Zipf pool of 20,000 URLs, alt "logo",
  "icon" or a few words) that recurs across pages; 10% without alt text;
- **samples for the shard stage**: the balanced pairs, each with a photo-like JPEG from a pool of
  256 (96 px, quality 85, ~3 KB: small, so that 10⁶ samples fit this machine's disk twice, as the
  shard stage's runs and tars need). Sizes above ``--shard-limit`` are not sharded (said why);
- **downloads**: 1,000 photo-like files at web sizes (``web_photos``), served from loopback under
  N distinct URLs on the synthetic web's ordinary hosts; ``--no-dedupe``, since the repeated
  bodies would otherwise be dropped as copies after the first 1,000.

Each stage runs as ``wit-builder STAGE`` in a wrapper process that reports its wall time and the
peak memory of its largest process: harvest with 2 worker processes, balance and shard with one
(their defaults), download with one worker and images decoded in a pool of 2. Prints per stage
and size: pairs in, seconds, µs per pair, peak MiB, bytes written per pair; then the drift (µs per
pair at the largest size ÷ at the smallest; goal ≤ 1.3) and each stage's memory growth; then the
run planner's estimate (``wit_builder.plan``, the machine's rates of ``benchmarks/rates.json``
given each stage's actual pairs in) against the measured seconds. Writes the curve as SVG.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bench_match import RealVocabulary, real_vocabulary
from measure import measure

LINKS_PER_FILE = 62_500
LINKS_PER_PAGE = 10
ASSETS = 20_000
QUERIES = 500_000


_VOCABULARY: RealVocabulary | None = None  # one per writer process, set by the pool's initializer


def _take_vocabulary(vocabulary: RealVocabulary) -> None:
    global _VOCABULARY
    _VOCABULARY = vocabulary


def _wat_file(job: tuple[Path, int, int, int]) -> int:
    """One WAT file of ``links`` image links (pages ``first_page`` on), in a writer process."""
    from wit_builder.synthetic.wat import gzip_member, page_records

    path, first_page, links, seed = job
    vocabulary = _VOCABULARY
    vocabulary.rng = random.Random(seed)  # each file its own draws, whichever process writes it
    rng = vocabulary.rng
    asset_weights = list(np.cumsum(1.0 / np.arange(1, ASSETS + 1)))
    captions = iter(vocabulary.captions(int(links * 0.75)))
    members = []
    pages = links // LINKS_PER_PAGE
    for page in range(first_page, first_page + pages):
        host = page % 5_000
        url = f"https://www{host}.example.org/articles/{page}.html"
        items = [{"path": "LINK@/href", "url": "/style.css", "rel": "stylesheet"}]
        for slot in range(LINKS_PER_PAGE):
            draw = rng.random()
            if draw < 0.72:
                alt = next(captions)
                items.append({"path": "IMG@/src", "url": f"/media/{page}-{slot}.jpg", "alt": alt})
            elif draw < 0.90:
                asset = rng.choices(range(ASSETS), cum_weights=asset_weights)[0]
                alt = rng.choice(["logo", "icon", " ".join(vocabulary.draw(rng.randint(1, 4)))])
                items.append({"path": "IMG@/src", "url": f"https://cdn.example.net/assets/{asset}.png", "alt": alt})
            else:
                items.append({"path": "IMG@/src", "url": f"/media/{page}-{slot}.jpg"})
        items.append({"path": "A@/href", "url": f"/articles/{page + 1}.html", "text": "next"})
        head = {"Title": f"Article {page}", "Metas": [{"name": "viewport", "content": "width=device-width"}]}
        members.extend(gzip_member(record) for record in page_records(url, f"/articles/{page}.html", head, items))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(members))
    return pages * LINKS_PER_PAGE


def write_inputs(root: Path, links: int, vocabulary: RealVocabulary) -> Path:
    """``root/wat-LINKS/*.warc.wat.gz`` holding ``links`` image links (made once per size)."""
    folder = root / f"wat-{links}"
    done = folder / "DONE"
    if done.exists():
        return folder
    files = max(1, links // LINKS_PER_FILE)
    per_file = links // files
    jobs = [
        (folder / f"CC-MAIN-bench-{index:05d}.warc.wat.gz", index * per_file // LINKS_PER_PAGE, per_file, index + 1)
        for index in range(files)
    ]
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(2, initializer=_take_vocabulary, initargs=(vocabulary,)) as pool:
        written = sum(pool.imap_unordered(_wat_file, jobs))
    done.write_text(str(written))
    return folder


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def run_stage(stage: str, out: Path, args: list[str]) -> dict:
    """``wit-builder STAGE ... --out OUT``, measured, with its stats.json and bytes written."""
    run = measure([sys.executable, "-m", "wit_builder.cli", stage, *args, "--out", str(out)])
    run["stats"] = json.loads((out / "stats.json").read_text())
    run["bytes"] = folder_bytes(out)
    return run


def write_samples(balanced: Path, out: Path) -> int:
    """A download-like folder: each balanced file's pairs with a small photo-like JPEG."""
    from wit_builder.schemas import load_schema, write_table
    from wit_builder.synthetic.sample_pool import encoded_pictures

    pictures = encoded_pictures(256, 96, seed=1, quality=85)
    digests = [hashlib.sha256(picture).hexdigest() for picture in pictures]
    kept = load_schema("samples").names
    (out / "samples").mkdir(parents=True, exist_ok=True)
    total = 0
    for index, path in enumerate(sorted((balanced / "balanced").glob("*.parquet"))):
        table = pq.read_table(path)
        rows = table.num_rows
        picks = (np.arange(rows) + total) % len(pictures)
        columns = {
            "image": pa.array([pictures[i] for i in picks], pa.binary()),
            "image_format": pa.array(["jpg"] * rows),
            "width": pa.array([96] * rows, pa.int32()),
            "height": pa.array([96] * rows, pa.int32()),
            "original_width": pa.array([800] * rows, pa.int32()),
            "original_height": pa.array([600] * rows, pa.int32()),
            "original_bytes": pa.array([90_000] * rows, pa.int64()),
            "sha256": pa.array([digests[i] for i in picks]),
            "phash": pa.array(np.arange(total, total + rows, dtype=np.int64), pa.int64()),
            "colour_grid": pa.array([bytes(48)] * rows, pa.binary()),
            "faces_blurred": pa.array([0] * rows, pa.int32()),
        }
        for name, column in columns.items():
            table = table.append_column(name, column)
        table = table.select([name for name in kept if name in table.column_names])
        write_table(table, str(out / "samples" / f"part-{index:05d}.parquet"), "samples", without=("lang",))
        total += rows
    (out / "stats.json").write_text(json.dumps({"pairs_in": total, "ok": total, "adds_up": True}) + "\n")
    return total


def chain_at(root: Path, links: int, vocabulary: RealVocabulary, shard_limit: int) -> dict[str, dict]:
    """Harvest, balance and shard at one size; each stage's run."""
    started = time.monotonic()
    wat = write_inputs(root, links, vocabulary)
    queries = root / "queries.txt"
    print(f"  inputs: {links:,} links in {len(list(wat.glob('*.gz')))} WAT files ({time.monotonic() - started:.0f}s)")
    runs: dict[str, dict] = {}
    work = root / f"run-{links}"
    runs["harvest"] = run_stage(
        "harvest",
        work / "harvest",
        ["--queries", str(queries), "--wat", str(wat / "*.warc.wat.gz"), "--direct_num_workers=2",
         "--direct_running_mode=multi_processing"],
    )  # fmt: skip
    runs["harvest"]["pairs"] = runs["harvest"]["stats"]["pairs_read"]
    runs["balance"] = run_stage("balance", work / "balance", ["--candidates", str(work / "harvest")])
    runs["balance"]["pairs"] = runs["balance"]["stats"]["pairs_in"]
    kept = runs["balance"]["stats"]["kept"]
    if kept > shard_limit:
        print(f"  shard: not run at {kept:,} samples (over --shard-limit {shard_limit:,}: disk, see the docstring)")
        return runs
    samples = write_samples(work / "balance", work / "download")
    runs["shard"] = run_stage("shard", work / "shard", ["--samples", str(work / "download")])
    runs["shard"]["pairs"] = samples
    return runs


def download_at(root: Path, images: int, photos: dict[str, bytes]) -> dict:
    """Download ``images`` distinct URLs served from loopback (bodies from ``photos``)."""
    from wit_builder.harvest.normalise import url_uid
    from wit_builder.schemas import table_from_rows, write_table
    from wit_builder.synthetic import SyntheticWorld, WorldConfig
    from wit_builder.synthetic.web import SyntheticWeb

    names = list(photos)
    extra = {f"{index:07d}-{names[index % len(names)]}": photos[names[index % len(names)]] for index in range(images)}
    world = SyntheticWorld(replace(WorldConfig(seed=6), images=100, fault_share=0.0))
    work = root / f"download-{images}"
    with SyntheticWeb(world.catalog, extra=extra) as web:
        hosts = world.config.hosts
        urls = [f"{web.base_urls[k % hosts]}/extra/{name}" for k, name in enumerate(extra)]
        (work / "balance" / "balanced").mkdir(parents=True, exist_ok=True)
        rows = [
            {"uid": url_uid(url), "url": url, "text": f"a photo, number {k}", "page_url": None, "source": "bench",
             "matches": ["photo"]}
            for k, url in enumerate(urls)
        ]  # fmt: skip
        table = table_from_rows(rows, "balanced")
        write_table(table, str(work / "balance" / "balanced" / "part-00000.parquet"), "balanced")
        run = run_stage(
            "download",
            work / "out",
            ["--pairs", str(work / "balance"), "--allow-private-network", "--image-processes", "2", "--no-dedupe",
             "--min-image-size", "0"],
        )  # fmt: skip
    run["pairs"] = run["stats"]["pairs_in"]
    return run


def svg_curve(curves: dict[str, list[tuple[int, float]]], path: Path) -> None:
    """µs per pair against pairs (both on log scales), one line per stage."""
    width, height, margin = 640, 360, 60
    xs = [x for points in curves.values() for x, _ in points]
    ys = [y for points in curves.values() for _, y in points]
    lx = (np.log10(min(xs)), np.log10(max(xs)) + 1e-9)
    ly = (np.log10(min(ys) / 1.5), np.log10(max(ys) * 1.5))

    def at(x: float, y: float) -> tuple[float, float]:
        px = margin + (np.log10(x) - lx[0]) / (lx[1] - lx[0]) * (width - 2 * margin)
        py = height - margin - (np.log10(y) - ly[0]) / (ly[1] - ly[0]) * (height - 2 * margin)
        return px, py

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle">µs per pair against pairs in (log-log; flat is '
        "good)</text>",
        f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" y2="{height - margin}" stroke="black"/>',
        f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
    ]
    for exponent in range(int(np.floor(lx[0])), int(np.ceil(lx[1])) + 1):
        if lx[0] - 1e-6 <= exponent <= lx[1] + 1e-6:
            px, _ = at(10**exponent, 10 ** ly[0])
            parts.append(f'<text x="{px}" y="{height - margin + 18}" text-anchor="middle">10^{exponent}</text>')
    for value in (1, 3, 10, 30, 100, 300, 1000, 3000, 10000):
        if ly[0] <= np.log10(value) <= ly[1]:
            _, py = at(10 ** lx[0], value)
            parts.append(f'<text x="{margin - 6}" y="{py + 4}" text-anchor="end">{value}</text>')
    for index, (stage, points) in enumerate(curves.items()):
        colour = colours[index % len(colours)]
        coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in (at(x, y) for x, y in points))
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            px, py = at(x, y)
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        parts.append(f'<text x="{width - margin + 4}" y="{margin + 16 * index}" fill="{colour}">{stage}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1e5,1e6,1e7", help="image links into harvest")
    parser.add_argument("--downloads", default="1e4,1e5", help="images to download")
    parser.add_argument("--shard-limit", type=float, default=1e6, help="largest sample count to shard")
    parser.add_argument("--queries", type=int, default=QUERIES, help="entries in the list (default: %(default)s)")
    parser.add_argument("--svg", default=str(Path(__file__).with_name("chain_curve.svg")))
    parser.add_argument("--keep", metavar="DIR")
    args = parser.parse_args()
    sizes = [int(float(size)) for size in args.sizes.split(",") if size]
    downloads = [int(float(size)) for size in args.downloads.split(",") if size]
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-chain-"))
    root.mkdir(parents=True, exist_ok=True)

    vocabulary = real_vocabulary(args.queries, 0)
    (root / "queries.txt").write_text("\n".join(vocabulary.queries) + "\n")
    results: dict[str, list[dict]] = {}
    for links in sizes:
        print(f"{links:,} image links:")
        for stage, run in chain_at(root, links, vocabulary, int(args.shard_limit)).items():
            run["size"] = links
            results.setdefault(stage, []).append(run)
            print(report_line(stage, run))
    if downloads:
        from web_photos import web_photos

        photos = web_photos(1_000)
        for images in downloads:
            print(f"{images:,} images to download:")
            run = download_at(root, images, photos)
            run["size"] = images
            results.setdefault("download", []).append(run)
            print(report_line("download", run))
    summarise(results)
    svg_curve(
        {
            stage: [(run["pairs"], run["seconds"] / run["pairs"] * 1e6) for run in runs]
            for stage, runs in results.items()
        },
        Path(args.svg),
    )
    print(f"curve: {args.svg}")


def report_line(stage: str, run: dict) -> str:
    pairs = run["pairs"]
    return (
        f"  {stage:<9} {pairs:>11,} pairs in  {run['seconds']:8.1f} s  {run['seconds'] / pairs * 1e6:8.2f} µs/pair  "
        f"peak {run['peak_mib']:6.0f} MiB  {run['bytes'] / pairs:8.1f} B/pair written"
    )


def summarise(results: dict[str, list[dict]]) -> None:
    """Drift and memory growth per stage, and the planner's seconds against the measured ones."""
    from wit_builder.plan import load_rates, stage_estimate

    rates = load_rates()
    started = rates["command_start_seconds"]  # each stage runs here as its own command
    rates = rates["stages"]
    workers = {"harvest": 2, "balance": 1, "download": 1, "shard": 1}
    print("stage      drift (µs/pair, largest ÷ smallest)  memory (largest ÷ smallest)  plan ÷ actual seconds")
    for stage, runs in results.items():
        first, last = runs[0], runs[-1]
        drift = (last["seconds"] / last["pairs"]) / (first["seconds"] / first["pairs"])
        memory = last["peak_mib"] / first["peak_mib"]
        estimates = []
        for run in runs:
            planned = started + stage_estimate(stage, rates[stage], run["pairs"], workers[stage], (0, 0)).wall_seconds
            estimates.append(f"{planned / run['seconds']:.2f}")
        print(
            f"{stage:<10} {drift:>6.2f} ({len(runs)} sizes)                       {memory:>5.2f}"
            f"                        {', '.join(estimates)}"
        )


if __name__ == "__main__":
    main()
