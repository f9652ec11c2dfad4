"""``RUN/report/index.html``: one page an auditor opens offline to see what a run collected and why.

It reads only what the stages wrote (each stage's ``stats.json``, the download's ``status/``
files, the shard manifest, the trainer's ``metrics.jsonl`` and ``eval.json``), so
``wit-builder report RUN`` rebuilds it at any time. A stage that has not run is shown as such.
The balance stage's own pages (before download, and the shard stage's after download) are
linked, not copied. Each stage's section is its own (``report.sections``), named by its
entry in ``wit_builder.stages``.
"""

from __future__ import annotations

import fsspec

from wit_builder import stages
from wit_builder.atomic import write_atomically
from wit_builder.io.json_files import read_json_if_present
from wit_builder.report.stage_states import stage_states
from wit_builder.report.templating import Markup, render, style


def stats_schema(stage: str) -> str | None:
    """The document schema of ``stage``'s stats.json (``stats.harvest``), when it has one."""
    from wit_builder.schemas import document_names

    return f"stats.{stage}" if f"stats.{stage}" in document_names() else None


def render_run_report(run_dir: str) -> str:
    run_dir = run_dir.rstrip("/")
    chain = stages.chain()
    states = stage_states(run_dir)
    stats = {  # a stage's figures only when its files are what its key says: finished, and not stale
        stage.name: read_json_if_present(f"{run_dir}/{stage.name}/stats.json", stats_schema(stage.name))
        if states[stage.name].shown
        else None
        for stage in chain
    }
    reported = [stage for stage in chain if stage.report]
    return render(
        "run.html.j2",
        title=f"wit-builder run: {run_dir}",
        style=Markup(style()),
        run_dir=run_dir,
        stage_rows=[
            [
                stage.name,
                states[stage.name].state,
                "—" if states[stage.name].seconds is None else f"{states[stage.name].seconds:,.1f}",
                states[stage.name].why,
            ]
            for stage in chain
        ],
        sections=[
            (title, _html(section(run_dir, stats)) if states[stage.name].shown else None, states[stage.name])
            for stage in reported
            for title, section in stage.report_sections()
        ],
    )


def _html(section: str | None) -> Markup | None:
    return None if section is None else Markup(section)


def write_run_report(run_dir: str) -> str:
    """Write ``RUN/report/index.html``; returns its path."""
    run_dir = run_dir.rstrip("/")
    path = f"{run_dir}/report/index.html"
    filesystem, _ = fsspec.core.url_to_fs(path)
    filesystem.makedirs(f"{run_dir}/report", exist_ok=True)
    write_atomically(path, render_run_report(run_dir))
    return path
