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
    done = iter(range(100))
    stream = io.StringIO()
    with live_progress("balance", Progress("files balanced", 100, lambda: next(done)), every=0.02, stream=stream):
        time.sleep(0.2)
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3 and all(line.startswith("[balance] ") and "/100 files balanced" in line for line in lines)
    time.sleep(0.1)
    assert stream.getvalue().splitlines() == lines
