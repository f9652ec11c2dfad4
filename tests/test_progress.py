"""The live progress line: units done, rate, ETA, from what the stage has committed to its folder."""

from __future__ import annotations

import io
import time

from wit_builder.progress import Progress, files_in, live_progress, progress_line


def test_the_line_says_done_rate_and_eta():
    progress = Progress("chunks fetched", 8, lambda: 0)
    assert progress_line("download", progress, 2, 4.0) == "[download] 2/8 chunks fetched (25%), 0.50/s, eta 12s"
    assert progress_line("download", progress, 8, 4.0) == "[download] 8/8 chunks fetched (100%), 2.00/s"
    assert progress_line("queries", None, 0, 61.2) == "[queries] running for 61s"


def test_files_in_counts_finished_outputs(tmp_path):
    count = files_in(f"{tmp_path}/work/*.parquet")
    assert count() == 0
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "a.parquet").write_bytes(b"")
    (tmp_path / "work" / "b.parquet.partial").write_bytes(b"")
    assert count() == 1


def test_lines_come_while_the_work_runs_and_stop_after():
    """Waits for the lines rather than for a time: on a busy machine the thread may be late."""
    done = iter(range(100))
    stream = io.StringIO()
    with live_progress("balance", Progress("files balanced", 100, lambda: next(done)), every=0.02, stream=stream):
        deadline = time.monotonic() + 120
        while len(stream.getvalue().splitlines()) < 3:
            assert time.monotonic() < deadline, "no progress line in two minutes"
            time.sleep(0.01)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("[balance] ") and "/100 files balanced" in line for line in lines)
    time.sleep(0.1)  # the thread has been joined: nothing more can come
    assert stream.getvalue().splitlines() == lines


def test_a_stage_shows_progress_on_stdout_under_its_own_name(tmp_path, capsys, monkeypatch):
    """The label is the stage's name whatever --out is called, and progress never reaches
    stderr, which holds only what went wrong (one line when a stage fails)."""
    import pyarrow.parquet as pq

    from wit_builder import progress
    from wit_builder.cli import main

    monkeypatch.setattr(progress, "PROGRESS_EVERY", 0.001)
    candidates = tmp_path / "harvest" / "candidates"
    candidates.mkdir(parents=True)
    rows = [{"uid": f"u{k}", "url": f"http://x/{k}.jpg", "text": "a red circle", "page_url": None, "source": "s",
             "matches": ["red circle"]} for k in range(50)]  # fmt: skip
    from wit_builder.schemas import table_from_rows

    pq.write_table(table_from_rows(rows, "candidates"), candidates / "part-00000.parquet")
    assert main(["balance", "--candidates", str(tmp_path / "harvest"), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "[balance] " in captured.out and "files balanced" in captured.out and "[out]" not in captured.out
    assert "files balanced" not in captured.err and "[out]" not in captured.err
