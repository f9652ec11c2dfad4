"""The download stage end to end against the synthetic web: every fault ends in its status,
duplicates are found, the counts add up, and a re-run resumes instead of refetching."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from PIL import Image

from wit_builder.cli import main
from wit_builder.download.opt_out import HOST_FILE_LIMIT, SIGNALS
from wit_builder.harvest.normalise import url_uid
from wit_builder.schemas import read_table, table_from_rows, write_table
from wit_builder.synthetic import FAULTS
from wit_builder.synthetic.world import expected_status

pytestmark = pytest.mark.network

FAST = ["--allow-private-network", "--read-timeout", "0.5", "--retries", "1", "--chunk-rows", "4"]


@pytest.fixture(scope="module")
def web(small_world):
    with small_world.serve(slow_seconds=1.5) as server:
        yield server


def page_opt_out_of(image) -> str | None:
    """The page-level opt-out harvest reads from the WAT record of an image's page."""
    from wit_builder.harvest.sources import page_opt_out
    from wit_builder.synthetic.opt_out_sites import META_FAULTS

    if image.fault not in META_FAULTS:
        return None
    name, content = META_FAULTS[image.fault][2]
    return page_opt_out([{"name": name, "content": content}])


@pytest.fixture(scope="module")
def balanced(small_world, web, tmp_path_factory):
    """A balance folder holding one pair per fault, plain images, a tiny one and an exact copy."""
    images = small_world.catalog.images
    chosen = [next(i for i in images if i.fault == fault and i.size_class == "normal") for fault in FAULTS]
    chosen += [i for i in images if i.fault is None and i.size_class == "normal"][:6]
    chosen.append(next(i for i in images if i.fault is None and i.size_class == "tiny"))
    rows = [
        {
            "uid": url_uid(i.url(web.base_urls)),
            "url": i.url(web.base_urls),
            "text": f"image {i.image_id}",
            "page_url": None,
            "source": "test",
            "matches": ["image"],
            "page_opt_out": page_opt_out_of(i),  # as harvest carries it from the image's only page
        }
        for i in chosen
    ]
    copy = chosen[len(FAULTS)].url(web.base_urls) + "?copy=1"  # same bytes under another URL
    rows.append({**rows[len(FAULTS)], "uid": url_uid(copy), "url": copy})
    folder = tmp_path_factory.mktemp("balance")
    (folder / "balanced").mkdir()
    write_table(table_from_rows(rows, "balanced"), str(folder / "balanced" / "part-00000.parquet"), "balanced")
    # The world's ground truth (truth/images.parquet) names the status each image should end in.
    expected = {row["uid"]: expected_status(image) for row, image in zip(rows[:-1], chosen, strict=True)}
    assert expected[rows[-2]["uid"]] == "too_small"
    del expected[rows[len(FAULTS)]["uid"]]  # the copied image and its copy: one is ok, one duplicate
    return folder, rows, expected


@pytest.fixture(scope="module")
def run(balanced, tmp_path_factory):
    folder, _, _ = balanced
    out = tmp_path_factory.mktemp("download")
    assert main(["download", "--pairs", str(folder), "--out", str(out), *FAST]) == 0
    return out


def statuses(out) -> dict[str, dict]:
    return {row["uid"]: row for row in pq.read_table(out / "status").to_pylist()}


def test_every_fault_ends_in_its_status(balanced, run):
    _, rows, expected = balanced
    found = statuses(run)
    for uid, status in expected.items():
        assert found[uid]["status"] == status, (found[uid]["url"], found[uid]["error"])
    pair = sorted([rows[-1]["uid"], rows[len(FAULTS)]["uid"]])
    assert [found[uid]["status"] for uid in pair] == ["ok", "duplicate"]
    assert found[pair[1]]["duplicate_of"] == pair[0]  # the smaller uid is kept


def test_counts_add_up_and_samples_are_the_ok_rows(balanced, run):
    _, rows, _ = balanced
    stats = json.loads((run / "stats.json").read_text())
    assert stats["adds_up"] and stats["pairs_in"] == len(rows) == len(statuses(run))
    chunks = -(-len(rows) // 4)  # --chunk-rows 4
    assert stats["chunks"] == chunks and stats["chunks_fetched"] == chunks
    opted_out = sum(1 for row in statuses(run).values() if row["status"] == "opted_out")
    assert sum(stats["opt_out"]["opted_out_by_signal"].values()) == stats["statuses"]["opted_out"] == opted_out
    assert set(stats["opt_out"]["opted_out_by_signal"]) == set(SIGNALS)  # every signal refused some
    samples = [
        row
        for path in sorted((run / "samples").glob("*.parquet"))
        for row in read_table(str(path), "samples").to_pylist()
    ]
    ok = {uid for uid, row in statuses(run).items() if row["status"] == "ok"}
    assert {row["uid"] for row in samples} == ok and stats["ok"] == len(ok)
    for row in samples:
        stored = Image.open(io.BytesIO(row["image"]))
        assert stored.size == (row["width"], row["height"]) == (256, 256) and row["original_bytes"] > 0


def image_requests(web) -> int:
    """Requests for images, host files (robots.txt, ai.txt, tdmrep.json) left out."""
    return sum(n for path, n in web.requests.items() if path.startswith(("/img/", "/f/", "/redirected/")))


def test_a_rerun_resumes_without_fetching(balanced, run, web):
    folder, rows, _ = balanced
    before = {uid: row["status"] for uid, row in statuses(run).items()}
    requests = image_requests(web)
    third = sorted((run / "work" / "outcomes").glob("part-00000-0002-*.parquet"))
    assert len(third) == 1
    third[0].unlink()  # one chunk left unfinished
    assert main(["download", "--pairs", str(folder), "--out", str(run), *FAST]) == 0
    stats = json.loads((run / "stats.json").read_text())
    assert (stats["chunks_fetched"], stats["chunks_resumed"]) == (1, -(-len(rows) // 4) - 1)
    assert 0 <= image_requests(web) - requests <= 4 * 3  # that chunk's 4 URLs, retries at most
    after = {uid: row["status"] for uid, row in statuses(run).items()}
    assert after == before


def test_a_process_pool_gives_the_same_outcomes(balanced, run, tmp_path):
    folder, _, _ = balanced
    out = tmp_path / "processes"
    assert main(["download", "--pairs", str(folder), "--out", str(out), *FAST, "--image-processes", "1"]) == 0
    assert {uid: row["status"] for uid, row in statuses(out).items()} == {
        uid: row["status"] for uid, row in statuses(run).items()
    }


def test_a_page_level_opt_out_is_refused_unasked_unless_meta_is_ignored(balanced, run, web, tmp_path):
    folder, rows, _ = balanced
    meta_rows = {row["uid"]: row for row in rows if row["page_opt_out"]}
    assert meta_rows, "the world has images whose only page opts out"
    before = dict(web.requests)
    out = tmp_path / "ignoring-meta"
    assert main(["download", "--pairs", str(folder), "--out", str(out), *FAST, "--ignore-opt-out", "meta"]) == 0
    found = statuses(out)
    assert all(found[uid]["status"] == "ok" for uid in meta_rows)  # fetched when the signal is off
    paths = {row["url"].split("/", 3)[3] for row in meta_rows.values()}
    assert all(before.get(f"/{path}", 0) == 0 for path in paths)  # honoured: never requested
    assert all(web.requests[f"/{path}"] > 0 for path in paths)
    honoured = json.loads((out / "stats.json").read_text())["opt_out"]
    assert "meta" in honoured["ignored"] and "meta" not in honoured["honoured"]
    refused = pq.read_table(run / "status", filters=[("signal", "=", "meta")]).to_pylist()  # the default run
    assert {row["uid"] for row in refused} == set(meta_rows)
    assert all(row["evidence"] == meta_rows[row["uid"]]["page_opt_out"] for row in refused)


def test_samples_carry_the_captions_language_only_when_the_pairs_do(balanced, run, tmp_path):
    assert all("lang" not in pq.read_schema(path).names for path in (run / "samples").glob("*.parquet"))
    _, rows, _ = balanced
    world = tmp_path / "balance"
    (world / "balanced").mkdir(parents=True)
    langs = {row["uid"]: ("de", "zh")[k % 2] for k, row in enumerate(rows)}
    table = table_from_rows([{**row, "lang": langs[row["uid"]]} for row in rows], "balanced")
    write_table(table, str(world / "balanced" / "part-00000.parquet"), "balanced")
    assert main(["download", "--pairs", str(world), "--out", str(tmp_path / "out"), *FAST]) == 0
    samples = pq.read_table(tmp_path / "out" / "samples").to_pylist()
    assert samples and all(row["lang"] == langs[row["uid"]] for row in samples)


def _get(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:  # the synthetic web, on loopback
        return response.read()


def test_each_sample_records_when_it_was_fetched_and_which_host_files_allowed_it(run, web, tmp_path):
    """Per-sample provenance: the fetch time (the tests' fixed clock), the body's own SHA-256
    (before decoding: what the URL served), and each host file of its origin as it was read,
    with the digest of its text; all carried into the shard index and KEY.json."""
    import hashlib
    import tarfile
    from urllib.parse import urlsplit

    samples = [row for path in sorted((run / "samples").glob("*.parquet")) for row in read_table(str(path), "samples")
               .to_pylist()]  # fmt: skip
    assert len(samples) > 5
    for sample in samples:
        assert sample["fetched_at"] == "2026-01-01T00:00:00Z"  # SOURCE_DATE_EPOCH, set by tests/conftest.py
        assert sample["body_sha256"] == hashlib.sha256(_get(sample["url"])).hexdigest()
        consent = json.loads(sample["consent"])
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(sample["url"]))
        files = {entry["file"]: entry for entry in consent}
        assert set(files) == {"robots.txt", "tdmrep.json", "ai.txt"}  # every signal honoured by default
        robots = files["robots.txt"]
        assert robots["url"] == f"{origin}/robots.txt" and robots["fetched_at"] == "2026-01-01T00:00:00Z"
        if robots["outcome"] == "read":
            assert robots["sha256"] == hashlib.sha256(_get(robots["url"])[:HOST_FILE_LIMIT]).hexdigest(), robots
        else:
            assert robots["sha256"] is None and robots["http_status"] == 404
    shards = tmp_path / "shards"
    assert main(["shard", "--samples", str(run), "--out", str(shards)]) == 0
    index = pq.read_table(shards / "000000.parquet").to_pylist()
    by_uid = {sample["uid"]: sample for sample in samples}
    with tarfile.open(shards / "000000.tar") as tar:
        documents = {m.name[: -len(".json")]: json.load(tar.extractfile(m)) for m in tar if m.name.endswith(".json")}
    for row in index:
        sample = by_uid[row["uid"]]
        assert (row["fetched_at"], row["body_sha256"], row["consent"]) == (
            sample["fetched_at"], sample["body_sha256"], sample["consent"])  # fmt: skip
        document = documents[row["key"]]
        assert document["consent"] == json.loads(sample["consent"]) and document["fetched_at"] == row["fetched_at"]
    assert main(["verify", str(shards)]) == 0


def test_the_clock_is_real_time_unless_a_build_date_is_given(monkeypatch):
    from datetime import UTC, datetime

    from wit_builder.clock import stamp

    assert stamp() == "2026-01-01T00:00:00Z"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    before = datetime.now(UTC).replace(microsecond=0)
    stamped = datetime.strptime(stamp(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= stamped <= datetime.now(UTC)
