"""One sample on its way from the download stage's Parquet files into a tar.

Between the scatter and the shard writers a sample travels as a *record* in a run file:

    placement key (u64) | meta length (u32) | image length (u32) | meta (JSON, UTF-8) | image bytes

``meta`` holds the pair's fields that go into ``KEY.json``, ``KEY.txt`` and the shard index.
Run files are work files of this stage only (written and read by the same code), so a plain
length-prefixed layout serves better than Parquet, whose smallest readable unit is a page.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

HEADER = struct.Struct("<QII")
META_FIELDS = (
    "uid", "url", "text", "page_url", "source", "matches", "image_format",
    "width", "height", "original_width", "original_height", "sha256", "phash", "faces_blurred", "lang",
    "fetched_at", "body_sha256", "consent", "captions",
)  # fmt: skip
IMAGE_FORMATS = ("jpg", "png", "webp")
SIZE_COLUMNS = ["image", "text", "url", "page_url", "matches", "consent"]
_JSON_FIXED = 260  # KEY.json's field names, key, SHA-256, hash and sizes: all but its text fields
_MEMBER_FIXED = 512 + 256  # a header and, on average, half a block of padding


def encode_record(key: int, meta: dict[str, Any], image: bytes | memoryview) -> tuple[bytes, bytes | memoryview]:
    """A record as two pieces to write one after the other: header and meta, then the image
    itself (a view into the buffer the samples file was read into, copied only by the write)."""
    meta_bytes = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(key, len(meta_bytes), len(image)) + meta_bytes, image


def decode_record(record: bytes | memoryview) -> tuple[int, dict[str, Any], bytes | memoryview]:
    """(placement key, meta, image bytes) of one record; from a memoryview, the image is a view
    into it (not copied)."""
    key, meta_size, image_size = HEADER.unpack_from(record)
    start = HEADER.size
    meta = json.loads(bytes(record[start : start + meta_size]))
    return key, meta, record[start + meta_size : start + meta_size + image_size]


def sample_json(key: str, meta: dict[str, Any]) -> bytes:
    """``KEY.json``: the sample's provenance and sizes, for readers that open only the tar."""
    document = {
        "uid": meta["uid"],
        "key": key,
        "url": meta["url"],
        "page_url": meta["page_url"],
        "caption": meta["text"],
        "matches": meta["matches"],
        "source": meta["source"],
        "sha256": meta["sha256"],
        "phash": meta["phash"],
        "width": meta["width"],
        "height": meta["height"],
        "original_width": meta["original_width"],
        "original_height": meta["original_height"],
        "faces_blurred": meta.get("faces_blurred"),  # given face boxes blurred before encoding (null: not recorded)
    }
    if meta.get("lang"):  # a worldwide collection's caption language; English-only samples have none
        document["lang"] = meta["lang"]
    if meta.get("captions"):  # harvest --max-captions: every caption, the first is KEY.txt's
        document["captions"] = meta["captions"]
    if meta.get("fetched_at"):  # provenance: when, what bytes, and which host files decided its consent
        document["fetched_at"] = meta["fetched_at"]
        document["body_sha256"] = meta.get("body_sha256")
        document["consent"] = json.loads(meta["consent"]) if meta.get("consent") else None
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def index_row(key: str, meta: dict[str, Any]) -> dict[str, Any]:
    """The sample's row of ``NNNNNN.parquet`` (schema ``shard_index``)."""
    return {"key": key, **meta}


def json_disagreements(document: dict[str, Any], row: dict[str, Any]) -> list[str]:
    """Fields where a tar's ``KEY.json`` and its index row differ (verify's check)."""
    expected = {
        **{field: row[field] for field in META_FIELDS if field not in ("text", "image_format")},
        "caption": row["text"],
        "key": row["key"],
    }
    if row.get("consent"):  # a JSON list in the index, the list itself in KEY.json
        expected["consent"] = json.loads(row["consent"])
    return [field for field, value in expected.items() if document.get(field) != value]


def estimated_tar_bytes(table: pa.Table) -> float:
    """What the rows of ``table`` (with ``SIZE_COLUMNS``) will take in a tar: three members each,
    the image, its caption, and a json holding caption, URLs and matches (``--shard-bytes``)."""
    if not table.num_rows:
        return 0.0

    def total(column: str) -> int:
        return int(pc.sum(pc.binary_length(table.column(column))).as_py() or 0)

    matches = int(pc.sum(pc.binary_length(pc.list_flatten(table.column("matches")))).as_py() or 0)
    text_fields = total("text") + total("url") + total("page_url") + matches + total("consent")
    return total("image") + total("text") + text_fields + table.num_rows * (3 * _MEMBER_FIXED + _JSON_FIXED)
