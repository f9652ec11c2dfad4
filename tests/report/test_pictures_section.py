"""The run report's pictures: kept thumbnails by query (the most matched, and those an auditor
names with ``report --queries``), each duplicate beside its kept copy, too-small images drawn to
scale, what a non-image was, and never a picture or a uid of a blocklisted or evaluation-copy
image. Bounded: a thousand queries named or a million samples give the same number of pictures."""

from __future__ import annotations

import base64
import io
import json
import re

import pyarrow.parquet as pq
import pytest
from PIL import Image

from wit_builder.cli import main
from wit_builder.report import pictures_section
from wit_builder.report.run_page import render_run_report
from wit_builder.schemas import table_from_rows, write_table
from wit_builder.synthetic.sample_pool import write_sample_pool

BLOCKLISTED, EVAL_COPY = "uid-of-a-blocklisted-image", "uid-of-an-evaluation-copy"


@pytest.fixture
def run(tmp_path):
    """A run folder whose download kept 120 samples and dropped one image of each kind."""
    download = write_sample_pool(tmp_path / "download", 120, queries=30, files=2, seed=3, image_size=48, distinct=12)
    samples = pq.read_table(sorted((download / "samples").glob("*.parquet"))[0])
    kept_uid = samples["uid"][0].as_py()
    (download / "status").mkdir()
    (download / "work" / "fetched").mkdir(parents=True)
    rows = [
        {"uid": "dup-1", "url": "http://copies.example/a.jpg", "status": "duplicate", "duplicate_of": kept_uid},
        {"uid": "small-1", "url": "http://icons.example/i.png", "status": "too_small", "error": "12×9 < 32 px"},
        {"uid": "text-1", "url": "http://pages.example/x.jpg", "status": "not_image",
         "error": "not an image format Pillow can read"},
        {"uid": BLOCKLISTED, "url": "http://bad.example/b.jpg", "status": "blocklisted", "list": "demo-sha256"},
        {"uid": EVAL_COPY, "url": "http://bench.example/e.jpg", "status": "eval_duplicate", "list": "bench"},
    ]  # fmt: skip
    write_table(table_from_rows(rows, "status"), str(download / "status" / "part-00000.parquet"), "status")
    copy = samples.slice(1, 1).set_column(0, "uid", [["dup-1"]])  # another picture, as a duplicate's own bytes
    write_table(copy, str(download / "work" / "fetched" / "part-00000.parquet"), "samples", without=("lang",))
    stats = json.loads((download / "stats.json").read_text())
    stats["rules"] = {"min_image_size": 32}
    stats["statuses"].update(duplicate=1, too_small=1, not_image=1, blocklisted=1, eval_duplicate=1)
    (download / "stats.json").write_text(json.dumps(stats))
    return tmp_path


def section(page: str) -> str:
    start = page.index("<h2>Pictures of what was kept and dropped</h2>")
    end = page.find("<h2>", start + 1)
    return page[start : end if end > 0 else len(page)]


def pictures(html: str) -> list[Image.Image]:
    found = re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", html)
    return [Image.open(io.BytesIO(base64.b64decode(data))) for data in found]


def test_kept_pictures_by_query_and_each_reason_shown_as_it_may_be(run):
    html = section(render_run_report(str(run)))
    shown = pictures(html)
    assert all(max(p.size) <= 96 for p in shown)
    kept = [int(n) for n in re.findall(r"<h4>.*? <span class=\"note\">\(([\d,]+) kept", html)]
    assert len(kept) == pictures_section.TOP_QUERIES and kept == sorted(kept, reverse=True)
    per_strip = pictures_section.PER_STRIP
    assert len(shown) == sum(min(n, per_strip) for n in kept) + 2  # every strip full where it can be, + the pair
    assert "dropped, from copies.example" in html and "kept</figcaption>" in html
    assert 'aria-label="12 by 9 pixels"' in html and "32 px minimum" in html
    assert "pages.example</strong>: not an image format Pillow can read" in html
    for hidden in (BLOCKLISTED, EVAL_COPY, "bad.example", "bench.example"):
        assert hidden not in html


def test_named_queries_get_their_strip_and_the_section_stays_bounded(run, monkeypatch):
    samples = pq.read_table(sorted((run / "download" / "samples").glob("*.parquet"))[1])
    rare = min({q for row in samples["matches"].to_pylist() for q in row}, key=len)
    (run / "report").mkdir()
    (run / "report" / "queries.txt").write_text(f"{rare}\nnot a query anyone matched\n")
    html = section(render_run_report(str(run)))
    assert f"<h4>{rare} <span" in html and "named)" in html and "No kept sample matched it." in html
    monkeypatch.setattr(pictures_section, "TOP_QUERIES", 1000)  # a run with every query common
    many = pictures(section(render_run_report(str(run))))
    assert len(many) <= 30 * pictures_section.PER_STRIP + 2  # every query there is, eight pictures at most


def test_report_queries_names_them_once_and_refuses_too_many(run, capsys):
    assert main(["report", str(run), "--queries", "alpha, beta,alpha"]) == 0
    assert (run / "report" / "queries.txt").read_text() == "alpha\nbeta\n"
    assert "<h4>alpha <span" in (run / "report" / "index.html").read_text(encoding="utf-8")
    assert main(["report", str(run), "--queries", ",".join(f"q{i}" for i in range(11))]) == 2
    assert "at most 10" in capsys.readouterr().err
    assert main(["report", str(run), "--queries", ""]) == 0
    assert (run / "report" / "queries.txt").read_text() == ""
