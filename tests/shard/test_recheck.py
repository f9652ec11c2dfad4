"""``wit-builder recheck`` against a synthetic web that changed its mind after the collection: a
site adds a Disallow, another reserves an image by TDMRep, one image changes, two disappear and
one is now sent with ``X-Robots-Tag: noai``. Every change is found, and nothing else; ``--apply``
takes the findings down and leaves ``verify`` passing; a killed re-check resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.harvest.normalise import url_uid
from wit_builder.io.json_files import read_json
from wit_builder.schemas import document_problem, read_table, table_from_rows, write_table
from wit_builder.synthetic.catalog import FAULTS
from wit_builder.synthetic.opt_out_sites import ROBOTS
from wit_builder.synthetic.web import image_bytes

pytestmark = pytest.mark.network

FETCH = ["--allow-private-network", "--read-timeout", "2", "--retries", "1"]
# Faults whose images download keeps: on a recheck they must stay unflagged like any other.
KEPT_FAULTS = ("redirect", "x_robots_other", "content_usage_genai", "robots_huge", "robots_missing", "crawl_delay")


@pytest.fixture(scope="module")
def web(small_world):
    with small_world.serve(slow_seconds=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def collected(small_world, web, tmp_path_factory):
    """A run's download and shard folders, collected while the web said yes to everything kept."""
    images = small_world.catalog.images
    plain = [i for i in images if i.fault is None and i.size_class == "normal"]
    chosen = [i for host in range(3) for i in [i for i in plain if i.host == host][:8]]
    chosen += [next(i for i in images if i.fault == fault and i.size_class == "normal") for fault in KEPT_FAULTS]
    assert all(fault in FAULTS for fault in KEPT_FAULTS)
    rows = [
        {"uid": url_uid(i.url(web.base_urls)), "url": i.url(web.base_urls), "text": f"image {i.image_id}",
         "page_url": None, "source": "test", "matches": ["image"]}
        for i in chosen
    ]  # fmt: skip
    run = tmp_path_factory.mktemp("recheck-run")
    (run / "balance" / "balanced").mkdir(parents=True)
    write_table(table_from_rows(rows, "balanced"), str(run / "balance" / "balanced" / "part-00000.parquet"), "balanced")
    assert main(["download", "--pairs", str(run / "balance"), "--out", str(run / "download"), *FETCH]) == 0
    assert main(["shard", "--samples", str(run / "download"), "--out", str(run / "shard"),
                 "--samples-per-shard", "8"]) == 0  # fmt: skip
    kept = {row["url"]: row["uid"] for path in sorted((run / "shard").glob("*.parquet"))
            for row in pq.read_table(path, columns=["url", "uid"]).to_pylist()}  # fmt: skip
    assert len(kept) == len(chosen), "every chosen image is kept at collection"
    return run, {i.image_id: i for i in chosen}, kept


@pytest.fixture
def drifted(collected, web):
    """The web changes its mind; returns the findings each changed sample must get."""
    _, chosen, kept = collected
    plain = [i for i in chosen.values() if i.fault is None]
    on_host = {host: [i for i in plain if i.host == host] for host in range(3)}
    disallowed_host, reserving_host, changing_host = 1, 2, 0
    assert all(len(on_host[host]) >= 4 for host in (disallowed_host, reserving_host, changing_host))
    expected: dict[str, tuple[str, str | None]] = {}
    # A site adds a Disallow for its /img/ folder: every plain image there, no fault route.
    web.change(
        "/robots.txt",
        host=disallowed_host,
        body=ROBOTS.replace("User-agent: *\n", "User-agent: *\nDisallow: /img/\n", 1),
    )
    for image in on_host[disallowed_host]:
        expected[image.url(web.base_urls)] = ("opted_out", "robots")
    # Another declares a TDMRep reservation on one image.
    reserved = on_host[reserving_host][0]
    web.change("/.well-known/tdmrep.json", host=reserving_host,
               body=json.dumps([{"location": reserved.path, "tdm-reservation": 1}]))  # fmt: skip
    expected[reserved.url(web.base_urls)] = ("opted_out", "tdmrep")
    # An image changes, one is removed (410), another no longer found (404), one gets a header.
    changed, removed, missing, tagged = on_host[changing_host][:4]
    web.change(changed.path, host=changing_host, body=image_bytes(on_host[changing_host][-1]))
    web.change(removed.path, host=changing_host, status=410, body=b"gone")
    web.change(missing.path, host=changing_host, status=404, body=b"no such image")
    web.change(tagged.path, host=changing_host, body=image_bytes(tagged), headers={"X-Robots-Tag": "noai"})
    expected[changed.url(web.base_urls)] = ("changed", None)
    expected[removed.url(web.base_urls)] = ("gone", None)
    expected[missing.url(web.base_urls)] = ("gone", None)
    expected[tagged.url(web.base_urls)] = ("opted_out", "x-robots-tag")
    assert set(expected) <= set(kept)
    yield expected
    web.forget_changes()


def findings(out: Path) -> dict[str, tuple[str, str | None]]:
    return {row["url"]: (row["finding"], row["signal"]) for row in read_table(str(out / "drift.parquet"), "recheck")
            .to_pylist()}  # fmt: skip


def test_consent_alone_finds_the_new_refusals_and_nothing_else(collected, drifted, web, tmp_path):
    from collections import Counter

    from wit_builder.download.host_files import origin_of

    run, _, kept = collected
    out = tmp_path / "consent"
    assert main(["recheck", str(run / "shard"), "--out", str(out), *FETCH]) == 0
    refused = {url: found for url, found in drifted.items() if found[1] in ("robots", "tdmrep")}
    assert findings(out) == refused
    summary = read_json(str(out / "recheck.json"), "recheck")
    assert summary["samples"] == len(kept) and summary["adds_up"]
    assert summary["findings"]["consented"] == len(kept) - len(refused)
    assert summary["opted_out_by_signal"] == dict(Counter(signal for _, signal in refused.values()))
    assert summary["signals"]["not_rechecked"] == ["meta", "x-robots-tag"]  # without --refetch
    # The two host files that changed, and only they, are named.
    changed = {(entry["origin"], entry["file"]) for entry in summary["host_files"]["changed_files"]}
    assert changed == {(origin_of(web.base_urls[1]), "robots.txt"), (origin_of(web.base_urls[2]), "tdmrep.json")}
    hosts = read_table(str(out / "host_files.parquet"), "recheck_host_files").to_pylist()
    assert sum(row["changed"] for row in hosts) == 2
    assert {row["file"] for row in hosts if row["changed"]} == {"robots.txt", "tdmrep.json"}
    request = (out / "takedown-request.txt").read_text().splitlines()
    assert sorted(line for line in request if not line.startswith("#")) == sorted(kept[url] for url in refused)


def test_refetch_finds_every_change_and_nothing_else(collected, drifted, tmp_path, capsys):
    from collections import Counter

    run, _, kept = collected
    out = tmp_path / "refetch"
    assert main(["recheck", str(run / "shard"), "--out", str(out), "--refetch", *FETCH]) == 0
    assert findings(out) == drifted
    summary = read_json(str(out / "recheck.json"), "recheck")
    assert document_problem(summary, "recheck") is None
    opted_out = Counter(signal for finding, signal in drifted.values() if finding == "opted_out")
    assert summary["findings"] == {
        "consented": 0, "unchanged": len(kept) - len(drifted), "opted_out": sum(opted_out.values()), "gone": 2,
        "changed": 1, "unreachable": 0,
    }  # fmt: skip
    assert summary["opted_out_by_signal"] == dict(sorted(opted_out.items()))
    assert opted_out["tdmrep"] == 1 and opted_out["x-robots-tag"] == 1 and opted_out["robots"] >= 4
    assert summary["signals"]["not_rechecked"] == ["meta"]
    drift = {row["url"]: row for row in read_table(str(out / "drift.parquet"), "recheck").to_pylist()}
    changed = next(row for row in drift.values() if row["finding"] == "changed")
    assert changed["body_sha256_then"] != changed["body_sha256_now"] and changed["http_status"] == 200
    assert {row["http_status"] for row in drift.values() if row["finding"] == "gone"} == {404, 410}
    assert "Disallow: /img/" in next(row["evidence"] for row in drift.values() if row["signal"] == "robots")
    printed = capsys.readouterr().out
    assert f"opted_out {sum(opted_out.values())}" in printed and "gone 2" in printed and "takedown" in printed


def test_apply_takes_the_findings_down_and_verify_passes(collected, drifted, tmp_path):
    run, _, kept = collected
    import shutil

    shards = tmp_path / "shard"
    shutil.copytree(run / "shard", shards)
    out = tmp_path / "applied"
    assert main(["recheck", str(shards), "--out", str(out), "--refetch", "--remove", "opted_out,gone,changed",
                 "--apply", *FETCH]) == 0  # fmt: skip
    summary = read_json(str(out / "recheck.json"), "recheck")
    assert summary["applied"]["samples_removed"] == len(drifted)
    assert summary["applied"]["reason"].startswith("recheck 2026-01-01T00:00:00Z: ")
    assert main(["verify", str(shards)]) == 0
    left = {row["url"] for path in sorted(shards.glob("*.parquet")) for row in pq.read_table(path).to_pylist()}
    assert left == set(kept) - set(drifted)
    log = [json.loads(line) for line in (shards / "takedowns.jsonl").read_text().splitlines()]
    assert log[-1]["why"] == summary["applied"]["reason"] and log[-1]["samples_removed"] == len(drifted)
    again = tmp_path / "again"
    assert main(["recheck", str(shards), "--out", str(again), "--refetch", *FETCH]) == 0
    assert read_json(str(again / "recheck.json"), "recheck")["drift"] == 0  # nothing left to find


def test_a_killed_recheck_resumes_and_a_finished_one_starts_afresh(collected, drifted, tmp_path):
    run, _, _ = collected
    out = tmp_path / "resumed"
    args = ["recheck", str(run / "shard"), "--out", str(out), *FETCH]
    assert main(args) == 0
    first = findings(out)
    shards = sorted((out / "work").glob("[0-9]*[0-9].parquet"))
    assert len(shards) >= 4
    # As a kill leaves it: recheck.json not yet written, the last shard not finished.
    (out / "recheck.json").unlink()
    shards[-1].with_suffix(".json").unlink()
    assert main(args) == 0
    summary = read_json(str(out / "recheck.json"), "recheck")
    assert summary["shards_resumed"] == len(shards) - 1 and findings(out) == first
    assert main(args) == 0  # finished: checked afresh
    assert read_json(str(out / "recheck.json"), "recheck")["shards_resumed"] == 0 and findings(out) == first


def test_the_run_report_shows_each_recheck(collected, drifted, tmp_path):
    from wit_builder.report.run_page import render_run_report

    run, _, _ = collected
    html = render_run_report(str(run))
    assert "have not been re-checked" in html
    assert main(["recheck", str(run / "shard"), *FETCH]) == 0  # the default folder: RUN/recheck/TIME
    assert main(["recheck", str(run / "shard"), "--refetch", *FETCH]) == 0  # the same second: its own folder
    assert (run / "recheck" / "20260101T000000Z" / "recheck.json").exists()
    assert (run / "recheck" / "20260101T000000Z-2" / "recheck.json").exists()
    html = render_run_report(str(run))
    assert "Re-checks after release" in html and "Opted out since collection, by signal" in html
    assert "Disallow: /img/" in html and "tdmrep.json" in html
    assert html.count("2026-01-01T00:00:00Z</td>") == 2  # each re-check, one row


def test_a_host_unreachable_now_is_not_a_withdrawal(collected, drifted, web, tmp_path):
    """robots.txt answering 503 disallows crawling for now (RFC 9309), but says nothing of
    consent: its samples are unreachable, named in no takedown request, unless another file of
    the host refuses them (the TDMRep reservation still counts)."""
    run, chosen, kept = collected
    host = 2
    on_host = {i.url(web.base_urls) for i in chosen.values() if i.host == host}
    web.change("/robots.txt", host=host, status=503, body="busy")
    try:
        out = tmp_path / "unreachable"
        assert main(["recheck", str(run / "shard"), "--out", str(out), *FETCH, "--retries", "0"]) == 0
    finally:
        del web.changes[(host, "/robots.txt")]
    found = findings(out)
    reserved = {url for url, (_, signal) in drifted.items() if signal == "tdmrep"}
    assert {url for url, (finding, _) in found.items() if finding == "unreachable"} == on_host - reserved
    assert {url: found[url] for url in reserved} == {url: ("opted_out", "tdmrep") for url in reserved}
    request = {line for line in (out / "takedown-request.txt").read_text().splitlines() if not line.startswith("#")}
    assert not request & {kept[url] for url in on_host - reserved}


def test_reason_without_apply_and_a_damaged_consent_record(collected, drifted, tmp_path, capsys):
    import shutil

    import pyarrow as pa

    run, _, _ = collected
    assert main(["recheck", str(run / "shard"), "--reason", "why", "--out", str(tmp_path / "x"), *FETCH]) == 2
    assert "--reason and --by describe the takedown that --apply makes" in capsys.readouterr().err
    shards = tmp_path / "shard"
    shutil.copytree(run / "shard", shards)
    index = pq.read_table(shards / "000000.parquet")
    damaged = ["{not json", "[1, 2]", None, '[{"file": "robots.txt"}]'] * index.num_rows
    index = index.set_column(index.schema.get_field_index("consent"), "consent",
                             pa.array(damaged[: index.num_rows], pa.string()))  # fmt: skip
    pq.write_table(index, shards / "000000.parquet")
    out = tmp_path / "damaged"
    assert main(["recheck", str(shards), "--out", str(out), *FETCH]) == 0
    assert findings(out) == findings_without_refetch(drifted)


def findings_without_refetch(drifted: dict) -> dict:
    return {url: found for url, found in drifted.items() if found[1] in ("robots", "tdmrep")}


def test_a_damaged_recheck_summary_is_named_in_the_report(collected, tmp_path):
    import shutil

    from wit_builder.report.run_page import render_run_report

    run, _, _ = collected
    copy = tmp_path / "run"
    shutil.copytree(run / "shard", copy / "shard")
    (copy / "recheck" / "broken").mkdir(parents=True)
    (copy / "recheck" / "broken" / "recheck.json").write_text('{"samples": "many"')
    html = render_run_report(str(copy))
    assert "A re-check that cannot be read, left out:" in html and "broken/recheck.json" in html


def test_the_web_after_release_is_found_as_scripted(collected, small_world, web, tmp_path):
    """``wit-builder world --serve --after-release`` serves ``after_release``'s changes: recheck
    finds each one among the kept samples, as ``expected_finding`` says, and nothing else."""
    from wit_builder.synthetic.after_release import change_its_mind, expected_finding

    run, chosen, _ = collected
    described = change_its_mind(web)
    try:
        out = tmp_path / "after"
        assert main(["recheck", str(run / "shard"), "--out", str(out), "--refetch", *FETCH]) == 0
    finally:
        web.forget_changes()
    hosts = small_world.config.hosts
    expected = {
        image.url(web.base_urls): found
        for image in chosen.values()
        if (found := expected_finding(image, hosts)) is not None
    }
    assert {finding for finding, _ in expected.values()} == {"opted_out", "changed", "gone"}
    assert findings(out) == expected
    assert len(described) == 3 and "robots.txt now says Disallow: /img/1" in described[0]


def test_the_web_changes_its_mind_only_while_served(tmp_path, capsys):
    assert main(["world", "--out", str(tmp_path / "world"), "--after-release"]) == 2
    assert "--after-release changes the web as it is served: add --serve" in capsys.readouterr().err
