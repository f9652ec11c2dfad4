"""Hash blocklists, evaluation sets and face boxes in the download stage, against the planted
pictures of the synthetic web (``synthetic.planted``): every planted URL ends in its expected
status, no blocked byte reaches disk, and the counts add up."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image, ImageFilter

from wit_builder.cli import main
from wit_builder.harvest.normalise import url_uid
from wit_builder.schemas import read_table, table_from_rows, write_table
from wit_builder.synthetic.planted import PlantedSet

pytestmark = pytest.mark.network

FAST = ["--allow-private-network", "--read-timeout", "2", "--retries", "1", "--chunk-rows", "5"]


@pytest.fixture(scope="module")
def planted_run(served_world, tmp_path_factory):
    """The planted pictures as balanced pairs (face boxes carried as harvest carries them), and a
    download with the world's hash lists and evaluation set."""
    web = served_world
    root = tmp_path_factory.mktemp("planted")
    planted = PlantedSet(web.catalog.config.seed)
    layout = planted.write(root / "planted", web.base_urls, [f"a picture {k}" for k in range(len(planted.pictures))])
    truth = json.loads((layout.root / "truth.json").read_text())
    fetched = [p for p in planted.pictures if not p.expected.startswith("harvest:")]  # URL lists act in harvest
    rows = [
        {
            "uid": url_uid(planted.url(web.base_urls, p.name)),
            "url": planted.url(web.base_urls, p.name),
            "text": f"a picture {k}",
            "page_url": None,
            "source": "planted",
            "matches": ["picture"],
            "page_opt_out": None,
            "face_bboxes": [list(box) for box in p.boxes] if p.boxes else None,
        }
        for k, p in enumerate(fetched)
    ]
    (root / "balance" / "balanced").mkdir(parents=True)
    write_table(table_from_rows(rows, "balanced"), str(root / "balance/balanced/part-00000.parquet"), "balanced")
    hash_lists = [str(path) for name, path in layout.blocklists.items() if name != "demo-urls"]
    out = root / "download"
    argv = ["download", "--pairs", str(root / "balance"), "--out", str(out), *FAST, "--eval-sets",
            f"held-out={layout.eval_set}"]  # fmt: skip
    for path in hash_lists:
        argv += ["--blocklist", path]
    assert main(argv) == 0
    return out, rows, truth, planted, argv


def statuses(out) -> dict[str, dict]:
    return {row["url"]: row for row in pq.read_table(out / "status").to_pylist()}


def test_every_planted_picture_ends_in_its_expected_status(planted_run):
    out, rows, truth, _, _ = planted_run
    found = statuses(out)
    assert set(found) == {row["url"] for row in rows}
    for url, row in found.items():
        assert row["status"] == truth[url]["expected"], (url, row["error"])
    listed = {row["url"]: row["error"] for row in found.values() if row["status"] == "blocklisted"}
    assert sorted(listed.values()) == ["blocklist demo-md5", "blocklist demo-pdq", "blocklist demo-sha256"]
    for row in found.values():
        if row["status"] == "eval_duplicate":  # names the set and the evaluation image it copies
            assert row["error"].startswith("eval set held-out: eval-") and "PDQ distance" in row["error"]


def test_an_auditor_filters_the_status_files_by_list_or_signal_in_one_query(planted_run):
    """What decided is data: the list, the evidence and the score are columns (a list's entries
    never are), so one Parquet query finds every pair a list or a set refused."""
    out, _, _, _, _ = planted_run
    by_list = pq.read_table(out / "status", filters=[("list", "=", "demo-pdq")]).to_pylist()
    assert [row["status"] for row in by_list] == ["blocklisted"]
    assert by_list[0]["evidence"] == "pdq hash listed" and 0 <= by_list[0]["score"] <= 31
    exact = pq.read_table(out / "status", filters=[("list", "in", ["demo-md5", "demo-sha256"])]).to_pylist()
    assert sorted(row["evidence"] for row in exact) == ["md5 hash listed", "sha256 hash listed"]
    assert all(row["score"] is None for row in exact)
    copies = pq.read_table(out / "status", filters=[("list", "=", "held-out")]).to_pylist()
    assert len(copies) == 5 and all(row["status"] == "eval_duplicate" for row in copies)
    assert all(row["evidence"].startswith("evaluation image eval-") and row["score"] is not None for row in copies)
    others = pq.read_table(out / "status", filters=[("status", "in", ["ok", "too_small"])]).to_pylist()
    assert all(row["signal"] is row["list"] is row["score"] is None for row in others)


def test_counts_add_up_by_list_and_by_set(planted_run):
    out, rows, _, _, _ = planted_run
    stats = json.loads((out / "stats.json").read_text())
    assert stats["adds_up"] and stats["pairs_in"] == len(rows)
    assert stats["blocklisted_by_list"] == {"demo-md5": 1, "demo-pdq": 1, "demo-sha256": 1}
    assert sum(stats["blocklisted_by_list"].values()) == stats["statuses"]["blocklisted"]
    assert (
        stats["eval_sets"]["duplicates_by_set"] == {"held-out": 5} == {"held-out": stats["statuses"]["eval_duplicate"]}
    )
    matches = pq.read_table(out / "eval_matches").to_pylist()
    assert len(matches) == 5 and all(Image.open(io.BytesIO(m["thumbnail"])).size[0] <= 96 for m in matches)
    summary = json.loads((out / "eval_sets" / "held-out.json").read_text())
    assert summary["images"] == 6 and summary["unreadable"] == []


def test_no_blocked_byte_is_on_disk_and_no_list_entry_is_copied(planted_run):
    out, _, _, planted, argv = planted_run
    blocked = [p for p in planted.pictures if p.expected == "blocklisted"]
    secrets = [hashlib.sha256(p.data).hexdigest().encode() for p in blocked]
    secrets += [hashlib.md5(p.data, usedforsecurity=False).hexdigest().encode() for p in blocked]
    lists = [argv[k + 1] for k, flag in enumerate(argv) if flag == "--blocklist"]
    entries = [
        line.strip().encode() for path in lists for line in Path(path).read_text().splitlines() if line[:1] != "#"
    ]
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for picture in blocked:
                assert picture.data[1000:1064] not in data, (path, picture.name)  # not the body, in any file
            for secret in [*secrets, *entries]:
                assert secret not in data, path
    samples = [
        row for p in sorted((out / "samples").glob("*.parquet")) for row in read_table(str(p), "samples").to_pylist()
    ]
    assert not any(row["url"].endswith(tuple(p.name for p in blocked)) for row in samples)


def test_face_boxes_are_blurred_and_counted(planted_run):
    out, _, truth, planted, _ = planted_run
    samples = {
        row["url"]: row
        for p in sorted((out / "samples").glob("*.parquet"))
        for row in read_table(str(p), "samples").to_pylist()
    }
    faces = [url for url, record in truth.items() if record["boxes"]]
    assert faces and all(samples[url]["faces_blurred"] == len(truth[url]["boxes"]) for url in faces)
    assert all(row["faces_blurred"] == 0 for url, row in samples.items() if url not in faces)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["faces_blurred"] == sum(len(truth[url]["boxes"]) for url in faces)
    # Inside a box, the stored picture keeps none of the served one's detail (what a face is
    # recognised by: the picture less its own blur at an eighth of the box); outside, it does.
    url = faces[0]
    served = Image.open(io.BytesIO(planted.files[url.rsplit("/", 1)[1]])).convert("L").resize((256, 256))
    stored = Image.open(io.BytesIO(samples[url]["image"])).convert("L")
    x0, y0, x1, y1 = (round(v * 256) for v in truth[url]["boxes"][0])

    def detail(image: Image.Image, box: tuple[int, int, int, int]) -> np.ndarray:
        smooth = image.filter(ImageFilter.GaussianBlur((box[2] - box[0]) / 8))
        return (np.asarray(image, np.float64) - np.asarray(smooth, np.float64))[
            box[1] : box[3], box[0] : box[2]
        ].ravel()

    margin = (x1 - x0) // 5  # the detail filter's reach across the box's edge
    inside = (x0 + margin, y0 + margin, x1 - margin, y1 - margin)
    outside = (0, 0, max(x0 - 8, 16), 256)
    assert abs(np.corrcoef(detail(served, inside), detail(stored, inside))[0, 1]) < 0.2
    assert np.corrcoef(detail(served, outside), detail(stored, outside))[0, 1] > 0.8


def test_a_rerun_with_a_changed_list_redecides_and_the_same_lists_resume(planted_run, tmp_path):
    out, _, _, _, argv = planted_run
    assert main(argv) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["chunks_fetched"] == 0 and stats["chunks_resumed"] == stats["chunks"]
    assert stats["blocklisted_by_list"] == {"demo-md5": 1, "demo-pdq": 1, "demo-sha256": 1}
    md5 = next(k for k, arg in enumerate(argv) if arg.endswith("demo-md5.txt"))
    assert main(argv[: md5 - 1] + argv[md5 + 1 :]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["chunks_fetched"] == stats["chunks"] and stats["blocklisted_by_list"] == {
        "demo-pdq": 1,
        "demo-sha256": 1,
    }


def test_a_url_list_given_to_download_or_a_missing_set_is_a_usage_error(planted_run, tmp_path, capsys):
    _, _, _, _, argv = planted_run
    urls = tmp_path / "urls.txt"
    urls.write_text("# kind: url\nhttp://example.com/a.jpg\n")
    base = argv[: argv.index("--eval-sets")]
    assert main([*base[:3], "--out", str(tmp_path / "b"), *base[5:], "--blocklist", str(urls)]) == 2
    assert "give it to the harvest stage" in capsys.readouterr().err
    assert main([*base[:3], "--out", str(tmp_path / "c"), *base[5:], "--eval-sets", str(tmp_path / "nowhere")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
