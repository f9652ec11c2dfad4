"""Nothing lost, nothing deleted: the data-safety matrix.

Each case is a way real users and real data meet the stages: a file kept in a stage's folder
when ``--from`` or a changed setting empties it, a file added to the input folder between two
runs, an ``--out`` nested with an input, two runs on one folder, one folder spelled two ways.
Each must end with the user's files untouched, every input accounted for, or one line saying
why the command refused.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit_builder.chain import run_chain
from wit_builder.cli import main
from wit_builder.harvest.normalise import url_uid
from wit_builder.schemas import table_from_rows, write_table
from wit_builder.stage_settings import format_toml


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def chain_config(world) -> dict:
    return {
        "queries": {"wiki_dump": world.wiki_dump_glob, "wordnet": str(world.wordnet_dir), "min_bigram_pmi": 12},
        "harvest": {"pairs": str(world.pairs_dir / "*")},
        "shard": {"samples_per_shard": 50},
    }


@pytest.fixture(scope="module")
def finished_run(small_world_dir, tmp_path_factory):
    """A run of the offline world (its download refuses every loopback URL; shard finds nothing)."""
    root = tmp_path_factory.mktemp("safety")
    config = chain_config(small_world_dir)
    run_chain(config, str(root / "run"))
    return config, root / "run"


@pytest.fixture
def run(finished_run, tmp_path):
    config, source = finished_run
    target = tmp_path / "run"
    shutil.copytree(source, target)
    path = tmp_path / "config.toml"
    path.write_text(format_toml({"out": str(target), **config}))
    return path, target


def everything(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


# --- a user's file in a stage's folder -----------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "name", "argv"),
    [
        ("harvest", "notes.txt", ["--from", "queries"]),
        ("download", "samples/mine.parquet", ["--from", "download"]),
        ("download", "kept/notes.txt", ["--from", "harvest"]),
        ("balance", "report/mine.html", []),  # not --from: the balance settings change (below)
    ],
)
def test_a_run_that_would_empty_a_folder_holding_a_users_file_refuses_and_removes_nothing(
    run, stage, name, argv, capsys
):
    config, out = run
    if not argv:  # a changed setting changes the stage's key, and every later stage's
        text = config.read_text().replace("[balance]\n", "[balance]\nper_query = 3\n")
        config.write_text(text if "per_query = 3" in text else text + "\n[balance]\nper_query = 3\n")
    user_file = out / stage / name
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text("mine")
    before = everything(out)
    assert main(["run", "--config", str(config), *argv]) == 2
    err = one_line(capsys)
    assert f"{out / stage} holds {name.split('/')[0]}" in err and "which the" in err
    assert everything(out) == before  # not one file removed or rewritten


def test_a_standalone_stage_refuses_to_replace_a_folder_holding_a_users_file(run, tmp_path, capsys):
    _, out = run
    (out / "harvest" / "candidates" / "keep.parquet").write_bytes(b"my own")
    argv = ["harvest", "--queries", str(out / "queries"), "--pairs", str(tmp_path / "pairs.tsv")]
    (tmp_path / "pairs.tsv").write_text("url\tcaption\nhttp://a.test/1.jpg\tred circle\n")
    assert main([*argv, "--out", str(out / "harvest")]) == 2
    assert "candidates/keep.parquet" in one_line(capsys)
    assert (out / "harvest" / "candidates" / "keep.parquet").read_bytes() == b"my own"


def test_an_unclaimed_folder_holding_files_named_like_the_stages_is_refused(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "000000.tar").write_bytes(b"someone else's shard")
    samples = tmp_path / "download" / "samples"
    samples.mkdir(parents=True)
    write_table(table_from_rows([], "samples"), str(samples / "part-0000-0000-000000000000.parquet"), "samples")
    assert main(["shard", "--samples", str(tmp_path / "download"), "--out", str(mine)]) == 2
    assert (
        "already holds 000000.tar" in one_line(capsys) and (mine / "000000.tar").read_bytes() == b"someone else's shard"
    )


# --- inputs added between runs -------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_pairs(small_world, served_world, tmp_path_factory):
    """Three balanced files of real images on the served web, 24 pairs each; some images are
    byte-identical copies under another URL, so dedupe has work to do."""
    images = [i for i in small_world.catalog.images if i.fault is None and i.size_class == "normal"][:66]
    urls = [image.url(served_world.base_urls) for image in images]
    urls += [f"{url}?copy=1" for url in urls[:6]]
    folder = tmp_path_factory.mktemp("pairs")
    for index in range(3):
        rows = [
            {
                "uid": url_uid(url),
                "url": url,
                "text": f"image {n}",
                "page_url": None,
                "source": "test",
                "matches": ["image"],
            }
            for n, url in enumerate(urls[index * 24 : (index + 1) * 24])
        ]
        write_table(table_from_rows(rows, "balanced"), str(folder / f"part-{index:05d}.parquet"), "balanced")
    return folder


def statuses(out: Path) -> dict[str, str]:
    rows = pq.read_table(out / "status").to_pylist()
    assert len(rows) == len({row["uid"] for row in rows}), "a pair with two status rows"
    return {row["uid"]: row["status"] for row in rows}


FAST = ["--allow-private-network", "--read-timeout", "2", "--retries", "1", "--chunk-rows", "10"]


def download(pairs, out: Path, capsys) -> dict:
    assert main(["download", "--pairs", str(pairs), "--out", str(out), *FAST]) == 0, capsys.readouterr().err
    return json.loads((out / "stats.json").read_text())


def test_a_file_added_to_the_inputs_is_fetched_and_the_rest_resumed(web_pairs, tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    for name in ("part-00000.parquet", "part-00002.parquet"):
        shutil.copy(web_pairs / name, pairs / name)
    first = download(pairs, tmp_path / "out", capsys)
    assert first["adds_up"] and first["pairs_in"] == 48
    shutil.copy(web_pairs / "part-00001.parquet", pairs / "part-00001.parquet")  # sorts between the two
    again = download(pairs, tmp_path / "out", capsys)
    fresh = download(pairs, tmp_path / "fresh", capsys)
    assert again["chunks_resumed"] == first["chunks"] and again["chunks_fetched"] == 3  # the new file's chunks
    assert again["adds_up"] and again["pairs_in"] == again["status_rows"] == 72
    assert statuses(tmp_path / "out") == statuses(tmp_path / "fresh")  # as if run on all three at once
    assert again["statuses"] == fresh["statuses"] and again["statuses"].get("duplicate") == 6


def test_the_inputs_spelled_another_way_resume_every_chunk(web_pairs, tmp_path, capsys, monkeypatch):
    first = download(web_pairs, tmp_path / "out", capsys)
    monkeypatch.chdir(web_pairs.parent)
    again = download(Path(web_pairs.name) / ".." / web_pairs.name, Path(os.path.relpath(tmp_path / "out")), capsys)
    assert again["chunks_resumed"] == first["chunks"] and again["chunks_fetched"] == 0


def test_adds_up_catches_a_status_row_gone_missing(web_pairs, tmp_path, capsys):
    download(web_pairs, tmp_path / "out", capsys)
    work = sorted((tmp_path / "out" / "work" / "outcomes").glob("*.parquet"))[0]
    table = pq.read_table(work)
    pq.write_table(table.slice(1), work)  # a resumed chunk now accounts for one pair fewer
    again = download(web_pairs, tmp_path / "out", capsys)
    assert not again["adds_up"] and again["status_rows"] == again["pairs_in"] - 1


def test_adds_up_counts_the_inputs_not_the_outputs_in_every_stage(run):
    _, out = run
    for stage, given, accounted in (
        ("harvest", "pairs_read", lambda s: s["kept"] + sum(s["dropped"].values())),
        ("balance", "pairs_in", lambda s: s["kept"] + sum(s["dropped"].values())),
        ("download", "pairs_in", lambda s: s["status_rows"] + s["unreadable_rows"]),
    ):
        stats = json.loads((out / stage / "stats.json").read_text())
        assert stats["adds_up"] and stats[given] == accounted(stats) > 0, stage
    rows_in = sum(pq.ParquetFile(p).metadata.num_rows for p in (out / "balance" / "balanced").glob("*.parquet"))
    assert json.loads((out / "download" / "stats.json").read_text())["pairs_in"] == rows_in


# --- an --out nested with an input ---------------------------------------------------------------

NESTING = [
    ("queries", "--wiki-dump", "dump.xml", []),
    ("harvest", "--pairs", "pairs.tsv", ["--queries", "{q}"]),
    ("balance", "--candidates", "candidates.parquet", []),
    ("download", "--pairs", "pairs.parquet", []),
    ("embed", "--samples", "samples.parquet", ["--model", "/no/model.pt"]),
    ("curate", "--embeddings", "embeddings.parquet", []),
    ("shard", "--samples", "samples.parquet", []),
    ("tokenizer", "--input", "captions.parquet", []),
]


@pytest.mark.parametrize("direction", ["out-inside-input", "input-inside-out"])
@pytest.mark.parametrize(("stage", "flag", "name", "extra"), NESTING, ids=[n[0] for n in NESTING])
def test_an_out_nested_with_an_input_is_refused(stage, flag, name, extra, direction, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / name).write_bytes(b"x")
    (tmp_path / "q.txt").write_text("red circle\n")
    out = data / "out" if direction == "out-inside-input" else tmp_path
    given = str(data) if direction == "out-inside-input" else str(data / name)
    argv = [stage, flag, given, *(a.format(q=tmp_path.parent / "q.txt") for a in extra), "--out", str(out)]
    assert main(argv) == 2
    err = one_line(capsys)
    assert "--out" in err and flag in err and "inside" in err
    assert not (data / "out").exists() and sorted(p.name for p in data.iterdir()) == [name]


def test_a_run_twice_into_a_folder_inside_its_input_finds_no_phantom_inputs(web_pairs, tmp_path, capsys):
    """The probe's case: download --pairs DIR --out DIR/dl, run twice, read its own samples."""
    pairs = tmp_path / "pairs"
    shutil.copytree(web_pairs, pairs)
    for _ in range(2):
        assert main(["download", "--pairs", str(pairs), "--out", str(pairs / "dl"), *FAST]) == 2
        assert "inside --pairs" in one_line(capsys)
    assert not (pairs / "dl").exists()


# --- two runs on one folder ----------------------------------------------------------------------


def write_lock(folder: Path, pid: int, host: str, heartbeat: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    record = {"host": host, "pid": pid, "command": "wit-builder run", "started": heartbeat, "heartbeat": heartbeat}
    (folder / "_LOCK").write_text(json.dumps(record))


def test_a_folder_locked_by_a_live_process_is_refused_naming_the_holder(run, capsys):
    config, out = run
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(out, holder.pid, socket.gethostname(), time.time())
        assert main(["run", "--config", str(config)]) == 2
        err = one_line(capsys)
        assert f"is in use by wit-builder run (pid {holder.pid} on {socket.gethostname()}" in err
        assert json.loads((out / "_LOCK").read_text())["pid"] == holder.pid  # left as it was
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_from_another_host_is_honoured_until_its_heartbeat_is_stale(run, capsys):
    config, out = run
    write_lock(out, 1, "another-host", time.time())
    assert main(["run", "--config", str(config)]) == 2
    assert "pid 1 on another-host" in one_line(capsys)
    write_lock(out, 1, "another-host", time.time() - 3600)  # no heartbeat for an hour: gone
    main(["run", "--config", str(config)])
    assert "taking over the stale lock" in capsys.readouterr().err and not (out / "_LOCK").exists()


def test_a_lock_left_by_a_killed_run_is_taken_over(run, capsys):
    config, out = run
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lock(out, dead.pid, socket.gethostname(), time.time())
    main(["run", "--config", str(config)])
    err = capsys.readouterr().err
    assert f"taking over the stale lock of {out}" in err and not (out / "_LOCK").exists()


def test_a_stage_command_into_a_locked_run_folder_is_refused(run, capsys):
    _, out = run
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(out, holder.pid, socket.gethostname(), time.time())
        argv = ["balance", "--candidates", str(out / "harvest"), "--out", str(out / "balance")]
        assert main(argv) == 2
        assert f"--out is inside {out} is in use by" in one_line(capsys)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    ("stage", "argv", "holder_host"),
    [
        ("download", ["--from", "download"], "here"),  # a standalone download writing RUN/download
        ("shard", ["--from", "shard"], "another-host"),  # a live command elsewhere, fresh heartbeat
        ("harvest", ["--from", "queries"], "here"),  # a later stage's folder, locked before any is emptied
    ],
)
def test_a_run_touches_no_stage_folder_another_command_holds(run, capsys, stage, argv, holder_host):
    config, out = run
    folder = out / stage
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = socket.gethostname() if holder_host == "here" else holder_host
        write_lock(folder, holder.pid, host, time.time())
        before = everything(out)
        claim_before = (out / "_STAGE").read_bytes()
        assert main(["run", "--config", str(config), *argv]) == 2
        err = one_line(capsys)
        assert f"{folder} is in use by wit-builder run (pid {holder.pid} on {host}" in err
        assert everything(out) == before  # not one file removed, added or rewritten, anywhere in the run
        assert (out / "_STAGE").read_bytes() == claim_before
    finally:
        holder.kill()
        holder.wait()


def test_a_refused_stage_command_leaves_no_trace(run, capsys):
    """A command refused because another holds the folder (or the folder above it) creates
    nothing: no folder, no ``_STAGE`` claim."""
    _, out = run
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_lock(out, holder.pid, socket.gethostname(), time.time())
        target = out / "balance-again"
        argv = ["balance", "--candidates", str(out / "harvest"), "--out", str(target)]
        assert main(argv) == 2
        assert "is in use by" in one_line(capsys)
        assert not target.exists()
        mine = out.parent / "mine"
        write_lock(mine, holder.pid, socket.gethostname(), time.time())
        assert main(["balance", "--candidates", str(out / "harvest"), "--out", str(mine)]) == 2
        assert "is in use by" in one_line(capsys)
        assert sorted(p.name for p in mine.iterdir()) == ["_LOCK"]
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_two_runs_started_together_one_works_the_other_refuses(run):
    config, out = run
    command = [sys.executable, "-m", "wit_builder.cli", "run", "--config", str(config), "--from", "balance"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "_LOCK").exists():
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = subprocess.run(command, capture_output=True, text=True, timeout=120)
    first_err = first.communicate(timeout=300)[1]
    assert second.returncode == 2 and f"is in use by wit-builder run (pid {first.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert first.returncode == 1 and "FileNotFoundError" not in first_err  # shard finds nothing offline
    assert json.loads((out / "balance" / "_SUCCESS").read_text())["key"]


# --- one folder, two spellings -------------------------------------------------------------------


def test_the_run_folder_spelled_another_way_is_up_to_date(run, capsys, monkeypatch):
    config, out = run
    monkeypatch.chdir(out.parent)
    results = run_chain(json_config(config), "run")  # relative, where it was absolute
    assert [r.outcome for r in results[:3]] == ["up to date"] * 3  # download, offline, fails: runs again
    results = run_chain(json_config(config), f"./{out.name}/../{out.name}/")
    assert [r.outcome for r in results[:3]] == ["up to date"] * 3


def json_config(path: Path) -> dict:
    import tomllib

    config = tomllib.loads(path.read_text())
    config.pop("out")
    return config
