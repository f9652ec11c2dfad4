"""``RUN/report/index.html``: built from the stages' own files, honest about what has not run."""

from __future__ import annotations

import json

from wit_builder.cli import main
from wit_builder.report.run_page import render_run_report


def test_a_run_with_only_the_query_list_says_the_rest_has_not_run(tmp_path):
    (tmp_path / "queries").mkdir()
    stats = {"queries_per_source": {"unigram": 5, "title": 2}, "queries": 7, "counts": {"articles": 3},
             "overlap_removed": {"unigram": 1}}  # fmt: skip
    (tmp_path / "queries" / "stats.json").write_text(json.dumps(stats))
    page = render_run_report(str(tmp_path))
    assert "7 queries from 3 articles" in page and "1 duplicate across sources removed" in page
    for stage in ("harvest", "balance", "download", "shard", "train"):
        assert f"The {stage} stage has not run in this folder." in page
    assert "<svg" in page and "http" not in page.split("<body>")[1].replace("http://www.w3.org/2000/svg", "")


def test_report_command_rebuilds_the_run_page(tmp_path, capsys):
    (tmp_path / "queries").mkdir()
    stats = {"queries_per_source": {"unigram": 5}, "queries": 5, "counts": {}, "overlap_removed": 0}
    (tmp_path / "queries" / "stats.json").write_text(json.dumps(stats))
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report" / "index.html").exists()
    assert str(tmp_path / "report" / "index.html") in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nothing")]) == 2


def test_the_templates_ship_with_the_package_and_refuse_a_missing_value():
    """Pages are rendered from templates inside the package (so an installed worker has them),
    and a value a template names but the page does not give is an error, never a blank."""
    from pathlib import Path

    import jinja2
    import pytest
    import tomllib

    from wit_builder.report.templating import render

    root = Path(__file__).resolve().parents[2]
    shipped = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    folder = root / "wit_builder" / "report"
    templates = {str(p.relative_to(folder)) for p in (folder / "templates").rglob("*") if p.is_file()}
    patterns = shipped["wit_builder.report"]
    assert all(any(Path(t).match(pattern) for pattern in patterns) for t in templates), templates
    with pytest.raises(jinja2.UndefinedError):
        render("sections/shard.html.j2", rows=[])


def test_the_download_section_counts_opt_outs_by_signal_and_host(tmp_path):
    from wit_builder.schemas import table_from_rows, write_table

    (tmp_path / "download" / "status").mkdir(parents=True)
    errors = {  # url: (signal, evidence), as download writes them
        "http://a.example/1.jpg": ("robots", "robots.txt http://a.example/robots.txt: Disallow: /"),
        "http://a.example/2.jpg": ("robots", "robots.txt http://a.example/robots.txt: Disallow: /"),
        "http://b.example/1.jpg": ("x-robots-tag", "X-Robots-Tag: noai"),
    }
    rows = [
        {"uid": f"u{k}", "url": url, "status": "opted_out", "http_status": None, "error": evidence,
         "duplicate_of": None, "signal": signal, "evidence": evidence}
        for k, (url, (signal, evidence)) in enumerate(errors.items())
    ]  # fmt: skip
    rows.append(
        {
            "uid": "u9",
            "url": "http://b.example/2.jpg",
            "status": "ok",
            "http_status": 200,
            "error": None,
            "duplicate_of": None,
        }
    )
    write_table(table_from_rows(rows, "status"), str(tmp_path / "download" / "status" / "p.parquet"), "status")
    stats = {
        "ok": 1,
        "pairs_in": 4,
        "adds_up": True,
        "statuses": {"ok": 1, "opted_out": 3},
        "opt_out": {
            "honoured": ["robots", "x-robots-tag"],
            "ignored": ["ai-txt"],
            "opted_out_by_signal": {"robots": 2, "x-robots-tag": 1},
            "host_files_fetched": {"robots.txt": {"read": 2}},
        },
    }
    (tmp_path / "download" / "stats.json").write_text(json.dumps(stats))
    page = render_run_report(str(tmp_path))
    assert "Signals honoured: robots, x-robots-tag; ignored on request: ai-txt." in page
    assert "the signals below account for every one" in page
    assert '<td class="">a.example</td><td class="num">2</td><td class="">robots</td>' in page
    assert '<td class="">b.example</td><td class="num">1</td><td class="">x-robots-tag</td>' in page


def test_the_training_section_shows_the_balancing_comparison_when_it_was_measured(tmp_path):
    """benchmarks/bench_online_balance.py writes RUN/online_balance_proof.json; the training
    section shows its means, difference and spread, and nothing when the file is absent or
    not of its shape."""
    from wit_builder.report.sections import train

    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 2.0}) + "\n")
    assert "Online against offline balancing" not in train(str(tmp_path), {})
    document = {
        "per_query": 5, "steps": 200, "seeds": [0, 1, 2], "val_sets": 5,
        "coverage": {"offline": {"samples_per_epoch": 215.0, "distinct_pairs_drawn_from": 215},
                     "online": {"samples_per_epoch": 221.4, "distinct_pairs_drawn_from": 402}},
        "summary": {"image_to_text_R@1": {"offline_mean": 0.021, "online_mean": 0.025, "difference_mean": 0.004,
                                          "seed_spread": 0.003}},
    }  # fmt: skip
    (tmp_path / "online_balance_proof.json").write_text(json.dumps(document))
    html = train(str(tmp_path), {})
    assert "Online against offline balancing" in html and "+0.004" in html and "221.4" in html and "402" in html
    (tmp_path / "online_balance_proof.json").write_text("[1, 2]")
    assert "Online against offline balancing" not in train(str(tmp_path), {})
