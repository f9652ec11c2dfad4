"""Benchmark: eval-set decontamination's recall, false positives, speed and memory.

    python benchmarks/bench_decontaminate.py [--originals 300] [--unrelated 5000] [--index-images 100000]

An evaluation set of photo-like originals (``synthetic.photos``: structure at every scale, as a
photo has) is hashed as the download stage hashes it (``eval_sets.prepare_eval_sets``). Each
original is then copied in every way of ``planted.NEAR_COPY_TRANSFORMS`` (×0.5, ×2, JPEG q40,
crops keeping 95% and 90% of each side at each corner and at the centre, a white border, black
letterbox bars), and ``--random-copies`` more times in ways drawn at random
(``planted.random_near_copy``: a crop at any corner or the centre keeping 90-97%, a rescale by
0.4-2, a border of 2-10% in any of three colours, JPEG quality 30-95), whose recall is reported
per kind; several thousand unrelated photo-like pictures are drawn too. Every copy and every
unrelated picture goes through the download stage's own image path (``process_image`` with the
PDQ wanted) and is looked up in the index (``EvalIndex``) at the default radius.

The peer is what one would write first: one PDQ hash of each whole picture, compared at PDQ's
usual radius of 31, with no border trimming and no crops. It runs on the same pictures.

Prints, for both: recall per change, overall recall, false positives (unrelated pictures matched
to some original) as a rate; ours' hashing and look-up speed; and, in a separate process, the
peak memory of an index over ``--index-images`` evaluation images (21 hashes each) with the time
of 1,000 look-ups. ``recall=`` and ``false_positive_rate=`` are the headline figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from wit_builder.download.eval_sets import DEFAULT_EVAL_RADIUS, EvalIndex, EvalSet, prepare_eval_sets
from wit_builder.download.images import process_image
from wit_builder.download.pdq import CROP_VARIANTS, hamming, pdq_hash
from wit_builder.download.settings import ImageSettings
from wit_builder.synthetic.photos import photo_like
from wit_builder.synthetic.planted import NEAR_COPY_TRANSFORMS, random_near_copy, transformed

NAIVE_RADIUS = 31

_WRITE = """
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from wit_builder.download.eval_sets import HASHES_SCHEMA
folder, images = sys.argv[1], int(sys.argv[2])
from wit_builder.download.pdq import CROP_VARIANTS
per = len(CROP_VARIANTS)
rows = images * per
hashes = np.random.default_rng(0).integers(0, 256, (rows, 32), dtype=np.uint8)
pdq = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), rows, [None, pa.py_buffer(hashes.tobytes())])
table = pa.table({"id": pa.array([f"img-{k // per:06d}.jpg" for k in range(rows)]),
                  "variant": pa.array(np.arange(rows) % per, pa.int8()), "pdq": pdq,
                  "quality": pa.array([100] * rows, pa.int8()), "thumbnail": pa.nulls(rows, pa.binary())})
pq.write_table(table.cast(HASHES_SCHEMA), f"{folder}/eval_sets/big.parquet", row_group_size=65_536)
"""
# In a process of its own: the index's memory, apart from what writing the hashes took.
_LOAD = """
import json, sys, time
import numpy as np
from wit_builder.download.eval_sets import EvalIndex
import faiss, pyarrow.parquet  # loaded before the baseline is taken
def high_water_kib():  # this process's peak; ru_maxrss would carry the parent's across exec
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
folder = sys.argv[1]
before = high_water_kib()
started = time.perf_counter()
index = EvalIndex(folder, ["big"])
built = time.perf_counter() - started
rng = np.random.default_rng(1)
queries = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)) for _ in range(1000)]
started = time.perf_counter()
index.find(queries)
lookups = time.perf_counter() - started
peak = high_water_kib()
print(json.dumps({"hashes": index.index.ntotal, "build_s": built, "lookup_1000_s": lookups,
                  "peak_mib": peak / 1024, "growth_mib": (peak - before) / 1024}))
"""


def query_hash(data: bytes, settings: ImageSettings) -> bytes | None:
    """The PDQ the download stage compares for a served body (None: too plain to match on)."""
    from wit_builder.download.pdq import MIN_QUALITY

    image = process_image(data, settings, frozenset({"pdq"}))
    if image.status != "ok" or image.digests is None or image.pdq_quality < MIN_QUALITY:
        return None
    return image.digests.pdq


def naive_hash(data: bytes) -> bytes:
    import io

    from PIL import Image

    return pdq_hash(Image.open(io.BytesIO(data)).convert("RGB"))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--originals", type=int, default=300)
    parser.add_argument("--unrelated", type=int, default=5000)
    parser.add_argument("--index-images", type=int, default=100_000)
    parser.add_argument("--side", type=int, default=384)
    parser.add_argument("--random-copies", type=int, default=4, help="near copies drawn at random per original")
    args = parser.parse_args()
    settings = ImageSettings()
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "eval"
        folder.mkdir()
        originals = [photo_like(rng, args.side) for _ in range(args.originals)]
        for k, image in enumerate(originals):
            image.save(folder / f"eval-{k:05d}.png")
        started = time.perf_counter()
        prepare_eval_sets([EvalSet("bench", str(folder))], tmp, processes=1)
        hashing = time.perf_counter() - started
        index = EvalIndex(tmp, ["bench"])
        naive_index = [naive_hash(_png(image)) for image in originals]

        found: dict[str, list[bool]] = {how: [] for how in NEAR_COPY_TRANSFORMS}
        naive_found: dict[str, list[bool]] = {how: [] for how in NEAR_COPY_TRANSFORMS}
        query_seconds, queries = 0.0, 0
        for k, image in enumerate(originals):
            for how in NEAR_COPY_TRANSFORMS:
                data = transformed(image, how)
                started = time.perf_counter()
                digest = query_hash(data, settings)
                match = index.find([digest])[0] if digest else None
                query_seconds += time.perf_counter() - started
                queries += 1
                found[how].append(match is not None and match.eval_id == f"eval-{k:05d}.png")
                naive_found[how].append(hamming(naive_hash(data), naive_index[k]) <= NAIVE_RADIUS)

        drawn: dict[str, list[bool]] = {}
        draw_rng = np.random.default_rng(23)
        for k, image in enumerate(originals):
            for _ in range(args.random_copies):
                kind, data = random_near_copy(image, draw_rng)
                digest = query_hash(data, settings)
                match = index.find([digest])[0] if digest else None
                drawn.setdefault(kind, []).append(match is not None and match.eval_id == f"eval-{k:05d}.png")

        unrelated_rng = np.random.default_rng(97)
        false_positives = naive_false_positives = 0
        naive_array = np.frombuffer(b"".join(naive_index), np.uint8).reshape(-1, 32)
        for _ in range(args.unrelated):
            data = _jpeg(photo_like(unrelated_rng, args.side))
            digest = query_hash(data, settings)
            false_positives += bool(digest and index.find([digest])[0])
            naive = np.frombuffer(naive_hash(data), np.uint8)
            distances = np.unpackbits(naive_array ^ naive, axis=1).sum(axis=1)
            naive_false_positives += bool((distances <= NAIVE_RADIUS).any())

        (Path(tmp) / "eval_sets").mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-c", _WRITE, tmp, str(args.index_images)], check=True)
        loaded = subprocess.run([sys.executable, "-c", _LOAD, tmp], capture_output=True, text=True, check=True)
        memory = json.loads(loaded.stdout)

    total = len(originals) * len(NEAR_COPY_TRANSFORMS)
    print(f"evaluation set: {len(originals):,} photo-like originals at {args.side} px, hashed in {hashing:.1f}s "
          f"({hashing / len(originals) * 1000:.1f} ms each: {len(CROP_VARIANTS)} crops)")  # fmt: skip
    print(f"near copies: {total:,}; unrelated pictures: {args.unrelated:,}; radius {DEFAULT_EVAL_RADIUS} (ours), "
          f"{NAIVE_RADIUS} (one whole-picture PDQ)")  # fmt: skip
    print(f"{'change':<18}{'ours':>8}{'one PDQ':>10}")
    for how in NEAR_COPY_TRANSFORMS:
        print(f"{how:<18}{np.mean(found[how]):>8.1%}{np.mean(naive_found[how]):>10.1%}")
    recall = sum(map(sum, found.values())) / total
    naive_recall = sum(map(sum, naive_found.values())) / total
    print(f"{'all':<18}{recall:>8.1%}{naive_recall:>10.1%}")
    drawn_total = sum(map(len, drawn.values()))
    print(f"near copies drawn at random: {drawn_total:,}")
    print(f"{'kind':<22}{'copies':>8}{'recall':>9}")
    for kind in sorted(drawn):
        print(f"{kind:<22}{len(drawn[kind]):>8}{np.mean(drawn[kind]):>9.1%}")
    random_recall = sum(map(sum, drawn.values())) / max(1, drawn_total)
    print(f"{'all drawn':<22}{drawn_total:>8}{random_recall:>9.1%}")
    print(f"false positives: ours {false_positives} of {args.unrelated:,}, one PDQ {naive_false_positives}")
    print(
        f"look-up on the download path (decode, resize, PDQ, index): {query_seconds / queries * 1000:.1f} ms a picture"
    )
    print(f"index of {args.index_images:,} evaluation images ({memory['hashes']:,} hashes): built in "
          f"{memory['build_s']:.2f}s; the index took {memory['growth_mib']:.0f} MiB "
          f"(process peak {memory['peak_mib']:.0f} MiB), "
          f"1,000 look-ups in {memory['lookup_1000_s']:.2f}s")  # fmt: skip
    rate = false_positives / args.unrelated
    print(
        f"recall={recall:.4f} random_recall={random_recall:.4f} naive_recall={naive_recall:.4f} "
        f"false_positive_rate={rate:.5f}"
    )


def _png(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
