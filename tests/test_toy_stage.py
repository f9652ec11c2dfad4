"""A new stage is one module plus one registry entry: a toy stage registered here, as a
contributor would add one, shows up in ``wit-builder --help``, runs inside ``run --config``,
resumes after a crash, is recognised by its folder mark, and has its section in the run report.
Nothing else in the project names it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wit_builder import stages
from wit_builder.cli import main
from wit_builder.stage_settings import Settings, format_toml, option

CRASH_ONCE = "crash-once"  # a file beside the run folder: the toy stage dies once, half done


@dataclass(frozen=True, kw_only=True)
class WordsSettings(Settings):
    """``wit-builder words``: the most common caption words of the balanced pairs."""

    pairs: tuple[str, ...] = option(metavar="PATH", role="input", help="a balance folder")
    out: str = option(metavar="DIR", role="out", help="writes words.json and stats.json")
    top: int = option(5, metavar="N", help="how many words to keep", low=1, high=1000)


def run(settings: WordsSettings, beam_args: Sequence[str] = ()) -> int:
    """The whole stage: the balanced captions' words counted, the top ones written."""
    import pyarrow.parquet as pq

    from wit_builder.io.stage_folders import check_out, input_files

    source = stages.main_input("words")
    files = input_files("--pairs", settings.pairs, source.name, source.data)
    check_out(settings.out, "words")
    out = Path(settings.out)
    partial = out / "words.json.partial"
    resumed = partial.exists()
    crash = out.parent.parent / CRASH_ONCE
    if crash.exists():
        crash.unlink()
        partial.write_text("{}")
        raise RuntimeError("the toy stage died half-way")
    words = Counter(
        word
        for path in files
        for text in pq.read_table(path, columns=["text"])["text"].to_pylist()
        for word in text.lower().split()
    )
    partial.unlink(missing_ok=True)
    (out / "words.json").write_text(json.dumps(dict(words.most_common(settings.top))))
    (out / "stats.json").write_text(json.dumps({"files": len(files), "words": sum(words.values()), "resumed": resumed}))
    return 0


def report_section(run_dir: str, stats: Mapping[str, Any]) -> str | None:
    if stats["words"] is None:
        return None
    top = json.loads(Path(run_dir, "words", "words.json").read_text())
    return f"<p>{stats['words']['words']} words; the most common: {', '.join(top)}</p>"


WORDS = stages.Stage(
    "words",
    "count the words of the balanced captions",
    f"{__name__}:WordsSettings",
    f"{__name__}:run",
    marks=("words.json",),
    outputs=(r"words\.json", r"stats\.json"),
    reads={"pairs": "balance"},
    report=("Caption words", f"{__name__}:report_section"),
    takes_beam_flags=False,
)


@pytest.fixture
def words_stage():
    with stages.registered(WORDS, after="balance") as stage:
        yield stage


def _config(world, run: Path, top: int) -> Path:
    config = {
        "out": str(run),
        "queries": {"wiki_dump": world.wiki_dump_glob, "wordnet": str(world.wordnet_dir), "min_bigram_pmi": 12},
        "harvest": {"pairs": str(world.pairs_dir / "*")},
        "words": {"top": top},
        "download": {"allow_private_network": True, "read_timeout": 2.0},
    }
    path = run.parent / f"config-{top}.toml"
    path.write_text(format_toml(config))
    return path


def test_a_registered_stage_is_a_command_with_its_flags(words_stage, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "  words      count the words of the balanced captions" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["words", "--help"])
    assert "--top N" in capsys.readouterr().out


def test_a_stage_not_registered_is_no_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "words" not in capsys.readouterr().out


def test_registering_checks_the_order():
    with pytest.raises(ValueError, match="reads 'balance', which does not run before it"):
        stages.register(WORDS, after="queries")
    with pytest.raises(ValueError, match="registered already"):
        stages.register(stages.get("shard"))
    assert "words" not in stages.names()


@pytest.mark.slow
def test_a_toy_stage_runs_resumes_is_recognised_and_reported(words_stage, tmp_path, small_world, served_world, capsys):
    from wit_builder.io.stage_folders import stage_of

    world = small_world.write(tmp_path / "world", served_world.base_urls)
    run = tmp_path / "run"
    (tmp_path / CRASH_ONCE).touch()
    assert main(["run", "--config", str(_config(world, run, top=5))]) == 1  # the toy stage died
    printed = capsys.readouterr()
    assert "wit-builder run: words: RuntimeError: the toy stage died half-way" in printed.err
    assert "[run] words (4/8): starting" in printed.out

    assert main(["run", "--config", str(_config(world, run, top=5))]) == 0
    printed = capsys.readouterr().out
    assert "[run] balance: up to date" in printed and "[run] words (4/8): resuming" in printed
    assert json.loads((run / "words" / "stats.json").read_text())["resumed"]
    assert len(json.loads((run / "words" / "words.json").read_text())) == 5
    assert stage_of(str(run / "words")) == ("words", "words.json")
    assert main(["download", "--pairs", str(run / "words"), "--out", str(tmp_path / "d")]) == 2
    assert "holds the words stage's output (words.json)" in capsys.readouterr().err

    page = (run / "report" / "index.html").read_text()
    assert "<h2>Caption words</h2>" in page and "the most common:" in page
    assert page.index("Caption words") < page.index("<h2>Download</h2>")  # in chain order

    assert main(["run", "--config", str(_config(world, run, top=3))]) == 0  # a changed setting
    printed = capsys.readouterr().out
    assert "[run] balance: up to date" in printed and "[run] words (4/8): starting" in printed
    assert "[run] download: up to date" in printed  # download reads balance, not words
    assert len(json.loads((run / "words" / "words.json").read_text())) == 3


def test_a_registered_stage_is_in_the_plan(tmp_path, capsys):
    """``run --plan`` is derived from the registry: a registered stage without an estimate is
    named as not estimated; with one (and its rates), it is a row fed by the stage it reads."""
    import dataclasses

    from wit_builder.chain import chain_settings
    from wit_builder.plan import load_rates, plan_run

    dump = tmp_path / "enwiki-1.xml.bz2"
    dump.write_bytes(b"x" * 100_000)
    config = tmp_path / "run.toml"
    config.write_text(f'out = "{tmp_path / "run"}"\n[queries]\nwiki_dump = "{dump}"\n')
    with stages.registered(WORDS, after="balance"):
        assert main(["run", "--config", str(config), "--plan"]) == 0
    assert "not estimated: words (its registry entry names no estimate)" in capsys.readouterr().out

    rates = load_rates()
    rates["stages"]["words"] = {"unit": "pair", "fixed_seconds": 0.1, "units_per_core_second": 1000,
                                "out_per_unit": 0.01, "bytes_per_out": 10}  # fmt: skip
    (tmp_path / "rates.json").write_text(json.dumps(rates))
    estimated = dataclasses.replace(WORDS, estimate="wit_builder.plan:upstream_work")
    with stages.registered(estimated, after="balance"):
        assert main(["run", "--config", str(config), "--plan", "--rates", str(tmp_path / "rates.json")]) == 0
        out = capsys.readouterr().out
        settings = chain_settings({"queries": {"wiki_dump": str(dump)}}, str(tmp_path / "run"))
        plan = {e.stage: e for e in plan_run(settings, rates)}
    assert any(line.split()[:1] == ["words"] for line in out.splitlines()) and "not estimated: words" not in out
    assert list(plan) == ["queries", "harvest", "balance", "words", "download", "shard"]
    assert plan["words"].units_in == plan["balance"].units_out  # it reads balance
    assert plan["download"].units_in == plan["balance"].units_out  # download reads balance, not words
