"""Schemas load from the top-level schemas/ folder, and readers and writers reject files that do not fit."""

from __future__ import annotations

import pathlib
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_builder import schemas
from wit_builder.schemas import SchemaMismatch, load_schema, read_table, table_from_rows, write_table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DESIGN_FILES = {"queries", "candidates", "balanced", "balance_report", "samples", "status", "shard_index"}


def test_every_file_between_stages_has_a_schema():
    assert set(schemas.schema_names()) >= DESIGN_FILES
    for name in schemas.schema_names():
        schema = load_schema(name)
        assert len(schema) > 0
        for field in schema:
            assert field.metadata[b"description"], f"{name}.{field.name} has no description"


def test_balanced_has_the_candidates_columns():
    assert load_schema("balanced").remove_metadata() == load_schema("candidates").remove_metadata()
    assert load_schema("balanced").metadata[b"wit_builder.schema"] == b"balanced"


def status_rows():
    return [
        {"uid": "a1", "url": "http://x/1.jpg", "status": "ok", "http_status": 200},
        {"uid": "b2", "url": "http://x/2.jpg", "status": "http_error", "http_status": 404, "error": "404 Not Found"},
    ]


def test_round_trip_through_fsspec_memory_filesystem():
    write_table(table_from_rows(status_rows(), "status"), "memory://run/status/part-0.parquet", "status")
    table = read_table("memory://run/status/part-0.parquet", "status")
    assert table.to_pylist()[1]["error"] == "404 Not Found"
    assert table.schema.field("uid").metadata[b"description"]


def test_missing_column_names_file_column_and_expectation(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"uid": ["a"], "url": ["u"]}), path)
    with pytest.raises(SchemaMismatch) as error:
        read_table(str(path), "status")
    message = str(error.value)
    assert str(path) in message and "'status'" in message and "string" in message


def test_wrong_type_is_named(tmp_path):
    path = tmp_path / "bad.parquet"
    rows = pa.table(
        {"uid": ["a"], "url": ["u"], "status": ["ok"], "http_status": ["200"], "error": ["e"], "duplicate_of": ["d"]}
    )
    pq.write_table(rows, path)
    with pytest.raises(SchemaMismatch, match=r"'http_status' has type string; the status schema expects int32"):
        read_table(str(path), "status")


def test_reader_accepts_large_types_and_extra_columns(tmp_path):
    path = tmp_path / "other-tool.parquet"
    table = pa.table(
        {
            "extra": [1],
            "url": pa.array(["u"], pa.large_string()),
            "uid": ["a"],
            "status": ["ok"],
            "http_status": pa.array([None], pa.int32()),
            "error": pa.array([None], pa.string()),
            "duplicate_of": pa.array([None], pa.string()),
        }
    )
    pq.write_table(table, path)
    read = read_table(str(path), "status")
    assert read.schema.names == load_schema("status").names
    assert read.schema.field("url").type == pa.string()


def test_writer_is_strict_about_order_types_and_nulls(tmp_path):
    good = table_from_rows(status_rows(), "status")
    with pytest.raises(SchemaMismatch, match="expects exactly"):
        swapped = ["url", "uid", *good.column_names[2:]]  # every column, two of them out of order
        write_table(good.select(swapped), str(tmp_path / "a"), "status")
    with pytest.raises(SchemaMismatch, match="int32"):
        write_table(good.set_column(3, "http_status", pa.array([200, 404], pa.int64())), str(tmp_path / "b"), "status")
    nulls = table_from_rows([{"uid": "a", "url": "u", "status": None}], "status")
    with pytest.raises(SchemaMismatch, match="null"):
        write_table(nulls, str(tmp_path / "c"), "status")
    assert not any(tmp_path.iterdir()), "nothing may be written when validation fails"


def test_list_columns_parse():
    assert load_schema("candidates").field("matches").type == pa.list_(pa.string())


def test_the_schemas_are_one_top_level_folder_installed_as_a_package():
    """``schemas/`` at the top of the repository is the one copy; the installed package
    ``wit_builder.schema_files`` is that folder (setup.py maps it), and every package under
    ``wit_builder/`` is found, so a new stage ships with nothing added."""
    from importlib.resources import files

    assert pathlib.Path(str(files("wit_builder.schema_files"))).resolve() == ROOT / "schemas"
    assert pathlib.Path(str(files("wit_builder.schema_files.documents"))).resolve() == ROOT / "schemas" / "documents"
    assert not (ROOT / "wit_builder" / "schema_files").exists()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data = config["tool"]["setuptools"]["package-data"]
    assert data["wit_builder.schema_files"] == data["wit_builder.train.model_configs"] == ["*.json"]


@pytest.mark.slow
def test_a_built_wheel_holds_every_package_and_the_schemas(tmp_path):
    """The wheel a worker installs: every package under wit_builder/, the schemas from the
    top-level folder, the model sizes and the report's templates."""
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=source, check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "wit_builder").rglob("__init__.py")}
    assert {f"{package}/__init__.py" for package in packages} <= names
    schemas = {p.relative_to(ROOT / "schemas").as_posix() for p in (ROOT / "schemas").rglob("*.json")}
    assert {f"wit_builder/schema_files/{name}" for name in schemas} <= names and len(schemas) >= 15
    assert "wit_builder/train/model_configs/ViT-B-32.json" in names
    assert "wit_builder/report/templates/style.css" in names


def sample_rows(n: int = 3) -> list[dict]:
    """Samples whose images are random bytes (as incompressible as a JPEG) of one shared prefix."""
    import os

    return [
        {
            "uid": f"u{k}",
            "url": f"http://x/{k}.jpg",
            "text": "a photo",
            "source": "test",
            "matches": ["photo"],
            "image": b"\xff\xd8" + os.urandom(20_000),
            "image_format": "jpg",
            "width": 8,
            "height": 8,
            "original_width": 8,
            "original_height": 8,
            "original_bytes": 20_002,
            "sha256": f"{k:064x}",
            "phash": k,
            "colour_grid": bytes(48),
        }
        for k in range(n)
    ]


@pytest.mark.parametrize("writer", ["write_table", "parquet_writer"])
def test_media_columns_are_stored_as_they_are(tmp_path, writer):
    """A stored image is written plain: no dictionary, no second compression, no statistics;
    every other column keeps Parquet's defaults, and the values read back the same."""
    assert schemas.stored_as_is("samples") == {"image"} and schemas.stored_as_is("status") == frozenset()
    rows, path = sample_rows(), str(tmp_path / "samples.parquet")
    table = table_from_rows(rows, "samples")
    if writer == "write_table":
        write_table(table, path, "samples")
    else:
        with schemas.parquet_writer(path, "samples") as write:
            write(table.slice(0, 2))
            write(table.slice(2))
    columns = pq.ParquetFile(path).metadata.row_group(0)
    by_name = {columns.column(i).path_in_schema: columns.column(i) for i in range(columns.num_columns)}
    image = by_name["image"]
    assert image.compression == "UNCOMPRESSED" and not image.has_dictionary_page
    assert image.statistics is None or not image.statistics.has_min_max
    assert by_name["url"].compression == "SNAPPY" and by_name["url"].has_dictionary_page
    assert by_name["phash"].statistics.has_min_max
    assert read_table(path, "samples").column("image").to_pylist() == [row["image"] for row in rows]


def test_a_table_of_no_schema_gets_the_defaults():
    assert schemas.writer_options(pa.schema([("image", pa.binary())])) == {}
