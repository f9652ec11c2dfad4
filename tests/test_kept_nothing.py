"""A stage that keeps nothing has failed, and says why in one line: download against a web that is
down, harvest against a list that fits no caption, balance over rows it cannot use. Download
also fails when most URLs could not be reached."""

from __future__ import annotations

import json
import socket

from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def balanced_folder(tmp_path, urls: list[str]):
    folder = tmp_path / "balance"
    (folder / "balanced").mkdir(parents=True)
    rows = [{"uid": f"u{k:04d}", "url": url, "text": "a red circle", "page_url": None, "source": "mine",
             "matches": ["red circle"]} for k, url in enumerate(urls)]  # fmt: skip
    write_table(table_from_rows(rows, "balanced"), str(folder / "balanced" / "part-00000.parquet"), "balanced")
    return folder


def download(folder, out, *flags) -> int:
    argv = ["download", "--pairs", str(folder), "--out", str(out), "--allow-private-network", "--retries", "0"]
    return main([*argv, "--connect-timeout", "5", *flags])


def test_a_download_against_a_web_that_is_down_fails_naming_the_host(tmp_path, capsys):
    port = dead_port()
    folder = balanced_folder(tmp_path, [f"http://127.0.0.1:{port}/{k}.jpg" for k in range(12)])
    assert download(folder, tmp_path / "out") == 1
    err = one_line(capsys)
    assert f"0 of 12 images kept: 12 connection_error; not reached: 127.0.0.1:{port} (12); is the web up?" in err
    assert "wit-builder run --from download" in err
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())  # written for the auditor all the same
    assert stats["statuses"] == {"connection_error": 12} and stats["adds_up"]


def test_most_urls_unreached_fails_unless_the_share_allows_it(small_world, served_world, tmp_path, capsys):
    good = [i.url(served_world.base_urls) for i in small_world.catalog.images if i.fault is None][:2]
    port = dead_port()
    folder = balanced_folder(tmp_path, [*good, *(f"http://127.0.0.1:{port}/{k}.jpg" for k in range(38))])
    assert download(folder, tmp_path / "out") == 1
    err = one_line(capsys)
    assert "38 of 40 URLs could not be reached (38 connection_error), more than --unreachable-share 0.9" in err
    assert download(folder, tmp_path / "out2", "--unreachable-share", "1") == 0
    assert download(folder, tmp_path / "out3", "--unreachable-share", "0.99") == 0


def test_a_harvest_whose_list_fits_no_caption_fails_and_says_so(tmp_path, capsys):
    queries = tmp_path / "queries.txt"
    queries.write_text("lighthouse\n")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("url\tcaption\n" + "".join(f"http://x.test/{k}.jpg\ta red circle {k}\n" for k in range(7)))
    argv = ["harvest", "--queries", str(queries), "--pairs", str(pairs), "--out", str(tmp_path / "out")]
    assert main(argv) == 1
    err = one_line(capsys)
    assert "0 of 7 pairs kept: 7 no_match; no caption holds a query" in err


def test_a_balance_that_can_use_no_row_fails(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from wit_builder.schemas import load_schema

    candidates = tmp_path / "harvest" / "candidates"
    candidates.mkdir(parents=True)
    rows = [{"uid": f"u{k}", "url": f"http://x/{k}.jpg", "text": "t", "page_url": None, "source": "s",
             "matches": [None]} for k in range(4)]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(rows, schema=load_schema("candidates")), candidates / "a.parquet")
    assert main(["balance", "--candidates", str(tmp_path / "harvest"), "--out", str(tmp_path / "out")]) == 1
    assert "0 of 4 pairs kept: 4 malformed_matches" in one_line(capsys)
