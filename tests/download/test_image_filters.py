"""The image filters: one interface, chosen by name from a registry, run in order over the
images still kept. A refused image loses its bytes and gets its status, sentence and decision;
a filter's records are gathered for the report; a new filter plugs in with one entry."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow.parquet as pq

from wit_builder.download import image_filters
from wit_builder.download.fetch import FetchResult
from wit_builder.download.image_filters import ImageFilter, Refused, apply_filters, build_filters
from wit_builder.download.images import ProcessedImage
from wit_builder.download.outcomes import Decided, PairOutcome
from wit_builder.download.settings import DownloadRules


def outcome(uid: str, width: int) -> PairOutcome:
    image = ProcessedImage("ok", image=b"bytes", image_format="jpg", width=width, height=width)
    return PairOutcome.of(
        {"uid": uid, "url": f"http://h/{uid}.jpg"}, FetchResult(f"http://h/{uid}.jpg", "fetched"), image
    )


class NarrowFilter(ImageFilter):
    """A toy filter, as a contributor would add one: refuses images under ``limit`` pixels wide."""

    name = "narrow"

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.seen: list[str] = []

    @classmethod
    def from_rules(cls, rules: DownloadRules, out_dir: str) -> NarrowFilter:
        return cls(400)

    def decide(self, kept: Sequence[PairOutcome]) -> list[Refused | None]:
        self.seen += [o.pair["uid"] for o in kept]
        self.counts["narrow_checked"] += len(kept)
        return [
            Refused("too_narrow", f"{o.image.width} px wide", Decided(evidence="width", score=o.image.width),
                    {"uid": o.pair["uid"]})
            if o.image.width < self.limit else None
            for o in kept
        ]  # fmt: skip


def test_filters_run_in_order_over_the_images_still_kept():
    outcomes = [outcome("a", 50), outcome("b", 200), outcome("c", 80), PairOutcome.of({"uid": "d", "url": "u"},
                FetchResult("u", "timeout", error="read timeout"))]  # fmt: skip
    first, second = NarrowFilter(100), NarrowFilter(150)
    first.records = second.records = "narrow_records"  # what a filter keeps for the report, by kind
    records = apply_filters([first, second], outcomes)
    assert first.seen == ["a", "b", "c"] and second.seen == ["b"]  # a refused image meets no later filter
    assert [o.status for o in outcomes] == ["too_narrow", "ok", "too_narrow", "timeout"]
    assert outcomes[0].image is None and outcomes[1].image is not None  # a refused image's bytes end here
    row = outcomes[0].status_row()
    assert (row["error"], row["evidence"], row["score"], row["list"]) == ("50 px wide", "width", 50, None)
    assert records == {"narrow_records": [{"uid": "a"}, {"uid": "c"}]}
    assert [o.kept for o in outcomes] == [False, True, False, False]


def test_the_registry_builds_only_the_filters_the_rules_ask_for(tmp_path):
    assert list(image_filters.FILTERS) == ["blocklists", "eval_sets"]
    assert build_filters(DownloadRules(), str(tmp_path)) == []
    listed = tmp_path / "sha.txt"
    listed.write_text("# kind: sha256\n# name: some-list\n" + "0" * 64 + "\n")
    (found,) = build_filters(DownloadRules(blocklists=(str(listed),)), str(tmp_path))
    assert found.name == "blocklists" and found.digests == {"sha256"}


def test_a_new_filter_plugs_in_with_one_registry_entry(monkeypatch, tmp_path, small_world):
    """End to end: registered, the toy filter refuses the narrow images of a download run, and
    its statuses, decisions and counts reach the status files and stats.json."""
    import json

    from wit_builder.cli import main
    from wit_builder.harvest.normalise import url_uid
    from wit_builder.schemas import table_from_rows, write_table

    monkeypatch.setitem(image_filters.FILTERS, "narrow", f"{__name__}:NarrowFilter")
    with small_world.serve() as web:
        images = [i for i in small_world.catalog.images if i.fault is None and i.size_class == "normal"][:6]
        rows = [{"uid": url_uid(i.url(web.base_urls)), "url": i.url(web.base_urls), "text": f"image {k}",
                 "page_url": None, "source": "test", "matches": ["image"]} for k, i in enumerate(images)]  # fmt: skip
        (tmp_path / "balance" / "balanced").mkdir(parents=True)
        write_table(
            table_from_rows(rows, "balanced"), str(tmp_path / "balance/balanced/part-00000.parquet"), "balanced"
        )
        out = tmp_path / "download"
        argv = ["download", "--pairs", str(tmp_path / "balance"), "--out", str(out), "--allow-private-network",
                "--image-size", "64", "--resize-mode", "no"]  # fmt: skip
        assert main(argv) == 0
    status = pq.read_table(out / "status").to_pylist()
    narrow = [row for row in status if row["status"] == "too_narrow"]
    assert len(narrow) == sum(i.width < 400 for i in images) > 0  # stored as they are (--resize-mode no)
    assert all(row["evidence"] == "width" and row["score"] < 400 for row in narrow)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["statuses"]["too_narrow"] == len(narrow) and stats["adds_up"]
