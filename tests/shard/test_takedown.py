"""``wit-builder takedown``: only the shards holding the named samples change, verify passes,
the log says who, what, when and why, the same request twice changes nothing, and a kill at any
point leaves a set that a second command finishes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.shard.takedown import JOURNAL, read_log


@pytest.fixture
def published(shard_dir, tmp_path):
    target = tmp_path / "set"
    shutil.copytree(shard_dir, target, ignore=shutil.ignore_patterns("report"))
    return target


def index_rows(folder) -> dict[str, list[dict]]:
    return {path.name: pq.read_table(path).to_pylist() for path in sorted(folder.glob("0*.parquet"))}


def snapshot(folder) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def request(tmp_path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("# a takedown request\n" + "\n".join(lines) + "\n")
    return str(path)


def test_a_takedown_rewrites_only_the_shards_that_hold_the_samples(published, tmp_path, capsys):
    rows = index_rows(published)
    first, third = rows["000000.parquet"], rows["000002.parquet"]
    uids = [first[3]["uid"], first[10]["uid"], third[0]["uid"], "not-in-the-set"]
    before = snapshot(published)
    argv = ["takedown", str(published), "--uids", request(tmp_path, "uids.txt", uids)]
    assert main([*argv, "--reason", "rights holder's request #12", "--by", "legal@example.org"]) == 0
    assert "removed 3 samples from 2 shards" in capsys.readouterr().out
    after = snapshot(published)
    changed = {name for name in after if before.get(name) != after[name]}
    assert changed == {
        "000000.tar", "000000.parquet", "000002.tar", "000002.parquet", "manifest.json", "sizes.json",
        "takedowns.jsonl", "work/shards/000000.json", "work/shards/000002.json", "croissant.json", "README.md",
    }  # fmt: skip
    remaining = {row["uid"] for shard in index_rows(published).values() for row in shard}
    assert not remaining & set(uids)
    manifest = json.loads((published / "manifest.json").read_text())
    assert manifest["totals"]["samples"] == sum(len(shard) for shard in rows.values()) - 3
    assert json.loads((published / "sizes.json").read_text())["000000.tar"] == len(first) - 2
    assert main(["verify", str(published)]) == 0
    (entry,) = read_log(str(published))
    assert entry["who"] == "legal@example.org" and entry["why"] == "rights holder's request #12"
    assert entry["what"]["by"] == "uids" and entry["what"]["entries"] == 4 and entry["what"]["not_found"] == 1
    assert entry["removed"] == {"000000.tar": sorted(uids[:2]), "000002.tar": [uids[2]]}
    assert "http" not in json.dumps(entry)  # the log does not republish what it removed


def test_the_same_request_twice_changes_nothing(published, tmp_path, capsys):
    urls = [index_rows(published)["000001.parquet"][5]["url"]]
    argv = ["takedown", str(published), "--urls", request(tmp_path, "urls.txt", urls), "--reason", "DMCA"]
    assert main(argv) == 0
    once = snapshot(published)
    assert main(argv) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert snapshot(published) == once and len(read_log(str(published))) == 1


def test_a_takedown_by_image_hash_removes_every_copy(published, tmp_path):
    rows = [row for shard in index_rows(published).values() for row in shard]
    digest = rows[0]["sha256"]
    copies = sum(row["sha256"] == digest for row in rows)
    assert main(["takedown", str(published), "--hashes", request(tmp_path, "h.txt", [digest.upper()]),
                 "--reason", "hash list match"]) == 0  # fmt: skip
    assert read_log(str(published))[0]["samples_removed"] == copies
    assert main(["verify", str(published)]) == 0


KILL = """
import os, sys
import wit_builder.shard.takedown as takedown
where = sys.argv[1]
if where == "before-journal":
    real = takedown.write_json
    takedown.write_json = lambda path, *a, **k: os._exit(9) if path.endswith(takedown.JOURNAL) else real(path, *a, **k)
elif where == "mid-write":  # half of the first file after the journal (a sidecar) written, then killed
    import json
    def half_then_die(path, document):
        data = json.dumps(document).encode()
        with open(path + ".partial", "wb") as handle:
            handle.write(data[: len(data) // 2])
        os._exit(9)
    takedown._write_json_atomically = half_then_die
else:  # after the journal and the first renames, before the sidecars and the manifest are rewritten
    takedown._write_json_atomically = lambda *a, **k: os._exit(9)
from wit_builder.cli import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("where", ["before-journal", "after-journal"])
def test_a_killed_takedown_is_finished_by_the_next_command(published, tmp_path, where, capsys):
    uid = index_rows(published)["000003.parquet"][7]["uid"]
    argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [uid]), "--reason", "court order"]
    killed = subprocess.run([sys.executable, "-c", KILL, where, *argv], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    assert (published / JOURNAL).exists() == (where == "after-journal")
    if where == "before-journal":  # the set is as it was: the partial files are not part of it
        assert main(["verify", str(published)]) == 0
    assert main(argv) == 0
    assert not (published / JOURNAL).exists()
    assert main(["verify", str(published)]) == 0
    assert len(read_log(str(published))) == 1
    assert uid not in {row["uid"] for shard in index_rows(published).values() for row in shard}
    assert not list(published.glob("*.takedown-partial"))


def test_bad_requests_are_usage_errors(published, tmp_path, capsys):
    assert main(["takedown", str(published), "--hashes", request(tmp_path, "h.txt", ["xyz"]), "--reason", "r"]) == 2
    assert "line 2 is not a SHA-256" in capsys.readouterr().err
    assert main(["takedown", str(tmp_path), "--uids", request(tmp_path, "u.txt", ["a"]), "--reason", "r"]) == 2
    assert "no manifest.json there" in capsys.readouterr().err
    assert main(["takedown", str(published), "--uids", request(tmp_path, "e.txt", []), "--reason", "r"]) == 2
    assert "names nothing" in capsys.readouterr().err
    assert main(["takedown", str(published), "--uids", request(tmp_path, "u2.txt", ["a"]), "--reason", " "]) == 2


def test_a_later_shard_run_into_the_set_keeps_taken_down_samples_out(published, download_dir, tmp_path):
    uid = index_rows(published)["000001.parquet"][2]["uid"]
    argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [uid]), "--reason", "withdrawn"]
    assert main(argv) == 0
    rerun = ["shard", "--samples", str(download_dir), "--out", str(published), "--samples-per-shard", "300"]
    assert main([*rerun, "--chunk-rows", "150"]) == 0  # other settings: every shard is written again
    stats = json.loads((published / "stats.json").read_text())
    assert stats["rejected"]["taken_down"] == 1 and stats["adds_up"]
    assert uid not in {row["uid"] for shard in index_rows(published).values() for row in shard}
    assert len(read_log(str(published))) == 1 and main(["verify", str(published)]) == 0


@pytest.mark.parametrize("left", ["an empty sidecar", "a sidecar cut in half", "half a new sidecar"])
def test_a_kill_while_a_sidecar_is_written_is_rolled_forward_from_the_journal(left, published, tmp_path, capsys):
    """A kill while a takedown wrote a shard's sidecar: an earlier version wrote it in place and
    left it empty or cut; now it is written whole, and whatever a kill left, the next takedown
    writes it again from the journal, whole and agreeing with the manifest."""
    from wit_builder.shard.takedown import sidecar_path

    uid = index_rows(published)["000001.parquet"][3]["uid"]
    argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [uid]), "--reason", "court order"]
    where = "mid-write" if left == "half a new sidecar" else "after-journal"
    killed = subprocess.run([sys.executable, "-c", KILL, where, *argv], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    sidecar = Path(sidecar_path(str(published), "000001.tar"))
    before = sidecar.read_bytes()
    if left == "an empty sidecar":
        sidecar.write_bytes(b"")
    elif left == "a sidecar cut in half":
        sidecar.write_bytes(before[: len(before) // 2])
    else:
        assert json.loads(before) and Path(f"{sidecar}.partial").exists()  # the old one, whole
    assert main(argv) == 0
    assert "finished a takedown that had been interrupted" in capsys.readouterr().out
    document = json.loads(sidecar.read_text())
    manifest = json.loads((published / "manifest.json").read_text())
    shard = next(s for s in manifest["shards"] if s["name"] == "000001.tar")
    fields = ("samples", "bytes", "sha256")
    assert {k: document[k] for k in fields} == {k: shard[k] for k in fields}
    rows = index_rows(published)["000001.parquet"]
    assert sum(document["kept_per_query"].values()) == sum(len(row["matches"]) for row in rows)
    assert main(["verify", str(published)]) == 0
    assert not list(published.rglob("*.partial"))


def test_a_fresh_run_of_the_stage_keeps_the_log_and_honours_it(published, download_dir, tmp_path):
    """``run --from shard`` empties the folder of what the stage wrote, but the takedown log is kept."""
    from wit_builder.chain import prepare_stage

    uid = index_rows(published)["000000.parquet"][4]["uid"]
    argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [uid]), "--reason", "withdrawn"]
    assert main(argv) == 0
    prepare_stage(str(published), "shard", "another-key", "start afresh")
    assert (published / "takedowns.jsonl").exists() and not (published / "manifest.json").exists()
    rerun = ["shard", "--samples", str(download_dir), "--out", str(published), "--samples-per-shard", "200"]
    assert main([*rerun, "--chunk-rows", "150"]) == 0
    assert uid not in {row["uid"] for shard in index_rows(published).values() for row in shard}
    assert json.loads((published / "stats.json").read_text())["rejected"]["taken_down"] == 1


def test_a_journal_left_by_a_kill_is_logged_even_when_the_set_was_emptied(published, download_dir, tmp_path):
    uid = index_rows(published)["000002.parquet"][1]["uid"]
    argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [uid]), "--reason", "court order"]
    killed = subprocess.run([sys.executable, "-c", KILL, "after-journal", *argv], capture_output=True, text=True)
    assert killed.returncode == 9 and (published / JOURNAL).exists()
    from wit_builder.chain import prepare_stage

    prepare_stage(str(published), "shard", "another-key", "start afresh")
    assert (published / JOURNAL).exists()  # kept: it holds a request not yet logged
    rerun = ["shard", "--samples", str(download_dir), "--out", str(published), "--samples-per-shard", "200"]
    assert main([*rerun, "--chunk-rows", "150"]) == 0
    assert not (published / JOURNAL).exists() and len(read_log(str(published))) == 1
    assert uid not in {row["uid"] for shard in index_rows(published).values() for row in shard}
    assert main(["verify", str(published)]) == 0


def test_a_set_another_process_is_writing_is_refused_and_left_as_it_was(published, tmp_path, capsys):
    import socket
    import time

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        record = {"host": socket.gethostname(), "pid": holder.pid, "command": "wit-builder shard",
                  "started": time.time(), "heartbeat": time.time()}  # fmt: skip
        (published / "_LOCK").write_text(json.dumps(record))
        before = snapshot(published)
        uid = index_rows(published)["000000.parquet"][0]["uid"]
        argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [uid]), "--reason", "r"]
        assert main(argv) == 2
        assert f"is in use by wit-builder shard (pid {holder.pid}" in capsys.readouterr().err
        assert snapshot(published) == before
    finally:
        holder.kill()
        holder.wait()


def test_every_count_of_the_set_is_the_one_after_the_takedown(shard_dir, tmp_path):
    """The shard stage's stats.json, its per-query report and its page say what the set holds
    now, as the manifest does: the samples taken down are ``taken_down``, not still "written"."""
    published = tmp_path / "set"
    shutil.copytree(shard_dir, published)
    before = json.loads((published / "stats.json").read_text())
    kept_before = sum(pq.read_table(published / "report" / "balance.parquet").column("kept").to_pylist())
    rows = index_rows(published)["000002.parquet"][:3]
    argv = ["takedown", str(published), "--uids", request(tmp_path, "u.txt", [r["uid"] for r in rows]), "--reason", "r"]
    assert main(argv) == 0
    stats = json.loads((published / "stats.json").read_text())
    manifest = json.loads((published / "manifest.json").read_text())
    assert stats["written"] == manifest["totals"]["samples"] == before["written"] - 3
    assert "kept" not in stats  # the shard stage's own names; the balance page translates them
    assert stats["rejected"]["taken_down"] == before["rejected"]["taken_down"] + 3 and stats["adds_up"]
    assert stats["samples_in"] == stats["written"] + stats["capped"] + sum(stats["rejected"].values())
    kept = pq.read_table(published / "report" / "balance.parquet").column("kept").to_pylist()
    assert sum(kept) == kept_before - sum(len(r["matches"]) for r in rows)
    page = (published / "report" / "balance.html").read_text()
    assert f"{stats['written']:,}" in page and f"taken down {stats['rejected']['taken_down']:,}" in page
    assert main(argv) == 0  # the same request again: nothing left to remove, every count as it was
    assert json.loads((published / "stats.json").read_text()) == stats
