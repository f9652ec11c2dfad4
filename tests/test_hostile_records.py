"""One bad record or file costs itself, per input format: it is counted (and a file named) in
stats.json, the command succeeds, and everything around it is read.

Each case writes a good input and the same input with one hostile record or file, runs the
stage on both, and compares: what the good input gave must still be there (or, for a record cut
out, all but that record).
"""

from __future__ import annotations

import bz2
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.schemas import load_schema, table_from_rows, write_table
from wit_builder.synthetic.wat import metadata_record

DEEP = "[" * 100_000  # deeper than Python's JSON parser goes


def stats_of(folder: Path) -> dict:
    return json.loads((folder / "stats.json").read_text())


def run_ok(argv: list[str], capsys) -> str:
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 0 and "Traceback" not in err, err
    return err


# --- queries: MediaWiki dumps, pageviews, WordNet ---------------------------------------------


@pytest.fixture
def sources(small_world_dir, tmp_path):
    """The small world's dump (recompressed in 100 kB bz2 blocks), pageviews and WordNet."""
    dumps = sorted(Path(small_world_dir.wiki_dump_glob).parent.glob("*.bz2"))
    folder = tmp_path / "wiki"
    folder.mkdir()
    for dump in dumps:
        (folder / dump.name).write_bytes(bz2.compress(bz2.decompress(dump.read_bytes()), compresslevel=1))
    return {
        "dumps": folder,
        "pageviews": Path(small_world_dir.pageviews_glob).parent,
        "wordnet": Path(small_world_dir.wordnet_dir),
    }


def queries(
    sources: dict,
    out: Path,
    capsys,
    dumps: Path | None = None,
    pageviews: Path | None = None,
    wordnet: Path | None = None,
) -> dict:
    given = {
        "--wiki-dump": dumps or sources["dumps"],
        "--pageviews": pageviews or sources["pageviews"],
        "--wordnet": wordnet or sources["wordnet"],
    }
    run_ok(
        ["queries", *(str(a) for pair in given.items() for a in pair), "--out", str(out), "--min-unigram-count", "5"],
        capsys,
    )
    return stats_of(out)


def test_a_bz2_dump_cut_off_after_its_first_blocks_keeps_its_first_pages(sources, tmp_path, capsys):
    whole = queries(sources, tmp_path / "whole", capsys)
    cut = tmp_path / "cut"
    cut.mkdir()
    first, second = sorted(sources["dumps"].glob("*.bz2"))
    (cut / first.name).write_bytes(first.read_bytes())
    data = second.read_bytes()
    (cut / second.name).write_bytes(data[: len(data) // 2])  # past the start-up check, mid-stream
    stats = queries(sources, tmp_path / "out", capsys, dumps=cut)
    counts, read = stats["counts"], whole["counts"]
    assert counts["dump_files_cut_short"] == 1
    assert [entry["path"] for entry in stats["unreadable_files"]] == [str(cut / second.name)]
    assert "EOFError" in stats["unreadable_files"][0]["error"] or "OSError" in stats["unreadable_files"][0]["error"]
    pages_first = queries(sources, tmp_path / "first", capsys, dumps=cut / first.name)["counts"]["pages_read"]
    assert pages_first < counts["pages_read"] < read["pages_read"]  # the pages before the cut are read


def test_a_plain_file_named_gz_among_the_pageviews_is_skipped_and_named(sources, tmp_path, capsys):
    whole = queries(sources, tmp_path / "whole", capsys)
    views = tmp_path / "pageviews"
    views.mkdir()
    for path in sources["pageviews"].glob("*"):
        (views / path.name).write_bytes(path.read_bytes())
    (views / "pageviews-20260101-990000.gz").write_text("en Some_page 1000 0\n")  # not gzip
    stats = queries(sources, tmp_path / "out", capsys, pageviews=views)
    assert stats["counts"]["pageview_files_unreadable"] == 1
    assert [e["path"].rsplit("/", 1)[-1] for e in stats["unreadable_files"]] == ["pageviews-20260101-990000.gz"]
    assert stats["queries_per_source"] == whole["queries_per_source"]


def test_a_pageview_file_cut_off_keeps_the_lines_before_the_cut(sources, tmp_path, capsys):
    views = tmp_path / "pageviews"
    views.mkdir()
    lines = b"".join(f"en Page_{i} 100 0\n".encode() for i in range(20_000))
    data = gzip.compress(lines)
    (views / "pageviews-20260101-000000.gz").write_bytes(data[: len(data) // 2])
    stats = queries(sources, tmp_path / "out", capsys, pageviews=views)
    assert stats["counts"]["pageview_files_cut_short"] == 1 and 0 < stats["counts"]["pageview_lines_counted"] < 20_000


def test_a_malformed_wordnet_line_is_counted_and_the_rest_read(sources, tmp_path, capsys):
    whole = queries(sources, tmp_path / "whole", capsys)
    wordnet = tmp_path / "wordnet"
    wordnet.mkdir()
    for path in sources["wordnet"].iterdir():
        (wordnet / path.name).write_bytes(path.read_bytes())
    lines = (wordnet / "data.noun").read_text().splitlines(keepends=True)
    body = next(i for i, line in enumerate(lines) if not line.startswith("  "))
    lines.insert(body + 1, "00000000 03 n zz broken\n")  # a word count that is not hexadecimal
    lines.insert(body + 2, "garbage\n")
    (wordnet / "data.noun").write_text("".join(lines))
    stats = queries(sources, tmp_path / "out", capsys, wordnet=wordnet)
    assert stats["counts"]["wordnet_lines_malformed"] == 2
    assert stats["candidates_per_source"]["wordnet"] == whole["candidates_per_source"]["wordnet"]


def test_an_unclosed_page_followed_by_megabytes_without_a_newline_is_one_malformed_page(tmp_path, capsys):
    from wit_builder.synthetic.wikidump import header_xml

    page = "  <page>\n    <title>Red</title>\n    <ns>0</ns>\n    <revision><text>red</text></revision>\n  </page>\n"
    dump = tmp_path / "dump.xml"
    dump.write_text(header_xml() + page + "  <page>\n" + "x" * (40 << 20) + "\n" + page * 3 + "</mediawiki>\n")
    run_ok(["queries", "--wiki-dump", str(dump), "--out", str(tmp_path / "out"), "--min-unigram-count", "1"], capsys)
    counts = stats_of(tmp_path / "out")["counts"]
    assert counts["malformed_pages"] == 1 and counts["articles"] == 4


def test_page_elements_are_capped_and_read_in_bounded_pieces():
    import io

    from wit_builder.io.lines import LongLine, bounded_lines
    from wit_builder.queries.dump_reader import MalformedPage, _page_elements

    text = "<page>\n" + "y" * 5000 + "\n<page>\nsmall\n</page>\n" + "z" * 100
    lines = list(bounded_lines(io.StringIO(text), limit=1000))
    assert LongLine(5001) in lines and all(len(line) <= 1000 for line in lines if isinstance(line, str))
    elements = list(_page_elements(lines, max_chars=1000))
    assert isinstance(elements[0], MalformedPage) and elements[1] == "<page>\nsmall\n</page>\n"
    over = list(_page_elements(["<page>\n", *["a" * 99 + "\n"] * 20, "</page>\n"], max_chars=1000))
    assert len(over) == 1 and "over 1,000 characters" in over[0].reason


# --- harvest: pair lists and WAT files --------------------------------------------------------


@pytest.fixture
def query_list(tmp_path) -> Path:
    path = tmp_path / "queries.txt"
    path.write_text("red circle\nblue square\n")
    return path


def harvest(query_list: Path, out: Path, capsys, *inputs: str) -> dict:
    run_ok(["harvest", "--queries", str(query_list), *inputs, "--out", str(out)], capsys)
    return stats_of(out)


def good_rows(count: int) -> list[tuple[str, str]]:
    return [(f"http://img.test/{i}.jpg", f"a red circle number {i}") for i in range(count)]


def test_a_jsonl_line_nested_100k_deep_costs_that_line(query_list, tmp_path, capsys):
    path = tmp_path / "pairs.jsonl"
    lines = [json.dumps({"url": u, "caption": c}) for u, c in good_rows(10)]
    path.write_text("\n".join([*lines[:5], DEEP, *lines[5:]]) + "\n")
    stats = harvest(query_list, tmp_path / "out", capsys, "--pairs", str(path))
    assert stats["pairs_read"] == stats["kept"] == 10 and stats["records_without_pairs"]["list_row_malformed"] == 1
    assert stats["adds_up"]


def test_a_tsv_caption_longer_than_the_csv_field_limit_is_read_and_dropped_as_too_long(query_list, tmp_path, capsys):
    path = tmp_path / "pairs.tsv"
    rows = [f"{u}\t{c}" for u, c in good_rows(10)]
    rows.insert(3, "http://img.test/long.jpg\t" + "a red circle " * 20_000)  # 260k characters
    path.write_text("url\tcaption\n" + "\n".join(rows) + "\n")
    stats = harvest(query_list, tmp_path / "out", capsys, "--pairs", str(path))
    assert stats["pairs_read"] == 11 and stats["kept"] == 10 and stats["dropped"]["text_too_long"] == 1
    assert stats["adds_up"]


def test_a_csv_field_over_the_limit_costs_its_row(query_list, tmp_path, capsys):
    path = tmp_path / "pairs.csv"
    rows = [f"{u},{c}" for u, c in good_rows(10)]
    rows.insert(3, "http://img.test/long.jpg," + "x" * 200_000)
    path.write_text("url,caption\n" + "\n".join(rows) + "\n")
    stats = harvest(query_list, tmp_path / "out", capsys, "--pairs", str(path))
    assert stats["pairs_read"] == stats["kept"] == 10 and stats["records_without_pairs"]["list_row_malformed"] == 1


@pytest.mark.parametrize("name", ["pairs.jsonl", "pairs.tsv"])
def test_megabytes_without_a_newline_in_a_pair_list_cost_one_row(name, query_list, tmp_path, capsys):
    path = tmp_path / name
    good = [json.dumps({"url": u, "caption": c}) if name.endswith("jsonl") else f"{u}\t{c}" for u, c in good_rows(6)]
    header = [] if name.endswith("jsonl") else ["url\tcaption"]
    path.write_text("\n".join([*header, *good[:3], "j" * (3 << 20), *good[3:]]) + "\n")
    stats = harvest(query_list, tmp_path / "out", capsys, "--pairs", str(path))
    assert stats["kept"] == 6 and stats["records_without_pairs"]["list_row_malformed"] == 1


def wat_payload(page: str, links: list[tuple[str, str]]) -> bytes:
    html = {"Head": {}, "Links": [{"path": "IMG@/src", "url": u, "alt": a} for u, a in links]}
    envelope = {"WARC-Header-Metadata": {"WARC-Target-URI": page},
                "Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata": html}}}  # fmt: skip
    return json.dumps({"Envelope": envelope}).encode()


def write_wat(path: Path, payloads: list[bytes], junk_after: int | None = None) -> Path:
    """A WAT file of ``payloads``; ``junk_after`` N: bytes that are not gzip after the N-th record."""
    members = [
        gzip.compress(metadata_record(f"http://page.test/{i}", f"<urn:uuid:{i:032x}>", p), mtime=0)
        for i, p in enumerate(payloads)
    ]
    if junk_after is not None:
        members.insert(junk_after, b"not gzip " * 100)
    path.write_bytes(b"".join(members))
    return path


def test_a_wat_record_nested_100k_deep_costs_that_record(query_list, tmp_path, capsys):
    payloads = [wat_payload(f"http://page.test/{i}", good_rows(10)[i : i + 1]) for i in range(10)]
    payloads.insert(4, DEEP.encode())
    wat = write_wat(tmp_path / "x.warc.wat.gz", payloads)
    stats = harvest(query_list, tmp_path / "out", capsys, "--wat", str(wat))
    assert stats["pairs_read"] == stats["kept"] == 10
    assert stats["records_without_pairs"] == {"wat_bad_json": 1} and stats["unreadable_files"] == []


def test_junk_between_wat_members_costs_only_itself_and_the_file_is_named(query_list, tmp_path, capsys):
    payloads = [wat_payload(f"http://page.test/{i}", good_rows(10)[i : i + 1]) for i in range(10)]
    wat = write_wat(tmp_path / "x.warc.wat.gz", payloads, junk_after=6)
    err = run_ok(["harvest", "--queries", str(query_list), "--wat", str(wat), "--out", str(tmp_path / "o")], capsys)
    stats = stats_of(tmp_path / "o")
    assert stats["kept"] == 10 and stats["records_without_pairs"] == {"wat_member_damaged": 1, "file_damaged": 1}
    assert [entry["path"] for entry in stats["unreadable_files"]] == [str(wat)]
    assert "1 gzip member(s) skipped, the first at byte" in stats["unreadable_files"][0]["error"]
    assert f"WARNING skipped (in stats.json): {wat}" in err


def test_a_wat_record_cut_off_at_the_end_costs_that_record(query_list, tmp_path, capsys):
    payloads = [wat_payload(f"http://page.test/{i}", good_rows(10)[i : i + 1]) for i in range(10)]
    wat = write_wat(tmp_path / "x.warc.wat.gz", payloads)
    data = wat.read_bytes()
    wat.write_bytes(data[: len(data) - 200])  # the last gzip member cut short: its JSON is broken
    stats = harvest(query_list, tmp_path / "out", capsys, "--wat", str(wat))
    assert stats["kept"] == 9 and stats["records_without_pairs"] == {"wat_bad_json": 1}


def damage(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]


@pytest.mark.parametrize("part", ["data", "crc", "length", "header"])
@pytest.mark.parametrize("which", [0, 117, 229])
def test_a_damaged_gzip_member_of_a_wat_file_costs_its_own_record(part, which, tmp_path, capsys):
    """230 members, one damaged: in its deflate data, its CRC, its length or its header. Every
    other member is read (a plain reader lost every record after the damage)."""
    queries = tmp_path / "queries.txt"
    queries.write_text("photo\n")
    rows = [(f"http://img.test/{i}.jpg", f"a photo number {i}") for i in range(230)]
    members = [
        gzip.compress(
            metadata_record(f"http://page.test/{i}", f"<urn:uuid:{i:032x}>", wat_payload("p", [row])), mtime=0
        )
        for i, row in enumerate(rows)
    ]
    start = sum(len(m) for m in members[:which])
    offset = {"data": len(members[which]) // 2, "crc": len(members[which]) - 6,
              "length": len(members[which]) - 2, "header": 3}[part]  # fmt: skip
    wat = tmp_path / "x.warc.wat.gz"
    wat.write_bytes(damage(b"".join(members), start + offset))
    stats = harvest(queries, tmp_path / "out", capsys, "--wat", str(wat))
    assert stats["kept"] == 229 and stats["records_without_pairs"]["wat_member_damaged"] == 1
    (named,) = stats["unreadable_files"]
    assert named["path"] == str(wat) and f"the first at byte {start:,}" in named["error"]


def test_a_damaged_stream_of_a_multistream_dump_costs_its_own_pages(small_world, tmp_path, capsys):
    from wit_builder.queries.dump_reader import stream_offsets

    small_world.write(tmp_path / "world", compression="multistream")
    dump = next((tmp_path / "world" / "wiki").glob("enwiki-*-multistream1.xml-*.bz2"))
    index = next((tmp_path / "world" / "wiki").glob("enwiki-*-multistream-index1.txt-*.bz2"))
    argv = ["--wiki-dump", str(dump), "--min-unigram-count", "5"]
    run_ok(["queries", *argv, "--out", str(tmp_path / "whole")], capsys)
    whole = stats_of(tmp_path / "whole")["counts"]
    first, second = stream_offsets(str(index))[:2]  # the first two streams of pages
    with bz2.open(index, "rt") as lines:
        in_first = sum(line.startswith(f"{first}:") for line in lines)
    dump.write_bytes(damage(dump.read_bytes(), (first + second) // 2))
    run_ok(["queries", *argv, "--out", str(tmp_path / "damaged")], capsys)
    stats = stats_of(tmp_path / "damaged")
    counts = stats["counts"]
    assert counts["dump_streams_damaged"] == 1 and "dump_files_cut_short" not in counts
    assert counts["pages_read"] == whole["pages_read"] - in_first  # that stream's pages, and no others
    (named,) = stats["unreadable_files"]
    assert named["path"] == str(dump) and f"damaged bz2 stream at byte {first:,}" in named["error"]


# --- balance, download, shard: Parquet files between stages ------------------------------------


def rows_of(schema: str, count: int, start: int = 0) -> list[dict]:
    base = {"url": "http://127.0.0.1:9/x.jpg", "text": "a red circle", "page_url": None, "source": "mine",
            "matches": ["red circle"]}  # fmt: skip
    return [{**base, "uid": f"u{start + i:04d}", "url": f"http://127.0.0.1:9/{start + i}.jpg"} for i in range(count)]


def download_keeping_nothing(argv: list[str], capsys) -> str:
    """``download`` over pairs whose URLs (port 9) are all refused: it writes every status, then
    fails in one line, having kept nothing."""
    status = main(["download", *argv])
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1 and "images kept:" in err, err
    return err


def write_with_a_null_uid(path: Path, schema: str, statistics: bool = True) -> None:
    """A file of ``schema``'s columns whose second row has no uid (written by another tool: a
    non-nullable column cannot hold a null in our own writers)."""
    rows = rows_of(schema, 4, start=100)
    rows[1]["uid"] = None
    loose = pa.schema([field.with_nullable(True) for field in load_schema(schema)])
    pq.write_table(pa.Table.from_pylist(rows, schema=loose), path, write_statistics=statistics)


@pytest.mark.parametrize("statistics", [True, False], ids=["footer-statistics", "no-statistics"])
def test_a_download_input_with_a_null_uid_costs_that_file(statistics, tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    write_table(table_from_rows(rows_of("balanced", 5), "balanced"), str(pairs / "a.parquet"), "balanced")
    write_with_a_null_uid(pairs / "b.parquet", "balanced", statistics)
    err = download_keeping_nothing(["--pairs", str(pairs), "--out", str(tmp_path / "o")], capsys)
    stats = stats_of(tmp_path / "o")
    assert stats["status_rows"] == 5 and stats["statuses"] == {"blocked_url": 5} and stats["adds_up"]
    assert [entry["path"] for entry in stats["unreadable_files"]] == [str(pairs / "b.parquet")]
    assert "null" in stats["unreadable_files"][0]["error"] and "0 of 5 images kept: 5 blocked_url" in err
    assert stats["pairs_in"] == 5 + (0 if statistics else 4) and stats["unreadable_rows"] == (0 if statistics else 4)


def test_a_candidate_file_with_a_null_uid_costs_that_file(tmp_path, capsys):
    harvest = tmp_path / "harvest" / "candidates"
    harvest.mkdir(parents=True)
    write_table(table_from_rows(rows_of("candidates", 5), "candidates"), str(harvest / "a.parquet"), "candidates")
    write_with_a_null_uid(harvest / "b.parquet", "candidates", statistics=False)
    run_ok(["balance", "--candidates", str(tmp_path / "harvest"), "--out", str(tmp_path / "o")], capsys)
    stats = stats_of(tmp_path / "o")
    assert stats["kept"] == 5 and stats["adds_up"] and stats["dropped"]["unreadable"] == 4
    assert [entry["path"] for entry in stats["unreadable_files"]] == [str(harvest / "b.parquet")]


@pytest.mark.slow
def test_memory_stays_bounded_on_an_unclosed_page_followed_by_hundreds_of_megabytes(tmp_path):
    """Peak memory of reading a dump whose unclosed page runs on for 300 MB without a newline:
    about one page's limit (32 MiB) over the start, not the junk's size."""
    import subprocess
    import sys

    from wit_builder.synthetic.wikidump import header_xml

    page = "  <page>\n    <title>Red</title>\n    <ns>0</ns>\n    <revision><text>red</text></revision>\n  </page>\n"
    dump = tmp_path / "junk.xml"
    with dump.open("w") as handle:
        handle.write(header_xml() + page + "  <page>\n")
        for _ in range(30):
            handle.write("x" * (10 << 20))
        handle.write("\n" + page * 3 + "</mediawiki>\n")
    script = (
        "import resource, sys\n"
        "from wit_builder.queries.dump_reader import DumpSlice, read_slice\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kinds = [type(p).__name__ for p in read_slice(DumpSlice(sys.argv[1]))]\n"
        "print(' '.join(kinds), (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(dump)], capture_output=True, text=True, check=True)
    *kinds, grown_mb = done.stdout.split()
    assert kinds == ["Page", "MalformedPage", "Page", "Page", "Page"]
    assert int(grown_mb) < 200, f"peak memory grew by {grown_mb} MB reading 300 MB of junk"


# --- a null inside a row's matches list -------------------------------------------------------


def write_with_a_null_match(path: Path, schema: str, count: int = 5, bad: int = 1) -> None:
    rows = rows_of(schema, count)
    rows[bad]["matches"] = ["red circle", None]
    pq.write_table(pa.Table.from_pylist(rows, schema=load_schema(schema)), path)


def test_a_null_among_a_candidates_matches_costs_that_row_in_balance(tmp_path, capsys):
    harvest = tmp_path / "harvest" / "candidates"
    harvest.mkdir(parents=True)
    write_with_a_null_match(harvest / "a.parquet", "candidates")
    run_ok(["balance", "--candidates", str(tmp_path / "harvest"), "--out", str(tmp_path / "o")], capsys)
    stats = stats_of(tmp_path / "o")
    assert stats["pairs_in"] == 5 and stats["kept"] == 4 and stats["dropped"]["malformed_matches"] == 1
    assert stats["adds_up"] and stats["queries"]["matched"] == 1


def test_a_null_among_a_pairs_matches_costs_that_pair_in_download(tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    write_with_a_null_match(pairs / "a.parquet", "balanced")
    download_keeping_nothing(["--pairs", str(pairs), "--out", str(tmp_path / "o")], capsys)
    stats = stats_of(tmp_path / "o")
    assert stats["statuses"] == {"blocked_url": 4, "malformed_pair": 1} and stats["adds_up"]


def test_a_null_among_a_samples_matches_costs_that_sample_in_shard(tmp_path, capsys):
    from wit_builder.synthetic.sample_pool import write_sample_pool

    samples = tmp_path / "samples"
    write_sample_pool(samples, 40, files=2, seed=5)
    path = sorted(samples.rglob("*.parquet"))[0]
    table = pq.read_table(path)
    matches = table.column("matches").to_pylist()
    matches[2] = [*matches[2], None]
    field = table.schema.field("matches")
    table = table.set_column(table.schema.get_field_index("matches"), field, pa.array(matches, field.type))
    pq.write_table(table, path)
    run_ok(["shard", "--samples", str(samples), "--out", str(tmp_path / "o"), "--per-query", "3"], capsys)
    stats = stats_of(tmp_path / "o")
    assert stats["rejected"]["malformed_matches"] == 1 and stats["adds_up"]
    assert stats["written"] + stats["capped"] + sum(stats["rejected"].values()) == 40
