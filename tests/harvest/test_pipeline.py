"""The harvest stage end to end on Beam: every pair accounted for, dedupe, determinism."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.harvest.pipeline import HarvestInputs, PickRepresentative, output_shards, preference
from wit_builder.harvest.settings import HarvestRules
from wit_builder.schemas import read_table
from wit_builder.synthetic import SyntheticWorld, WorldConfig


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("harvest-world")
    layout = SyntheticWorld(WorldConfig(seed=5)).write(root / "world", damaged_wat=True)
    queries = root / "queries"
    argv = [
        "queries",
        "--wiki-dump",
        layout.wiki_dump_glob,
        "--wordnet",
        str(layout.wordnet_dir),
        "--out",
        str(queries),
    ]
    assert main(argv) == 0
    return layout, queries


def harvest(world, out, *extra):
    layout, queries = world
    argv = [
        "harvest",
        "--queries",
        str(queries),
        "--wat",
        str(layout.wat_paths),
        "--pairs",
        str(layout.pairs_dir / "*"),
        "--out",
        str(out),
        *extra,
    ]
    assert main(argv) == 0
    rows = [
        row
        for path in sorted((out / "candidates").glob("*.parquet"))
        for row in read_table(str(path), "candidates").to_pylist()
    ]
    return rows, json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("harvest")


@pytest.fixture(scope="module")
def result(world, result_dir):
    return harvest(world, result_dir)


def test_every_pair_is_accounted_for(result):
    rows, stats = result
    assert stats["adds_up"] and stats["kept"] == len(rows) > 100
    assert stats["pairs_read"] == stats["kept"] + sum(stats["dropped"].values())
    for reason in ("bad_url", "empty_text", "text_too_short", "text_too_long", "no_match", "duplicate_url"):
        assert stats["dropped"][reason] > 0, reason
    broken = stats["records_without_pairs"]
    assert broken["wat_bad_json"] == 2 * 2 and broken["wat_no_envelope"] == 2  # damaged world: two WAT files


def test_rows_are_unique_normalised_and_matched(result, world):
    rows, _ = result
    assert len({row["uid"] for row in rows}) == len(rows)
    assert all(row["url"].startswith("http://127.0.0.") and "#" not in row["url"] for row in rows)
    assert all(row["matches"] == sorted(set(row["matches"])) and row["matches"] for row in rows)
    _, queries = world
    query_list = set((queries / "queries.txt").read_text().splitlines())
    assert all(set(row["matches"]) <= query_list for row in rows)
    assert any(row["page_url"] for row in rows) and any(row["page_url"] is None for row in rows)


def test_preference_rule():
    a = {"matches": ["red"], "text": "a red one", "page_url": None, "source": "b"}
    b = {"matches": ["red", "circle"], "text": "red circle", "page_url": None, "source": "a"}
    c = {"matches": ["red", "circle"], "text": "a red circle", "page_url": None, "source": "z"}
    combine = PickRepresentative()
    for order in ([a, b, c], [c, b, a], [b, c, a]):
        accumulator = combine.create_accumulator()
        for row in order:
            accumulator = combine.add_input(accumulator, row)
        best = {**c, "page_opt_out": None, "face_bboxes": None}
        assert combine.extract_output(accumulator) == (best, 3)  # most matches, longest
    assert preference(c) < preference(b) < preference(a)


def test_a_page_level_opt_out_stays_with_its_url_whichever_row_represents_it():
    plain = {"matches": ["red", "circle"], "text": "a red circle", "page_url": "http://p/1", "source": "w"}
    opted = {**plain, "text": "red", "matches": ["red"], "page_opt_out": "page <meta name=robots>: noimageai"}
    combine = PickRepresentative()
    halves = []
    for rows in ([plain], [opted]):
        accumulator = combine.create_accumulator()
        for row in rows:
            accumulator = combine.add_input(accumulator, row)
        halves.append(accumulator)
    best, count = combine.extract_output(combine.merge_accumulators(halves))
    assert best["text"] == "a red circle" and count == 2
    assert best["page_opt_out"] == "page <meta name=robots>: noimageai"


def test_page_level_opt_outs_are_read_from_a_wat_records_metas():
    from wit_builder.harvest.sources import page_opt_out

    assert page_opt_out([{"name": "robots", "content": "index, noimageai"}]) == "page <meta name=robots>: noimageai"
    assert page_opt_out([{"name": "tdm-reservation", "content": "1"}]) == "page <meta name=tdm-reservation>: 1"
    assert page_opt_out([{"name": "wit-builder", "content": "noai"}]) == "page <meta name=wit-builder>: noai"
    assert page_opt_out([{"name": "otherbot", "content": "noai"}, {"name": "viewport", "content": "x"}]) is None
    assert page_opt_out([{"name": "robots", "content": "noindex"}]) is None and page_opt_out("junk") is None


def test_case_insensitive_matches_more(world, result, tmp_path):
    rows, _ = result
    loose_rows, _ = harvest(world, tmp_path / "loose", "--case-insensitive")
    strict = {q for row in rows for q in row["matches"]}
    loose = {q for row in loose_rows for q in row["matches"]}
    # The flag must matter: "A picture of ..." matches the title-cased query "A" only when case is ignored.
    gained = loose - strict
    assert gained, "--case-insensitive matched no query more; is the flag ignored?"
    assert any(q != q.lower() for q in gained)  # a query matched in another case than it is written
    assert len(loose_rows) >= len(rows)


@pytest.mark.slow
def test_two_workers_give_identical_files(world, result, result_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("harvest-2")
    harvest(world, out, "--direct_num_workers=2", "--direct_running_mode=multi_processing")
    first = result_dir
    for path in sorted((first / "candidates").glob("*.parquet")):
        assert (out / "candidates" / path.name).read_bytes() == path.read_bytes(), path.name
    assert pq.read_table(out / "candidates").num_rows == result[1]["kept"]


def test_needs_an_input(world, tmp_path):
    assert main(["harvest", "--queries", str(world[1]), "--out", str(tmp_path)]) == 2


def test_the_folder_names_its_query_list_for_the_next_stage(world, result, result_dir):
    """The contract balance relies on (``wit_builder.io.upstream``) holds for harvest's own output."""
    from wit_builder.io.upstream import query_list_named_by

    _, queries = world
    assert query_list_named_by(str(result_dir)) == str(queries)


def test_candidate_files_grow_with_the_inputs():
    """One candidate file per input file, at least 8: a file's rows are sorted in one worker's
    memory, so a fixed count would make that memory grow with the crawl."""
    few = HarvestInputs("q", wat_files=("a", "b"), list_files=("c",))
    many = HarvestInputs("q", wat_files=tuple(f"w{i}" for i in range(40)), list_files=("l1", "l2"))
    assert output_shards(few, HarvestRules()) == 8
    assert output_shards(many, HarvestRules()) == 42
    assert output_shards(many, HarvestRules(output_shards=5)) == 5


def test_max_captions_keeps_an_images_best_texts_as_one_row(world, result, result_dir, tmp_path):
    """--max-captions 3: one row per URL as before (the same uids, the same representative
    text), with up to three distinct captions best first and the union of their matches; the
    default writes no captions column at all."""
    rows, stats = result
    assert "captions" not in pq.read_schema(next((result_dir / "candidates").glob("*.parquet"))).names
    many, many_stats = harvest(world, tmp_path / "many", "--max-captions", "3")
    by_uid = {row["uid"]: row for row in rows}
    assert {row["uid"] for row in many} == set(by_uid)
    with_several = [row for row in many if row["captions"] and len(row["captions"]) > 1]
    assert with_several, "the world's URLs appear with several texts"
    extra = 0
    for row in many:
        one = by_uid[row["uid"]]
        assert row["text"] == one["text"]
        if row["captions"]:
            assert row["captions"][0] == row["text"] and len(set(row["captions"])) == len(row["captions"]) <= 3
            assert set(one["matches"]) <= set(row["matches"])
            extra += len(row["captions"]) - 1
    assert many_stats["extra_captions"] == extra > 0 and many_stats["rules"]["max_captions"] == 3
    assert many_stats["dropped"] == stats["dropped"] and many_stats["adds_up"]


def test_the_captions_kept_do_not_depend_on_the_order_rows_arrive():
    rows = [{"text": f"a caption number {k}", "matches": ["a"] * (k % 3 + 1), "page_url": None, "source": "s"}
            for k in range(9)]  # fmt: skip
    combine = PickRepresentative(max_captions=4)
    forward = combine.extract_output(combine.add_inputs(combine.create_accumulator(), rows))
    halves = [combine.add_inputs(combine.create_accumulator(), part) for part in (rows[5:], rows[:5][::-1])]
    merged = combine.extract_output(combine.merge_accumulators(halves))
    assert forward == merged and forward[1] == 9 and len(forward[0]["captions"]) == 4
