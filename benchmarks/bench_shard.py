"""Benchmark: our shard stage against webdataset's own ShardWriter on the same download output.

    python benchmarks/bench_shard.py [--sizes 8000,32000] [--ours-flags "..."]

Writes a download-like folder per size (``wit_builder.synthetic.sample_pool``: photo-like 256 px
JPEGs at quality 95, ~33 KB each like resized web photos, captions and Zipf query matches, in
files of 500 rows like the download stage's chunks), then runs in wrapper processes that report
wall time and peak memory:

- webdataset's ``ShardWriter`` (the way img2dataset and most scripts write shards): reads the
  samples files batch by batch with pyarrow and writes ``KEY.jpg``, ``KEY.txt`` and ``KEY.json``
  in input order, 10,000 samples a shard, with a fixed mtime;
- ``wit-builder shard`` with its defaults: placement by hash (a global shuffle), per-shard
  Parquet index, SHA-256 of every tar, manifest, report, on FnApiRunner (``--ours-flags`` to
  try others).

- **the floor**: the least work that writes the same samples as tars, done the most direct way,
  in one process: each samples file read whole with pyarrow, its rows written in input order
  with ``tarfile`` (``KEY.jpg``, ``KEY.json``, ``KEY.txt``, 10,000 a shard) and each shard's
  index written with pyarrow. No shuffle, no SHA-256, no manifest, report, resumption or Beam.

Prints MB/s of tar written for each, ``shard_write_ratio=<ours / webdataset>``,
``shard_floor_ratio=<floor / ours>`` (how far ours is from the floor; the goal is ≤ 1.3) and the
peak memory of the largest process at each size (it should stay flat as the input grows).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from measure import measure, median_run, seconds_of

from wit_builder.synthetic.sample_pool import write_sample_pool

PER_SHARD = 10_000

_SHARD_WRITER = """
import json, sys
from pathlib import Path
import pyarrow.parquet as pq
import webdataset as wds
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
columns = ["uid", "url", "text", "page_url", "matches", "image", "width", "height", "sha256"]
with wds.ShardWriter(str(out / "%06d.tar"), maxcount=int(sys.argv[3]), mtime=0, verbose=0) as sink:
    index = 0
    for path in sorted((folder / "samples").glob("*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=columns):
            for row in batch.to_pylist():
                meta = {k: row[k] for k in ("uid", "url", "page_url", "matches", "width", "height", "sha256")}
                sink.write({"__key__": f"{index:09d}", "jpg": row["image"], "txt": row["text"],
                            "json": json.dumps({**meta, "caption": row["text"]}).encode()})
                index += 1
"""


_FLOOR = """
import io, json, sys, tarfile
from pathlib import Path
import pyarrow as pa
import pyarrow.parquet as pq
folder, out, per_shard = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
index_columns = ["uid", "url", "text", "page_url", "source", "matches", "width", "height", "sha256", "phash"]
state = {"tar": None, "shard": -1, "rows": []}
def close():
    if state["tar"] is not None:
        state["tar"].close()
        pq.write_table(pa.Table.from_pylist(state["rows"]), out / f"{state['shard']:06d}.parquet")
def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), 0
    tar.addfile(info, io.BytesIO(data))
count = 0
for path in sorted((folder / "samples").glob("*.parquet")):
    table = pq.read_table(path)
    images = table.column("image").to_pylist()
    for row, image in zip(table.select(index_columns).to_pylist(), images):
        if count % per_shard == 0:
            close()
            state["shard"] += 1
            state["tar"] = tarfile.open(out / f"{state['shard']:06d}.tar", "w", format=tarfile.USTAR_FORMAT)
            state["rows"] = []
        key = f"{count:010d}"
        meta = {k: row[k] for k in index_columns if k != "text"}
        add(state["tar"], key + ".jpg", image)
        add(state["tar"], key + ".json", json.dumps({**meta, "key": key, "caption": row["text"]}).encode())
        add(state["tar"], key + ".txt", row["text"].encode())
        state["rows"].append({"key": key, **row})
        count += 1
close()
"""


def tar_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.glob("*.tar"))


def run_size(root: Path, samples: int, ours_flags: list[str], repeat: int = 1) -> dict:
    source = write_sample_pool(
        root / f"download-{samples}", samples, queries=20_000, files=max(1, samples // 500), seed=samples
    )
    theirs_runs, ours_runs, floor_runs = [], [], []
    for _ in range(max(1, repeat)):
        for folder in (root / f"wds-{samples}", root / f"ours-{samples}", root / f"floor-{samples}"):
            shutil.rmtree(folder, ignore_errors=True)  # a finished output would make ours a no-op
        os.sync()  # each run starts with no other run's gigabyte still being written back to disk
        theirs_runs.append(
            measure([sys.executable, "-c", _SHARD_WRITER, str(source), str(root / f"wds-{samples}"), str(PER_SHARD)])
        )
        os.sync()
        floor_runs.append(
            measure([sys.executable, "-c", _FLOOR, str(source), str(root / f"floor-{samples}"), str(PER_SHARD)])
        )
        os.sync()
        ours_runs.append(
            measure(
                [
                    sys.executable,
                    "-m",
                    "wit_builder.cli",
                    "shard",
                    "--samples",
                    str(source),
                    "--out",
                    str(root / f"ours-{samples}"),
                    *ours_flags,
                ]
            )
        )
    if repeat > 1:
        print(f"{samples:,} samples, seconds, ours: {seconds_of(ours_runs)}; webdataset: {seconds_of(theirs_runs)}")
    theirs, ours, floor = median_run(theirs_runs), median_run(ours_runs), median_run(floor_runs)
    stats = json.loads((root / f"ours-{samples}" / "stats.json").read_text())
    assert stats["adds_up"] and stats["written"] == samples, stats
    result = {"samples": samples}
    for name, run, folder in (("webdataset", theirs, "wds"), ("ours", ours, "ours"), ("floor", floor, "floor")):
        written = tar_bytes(root / f"{folder}-{samples}")
        result[name] = {
            "seconds": run["seconds"],
            "mb": written / 1e6,
            "mb_per_s": written / 1e6 / run["seconds"],
            "peak_mib": run["peak_mib"],
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="8000,32000", help="input sizes in samples (default: %(default)s)")
    parser.add_argument("--ours-flags", default="", help="more flags for wit-builder shard, one string")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternately; medians compared (default 1)")
    parser.add_argument("--keep", metavar="DIR", help="keep the inputs and outputs here")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-shard-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        sizes = args.sizes.split(",")
        results = [run_size(root, int(size), shlex.split(args.ours_flags), args.repeat) for size in sizes]
    finally:
        if not args.keep:  # gigabytes of inputs and tars: gone unless asked for
            shutil.rmtree(root, ignore_errors=True)
    for result in results:
        theirs, ours = result["webdataset"], result["ours"]
        print(f"{result['samples']:,} samples ({ours['mb']:,.0f} MB of tar):")
        print(
            f"  webdataset ShardWriter: {theirs['seconds']:.1f}s = {theirs['mb_per_s']:,.1f} MB/s, "
            f"peak {theirs['peak_mib']:.0f} MiB"
        )
        print(
            f"  ours (shuffled, indexed, hashed): {ours['seconds']:.1f}s = {ours['mb_per_s']:,.1f} MB/s, "
            f"peak {ours['peak_mib']:.0f} MiB"
        )
        floor = result["floor"]
        print(f"  floor (tarfile and pyarrow, input order, one process): {floor['seconds']:.1f}s = "
              f"{floor['mb_per_s']:,.1f} MB/s")  # fmt: skip
        print(f"  shard_write_ratio={ours['mb_per_s'] / theirs['mb_per_s']:.3f}")
        print(f"  shard_floor_ratio={floor['mb_per_s'] / ours['mb_per_s']:.3f}")
    growth = results[-1]["ours"]["peak_mib"] / results[0]["ours"]["peak_mib"]
    peaks = " -> ".join(f"{result['ours']['peak_mib']:.0f} MiB" for result in results)
    print(
        f"peak memory, ours: {peaks} "
        f"({growth:.2f}x for {results[-1]['samples'] / results[0]['samples']:.0f}x the samples)"
    )


if __name__ == "__main__":
    main()
