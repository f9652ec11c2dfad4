"""What a folder holds: the checks every stage runs on its inputs and --out before any work."""

from __future__ import annotations

import fsspec
import pytest

from wit_builder.errors import UsageError
from wit_builder.io.stage_folders import check_out, input_files, is_run_folder, stage_of


def test_a_stage_may_write_again_into_its_own_folder(tmp_path):
    (tmp_path / "balanced").mkdir()
    check_out(str(tmp_path), "balance")  # a re-run: its own output is replaced by the stage
    with pytest.raises(UsageError, match="holds the balance stage's output"):
        check_out(str(tmp_path), "download")
    assert not list(tmp_path.glob(".write-test-*"))  # the probe is removed


def test_a_run_folder_is_no_stage_folder_but_is_a_runs_out(tmp_path):
    (tmp_path / "harvest").mkdir()
    (tmp_path / "harvest" / "stats.json").write_text("{}")
    assert is_run_folder(str(tmp_path)) and stage_of(str(tmp_path)) is None
    with pytest.raises(UsageError, match=rf"is a run folder.*give the shard stage {tmp_path}/shard"):
        check_out(str(tmp_path), "shard")
    check_out(str(tmp_path), None)  # wit-builder run resumes in its own folder
    with pytest.raises(UsageError, match=r"is a run folder.*give its harvest folder"):
        input_files("--candidates", [str(tmp_path)], "harvest", "candidates")


def test_input_files_from_a_stage_folder_a_glob_and_named_files(tmp_path):
    (tmp_path / "h" / "candidates").mkdir(parents=True)
    for name in ("b.parquet", "a.parquet", "notes.txt"):
        (tmp_path / "h" / "candidates" / name).write_text("x")
    (tmp_path / "one.data").write_text("x")
    folder = input_files("--c", [str(tmp_path / "h")], "harvest", "candidates")
    assert [p.rsplit("/", 1)[-1] for p in folder] == ["a.parquet", "b.parquet"]
    assert input_files("--c", [str(tmp_path / "h" / "candidates" / "*.parquet")], "harvest", "candidates") == folder
    assert input_files("--c", [str(tmp_path / "one.data")], "harvest", "candidates") == [str(tmp_path / "one.data")]
    with pytest.raises(UsageError, match=r"\*\.jpg: matches no \.parquet file"):
        input_files("--c", [str(tmp_path / "*.jpg")], "harvest", "candidates")


def test_remote_paths_keep_their_protocol_and_are_checked_the_same():
    filesystem = fsspec.filesystem("memory")
    filesystem.pipe("memory://bucket/run/balance/balanced/part-0.parquet", b"x")
    (found,) = input_files("--pairs", ["memory://bucket/run/balance"], "balance", "balanced")
    assert found.startswith("memory://") and found.endswith("/bucket/run/balance/balanced/part-0.parquet")
    assert filesystem.exists(found)  # a path a worker can open as it is
    check_out("memory://bucket/run/download", "download")
    with pytest.raises(UsageError, match="holds the balance stage's output"):
        check_out("memory://bucket/run/balance", "download")
    with pytest.raises(UsageError, match="no such file or folder"):
        input_files("--pairs", ["memory://bucket/nowhere"], "balance", "balanced")
    filesystem.rm("memory://bucket", recursive=True)


def test_a_stage_claims_its_folder_and_removes_only_its_own_files(tmp_path):
    from wit_builder.io.stage_folders import claim, claimed_by, clear_outputs

    out = tmp_path / "download"
    (out / "samples").mkdir(parents=True)
    (out / "samples" / "part-00000-0000-0123456789ab.parquet").write_bytes(b"named like ours")
    with pytest.raises(UsageError, match="named like the download stage's files but not written by it"):
        claim(str(out), "download")  # unclaimed, and holding what looks like outputs: anyone's
    with pytest.raises(UsageError, match="in a folder the stage has not claimed"):
        clear_outputs(str(out), "download")
    assert (out / "samples" / "part-00000-0000-0123456789ab.parquet").exists()
    (out / "stats.json").write_text("{}")  # an earlier version's finished folder
    assert claimed_by(str(out)) == "download"
    claim(str(out), "download")
    (out / "samples" / "mine.parquet").write_bytes(b"a user's")
    with pytest.raises(UsageError, match=r"holds samples/mine\.parquet, which the download stage does not write"):
        clear_outputs(str(out), "download", within=("samples",))
    (out / "samples" / "mine.parquet").unlink()
    clear_outputs(str(out), "download", within=("samples",))
    assert not (out / "samples").exists() and (out / "_STAGE").exists() and (out / "stats.json").exists()
