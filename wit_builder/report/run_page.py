"""``RUN/report/index.html``: one page an auditor opens offline to see what a run collected and why.

It reads only what the stages wrote (each stage's ``stats.json``, the download's ``status/``
files, the shard manifest, the trainer's ``metrics.jsonl`` and ``eval.json``), so
``wit-builder report RUN`` rebuilds it at any time. A stage that has not run is shown as such.
The balance stage's own pages (before download, and the shard stage's after download) are
linked, not copied. Each stage's section is its own (``report.sections``), named by its
entry in ``wit_builder.stages``.
"""

from __future__ import annotations

from html import escape
from typing import Any

import fsspec

from wit_builder import stages
from wit_builder.io.json_files import read_json
from wit_builder.report.balance import STYLE, html_table


def _read_json(path: str) -> Any | None:
    filesystem, _ = fsspec.core.url_to_fs(path)
    return read_json(path) if filesystem.isfile(path) else None


def _missing(stage: str) -> str:
    return f'<p class="note">The {stage} stage has not run in this folder.</p>'


def render_run_report(run_dir: str) -> str:
    run_dir = run_dir.rstrip("/")
    chain = stages.chain()
    stats = {stage.name: _read_json(f"{run_dir}/{stage.name}/stats.json") for stage in chain}
    done = {stage.name for stage in chain if _read_json(f"{run_dir}/{stage.name}/_SUCCESS") is not None}
    stage_rows = [
        [escape(stage.name), "finished" if stage.name in done else ("output present" if stats[stage.name] else "—")]
        for stage in chain
    ]
    sections = [("Stages", html_table(["stage", "state"], stage_rows, set()))]
    for stage in chain:
        if section := stage.report_section():
            html = section(run_dir, stats)
            sections.append((stage.report[0], _missing(stage.name) if html is None else html))
    body = "\n".join(f"<h2>{escape(title)}</h2>\n{html}" for title, html in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>wit-builder run: {escape(run_dir)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>wit-builder run</h1>
<p class="lede">{escape(run_dir)}: what each stage read, kept and dropped, and why.</p>
{body}
</body></html>
"""


def write_run_report(run_dir: str) -> str:
    """Write ``RUN/report/index.html``; returns its path."""
    run_dir = run_dir.rstrip("/")
    path = f"{run_dir}/report/index.html"
    filesystem, _ = fsspec.core.url_to_fs(path)
    filesystem.makedirs(f"{run_dir}/report", exist_ok=True)
    with fsspec.open(path, "wt", encoding="utf-8") as handle:
        handle.write(render_run_report(run_dir))
    return path
