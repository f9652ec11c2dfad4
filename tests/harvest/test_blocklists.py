"""URL and domain blocklists in harvest: the pairs they block are dropped and counted by list
name, the counts add up, and no list's entries reach an output, a report or a message."""

from __future__ import annotations

import pytest

from tests.harvest.test_pipeline import harvest, result, result_dir, world  # noqa: F401 (fixtures)
from wit_builder.cli import main
from wit_builder.errors import UsageError
from wit_builder.io.blocklists import blocked_domain, read_blocklist


def test_reading_a_list_needs_its_kind_and_names_lines_not_entries(tmp_path):
    good = tmp_path / "mine.txt"
    good.write_text("# kind: domain\nExample.COM.\n\n# a comment\nads.example.org\n")
    listed = read_blocklist(str(good))
    assert (listed.name, listed.kind, listed.entries) == ("mine", "domain", {"example.com", "ads.example.org"})
    named = tmp_path / "n.txt"
    named.write_text("# kind: sha256\n# name: partner-hashes\n" + "ab" * 32 + "\n")
    assert read_blocklist(str(named)).name == "partner-hashes"
    (tmp_path / "nokind.txt").write_text("secret.example\n")
    with pytest.raises(UsageError, match=r"line 1 comes before the '# kind: \.\.\.' header") as refused:
        read_blocklist(str(tmp_path / "nokind.txt"))
    assert "secret" not in str(refused.value)
    (tmp_path / "bad.txt").write_text("# kind: md5\nnot-a-digest-secret\n")
    with pytest.raises(UsageError, match="line 2 is not a md5 digest") as refused:
        read_blocklist(str(tmp_path / "bad.txt"))
    assert "secret" not in str(refused.value)
    with pytest.raises(UsageError, match="no such file"):
        read_blocklist(str(tmp_path / "missing.txt"))


def test_a_domain_blocks_its_subdomains_only():
    domains = frozenset({"example.com"})
    assert blocked_domain("example.com", domains) and blocked_domain("img.cdn.example.com", domains)
    assert not blocked_domain("notexample.com", domains) and not blocked_domain("example.org", domains)


def test_blocked_pairs_are_dropped_counted_by_list_and_never_recorded(world, result, tmp_path):  # noqa: F811
    plain_rows, plain_stats = result
    host = plain_rows[0]["url"].split("/")[2].split(":")[0]  # a host with candidates: 127.0.0.x
    some_urls = [row["url"] for row in plain_rows if host not in row["url"]][:3]
    urls = tmp_path / "urls.txt"
    urls.write_text("# kind: url\n# name: takedown-requests\n" + "\n".join(some_urls) + "\n")
    domains = tmp_path / "hosts.txt"
    domains.write_text(f"# kind: domain\n{host}\n")
    out = tmp_path / "out"
    rows, stats = harvest(world, out, "--blocklist", str(urls), "--blocklist", str(domains))
    kept = {row["url"] for row in rows}
    assert not kept & set(some_urls) and not any(host in url for url in kept)
    by_list = stats["blocklisted_by_list"]
    assert by_list["hosts"] > 0 and by_list["takedown-requests"] >= len(some_urls)
    assert stats["dropped"]["blocklisted"] == sum(by_list.values()) and stats["adds_up"]
    assert stats["pairs_read"] == plain_stats["pairs_read"]
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".html"):
            text = path.read_text()
            assert not any(url in text for url in some_urls), path  # no entry is copied into an output


def test_a_hash_list_or_a_bad_list_stops_harvest_before_it_starts(world, tmp_path, capsys):  # noqa: F811
    layout, queries = world
    hashes = tmp_path / "h.txt"
    hashes.write_text("# kind: sha256\n" + "0" * 64 + "\n")
    argv = ["harvest", "--queries", str(queries), "--pairs", str(layout.pairs_dir / "*"), "--out", str(tmp_path / "o")]
    assert main([*argv, "--blocklist", str(hashes)]) == 2
    assert "give it to the download stage" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
