"""Evaluation sets to keep out of the collection: their images hashed once, then an index.

A model's zero-shot score means little if its training set holds copies of the test images,
so DataComp removed near copies of its evaluation images before release. ``--eval-sets``
names evaluation sets, each one of:

- a folder of images (every ``.jpg .jpeg .png .webp .gif .bmp`` below it; the id is the path
  inside the folder);
- WebDataset shards: a ``.tar`` file, a brace pattern, or a folder of ``.tar`` files (the id
  is the sample's key; its first image member is the picture);
- a Parquet of hashes (``.parquet``): what this module writes for a set it hashed, so a user
  can ship the hashes of a set instead of its images.

Each picture is hashed with PDQ in the crops of ``pdq.CROP_VARIANTS`` after its plain borders
are trimmed: one row per (image, crop), 32 bytes of hash each. The download stage writes a
run's sets to ``OUT/eval_sets/NAME.parquet`` before fetching, and every worker builds one
binary index over them (``EvalIndex``, faiss's when installed): 100,000 evaluation images are 700,000 hashes,
22 MB, whatever the size of the collection.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq

from wit_builder.download.pdq import MIN_QUALITY, PDQ_BYTES
from wit_builder.errors import UsageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp")
DEFAULT_EVAL_RADIUS = 40
ROW_GROUP = 65_536  # hashes a row group of NAME.parquet holds
HASHES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("variant", pa.int8(), nullable=False),  # index into pdq.CROP_VARIANTS
        pa.field("pdq", pa.binary(PDQ_BYTES), nullable=False),
        pa.field("quality", pa.int8(), nullable=False),
        pa.field("thumbnail", pa.binary()),  # a small JPEG, on variant 0's row; null in shipped hashes
    ]
)


@dataclass(frozen=True)
class EvalSet:
    """``--eval-sets [NAME=]PATH``: the name defaults to the path's stem."""

    name: str
    path: str

    @classmethod
    def parse(cls, text: str) -> EvalSet:
        name, equals, path = text.partition("=")
        if not equals or "/" in name or not name:
            name, path = PurePosixPath(text.rstrip("/")).stem or "eval", text
        return cls(name, path)


def hashes_path(out_dir: str, name: str) -> str:
    return f"{out_dir.rstrip('/')}/eval_sets/{name}.parquet"


def hash_picture(item: tuple[str, bytes]) -> list[dict] | str:
    """The rows of one evaluation picture, or why it could not be read."""
    from PIL import Image, ImageOps

    from wit_builder.download.pdq import crop_variants, pdq_hash
    from wit_builder.report.thumbnails import thumbnail

    image_id, data = item
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (1024, 1024))
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except Exception as error:  # any undecodable file is reported, not fatal
        return f"{image_id}: {type(error).__name__}: {error}"
    rows = []
    for variant, crop in enumerate(crop_variants(image)):
        digest, quality = pdq_hash(crop)
        small = thumbnail(image) if variant == 0 else None
        rows.append({"id": image_id, "variant": variant, "pdq": digest, "quality": quality, "thumbnail": small})
    return rows


def _folder_pictures(path: str) -> Iterator[tuple[str, bytes]]:
    filesystem, root = fsspec.core.url_to_fs(path)
    root = root.rstrip("/")
    for file in sorted(filesystem.find(root)):
        if file.lower().endswith(IMAGE_EXTENSIONS):
            with filesystem.open(file, "rb") as handle:
                yield file[len(root) + 1 :], handle.read()


def _shard_pictures(urls: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    for url in urls:
        with fsspec.open(url, "rb") as handle, tarfile.open(fileobj=handle, mode="r|*") as tar:
            seen: set[str] = set()
            for member in tar:
                if not member.isfile():
                    continue
                key, _, extension = PurePosixPath(member.name).name.partition(".")
                stem = str(PurePosixPath(member.name).parent / key)
                if f".{extension.lower()}" in IMAGE_EXTENSIONS and stem not in seen:
                    seen.add(stem)
                    yield stem, tar.extractfile(member).read()


def pictures(path: str) -> Iterator[tuple[str, bytes]]:
    """(id, file bytes) of every picture of an image folder or a shard set."""
    from wit_builder.io.shard_urls import resolve_shard_set

    filesystem, _ = fsspec.core.url_to_fs(path)
    plain = "{" not in path and "::" not in path
    if plain and not filesystem.exists(path):
        raise UsageError(f"--eval-sets {path}: no such file or folder")
    folder = path.rstrip("/")
    if (
        plain
        and filesystem.isdir(path)
        and not filesystem.glob(f"{folder}/*.tar")
        and not filesystem.exists(f"{folder}/manifest.json")
    ):
        yield from _folder_pictures(path)
        return
    urls, _, _ = resolve_shard_set(path)
    yield from _shard_pictures(urls)


def source_key(path: str) -> str:
    """What the set's hashes depend on: its files' names, sizes and modification times, and the
    crops each picture is hashed in (a set hashed before the corner crops is hashed again)."""
    from wit_builder.download.pdq import CROP_VARIANTS

    filesystem, root = fsspec.core.url_to_fs(path)
    if filesystem.isdir(root):
        files = sorted(
            (file, info.get("size"), str(info.get("mtime", "")))
            for file, info in filesystem.find(root, detail=True).items()
        )
    else:
        info = filesystem.info(root)
        files = [(root, info.get("size"), str(info.get("mtime", "")))]
    return hashlib.sha256(json.dumps([files, CROP_VARIANTS], default=str).encode()).hexdigest()[:16]


def _read_hashes(path: str) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as error:
        raise UsageError(f"--eval-sets {path}: not a readable Parquet ({type(error).__name__}: {error})") from None
    missing = [name for name in ("id", "pdq") if name not in table.column_names]
    if missing:
        raise UsageError(f"--eval-sets {path}: a Parquet of hashes needs the columns id and pdq (lacks {missing})")
    pdq = table.column("pdq")
    if pa.types.is_string(pdq.type) or pa.types.is_large_string(pdq.type):  # hex, as hash lists are written
        try:
            pdq = pa.array([bytes.fromhex(text) for text in pdq.to_pylist()], pa.binary(PDQ_BYTES))
        except (ValueError, TypeError, pa.ArrowException) as error:
            raise UsageError(f"--eval-sets {path}: pdq must be 64 hex digits or 32 bytes ({error})") from None
    rows = table.num_rows
    columns = {
        "id": table.column("id").cast(pa.string()),
        "variant": table.column("variant") if "variant" in table.column_names else pa.array([0] * rows, pa.int8()),
        "pdq": pdq,
        "quality": table.column("quality") if "quality" in table.column_names else pa.array([100] * rows, pa.int8()),
        "thumbnail": table.column("thumbnail") if "thumbnail" in table.column_names else pa.nulls(rows, pa.binary()),
    }
    try:
        return pa.table(columns).cast(HASHES_SCHEMA)
    except (pa.ArrowException, ValueError) as error:
        raise UsageError(f"--eval-sets {path}: pdq must be 32 bytes a row ({error})") from None


def prepare_eval_sets(sets: Sequence[EvalSet], out_dir: str, processes: int = 0) -> dict[str, dict]:
    """Write each set's hashes to ``OUT/eval_sets/NAME.parquet`` (reused while the set's files are
    unchanged); returns per set: images, hashes, unreadable pictures and the hashes' digest."""
    from wit_builder.atomic import write_atomically
    from wit_builder.io.json_files import write_json

    summary: dict[str, dict] = {}
    names = [eval_set.name for eval_set in sets]
    if len(set(names)) != len(names):
        raise UsageError(f"--eval-sets: two sets are named the same ({', '.join(names)}); write NAME=PATH")
    filesystem, _ = fsspec.core.url_to_fs(out_dir)
    filesystem.makedirs(f"{out_dir.rstrip('/')}/eval_sets", exist_ok=True)
    for eval_set in sets:  # every set found before any is hashed
        plain = "{" not in eval_set.path and "::" not in eval_set.path
        if plain and not fsspec.core.url_to_fs(eval_set.path)[0].exists(eval_set.path):
            raise UsageError(f"--eval-sets {eval_set.path}: no such file or folder")
    for eval_set in sets:
        target = hashes_path(out_dir, eval_set.name)
        unreadable: list[str] = []
        if eval_set.path.endswith(".parquet"):
            table = _read_hashes(eval_set.path)
        else:
            key = source_key(eval_set.path) if "{" not in eval_set.path and "::" not in eval_set.path else None
            table = _cached(target, key)
            if table is None:
                table, unreadable = _hash_all(eval_set.path, processes)
                table = table.replace_schema_metadata({"wit_builder_source_key": key or ""})
        buffer = pa.BufferOutputStream()
        pq.write_table(table, buffer, row_group_size=ROW_GROUP)  # EvalIndex reads one group at a time
        write_atomically(target, buffer.getvalue().to_pybytes())
        digest = hashlib.sha256()
        for column in ("id", "variant", "pdq"):
            digest.update(str(table.column(column).to_pylist()).encode())
        summary[eval_set.name] = {
            "source": eval_set.path,
            "images": len(set(table.column("id").to_pylist())),
            "hashes": table.num_rows,
            "uninformative_hashes": int(
                pa.compute.sum(pa.compute.less(table.column("quality"), MIN_QUALITY)).as_py() or 0
            ),
            "unreadable": unreadable,
            "digest": digest.hexdigest()[:16],
        }
        write_json(target.removesuffix(".parquet") + ".json", summary[eval_set.name])
    return summary


def _cached(target: str, key: str | None) -> pa.Table | None:
    if key is None:
        return None
    filesystem, _ = fsspec.core.url_to_fs(target)
    if not filesystem.exists(target):
        return None
    try:
        table = pq.read_table(target)
    except (OSError, pa.ArrowException):
        return None
    metadata = table.schema.metadata or {}
    return table if metadata.get(b"wit_builder_source_key", b"").decode() == key else None


def _hash_all(path: str, processes: int) -> tuple[pa.Table, list[str]]:
    rows: list[dict] = []
    unreadable: list[str] = []
    items = pictures(path)
    if processes > 1:
        with ProcessPoolExecutor(processes) as pool:
            results = pool.map(hash_picture, items, chunksize=16)
            for result in results:
                (unreadable.append if isinstance(result, str) else rows.extend)(result)
    else:
        for item in items:
            result = hash_picture(item)
            (unreadable.append if isinstance(result, str) else rows.extend)(result)
    return pa.Table.from_pylist(rows, HASHES_SCHEMA), unreadable


@dataclass(frozen=True)
class EvalMatch:
    eval_set: str
    eval_id: str
    distance: int


class EvalIndex:
    """Every evaluation hash of a run in one binary index, built once per worker."""

    def __init__(self, out_dir: str, names: Sequence[str], radius: int = DEFAULT_EVAL_RADIUS):
        from wit_builder.download.binary_index import BinaryIndex

        self.radius = radius
        self.index = BinaryIndex(PDQ_BYTES)
        self.names = list(names)
        set_of, image_of, ids = [], [], []  # per hash: its set, its image; per image: its id
        # Read a column chunk at a time (pre_buffer would hold the whole row group's ranges).
        files = [
            pq.ParquetFile(hashes_path(out_dir, name), pre_buffer=False, buffer_size=1 << 20) for name in self.names
        ]
        # The hashes gathered into one array sized from the footers, then handed to the index in one
        # piece: added batch by batch, faiss's storage grew by doubling, and its copies took twice
        # the hashes' size again (100k images of 21 crops: 282 MiB for 67 MB of hashes).
        gathered = np.empty((sum(parquet.metadata.num_rows for parquet in files), PDQ_BYTES), np.uint8)
        filled = 0
        for number, parquet in enumerate(files):
            for batch in parquet.iter_batches(batch_size=65_536, columns=["id", "pdq", "quality"]):
                batch = batch.filter(pa.compute.greater_equal(batch.column("quality"), MIN_QUALITY))
                if not batch.num_rows:
                    continue
                column = batch.column("pdq")
                data = np.frombuffer(column.buffers()[1], np.uint8)
                start = column.offset * PDQ_BYTES
                gathered[filled : filled + len(column)] = data[start : start + len(column) * PDQ_BYTES].reshape(
                    -1, PDQ_BYTES
                )
                filled += len(column)
                encoded = batch.column("id").dictionary_encode()
                image_of.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32) + len(ids))
                ids.extend(encoded.dictionary.to_pylist())
                set_of.append(np.full(batch.num_rows, number, np.int16))
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps what the batches freed
        if filled:
            self.index.add(gathered[:filled])
        del gathered
        self.set_of = np.concatenate(set_of) if set_of else np.zeros(0, np.int16)
        self.image_of = np.concatenate(image_of) if image_of else np.zeros(0, np.int32)
        self.ids = ids

    def find(self, hashes: Sequence[bytes]) -> list[EvalMatch | None]:
        """The nearest evaluation image within the radius of each query hash, or None."""
        found: list[EvalMatch | None] = [None] * len(hashes)
        if not hashes or not self.index.ntotal:
            return found
        queries = np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, PDQ_BYTES)
        for query, (labels, distances) in enumerate(self.index.within(queries, self.radius)):
            if len(labels):
                best = int(np.argmin(distances))
                label = int(labels[best])
                found[query] = EvalMatch(
                    self.names[self.set_of[label]], self.ids[self.image_of[label]], int(distances[best])
                )
        return found
