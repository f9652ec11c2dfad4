"""Every command against every kind of bad input: one line naming the path and what was expected,
exit status 2 for a usage error and 1 for a failed run, and no traceback unless --debug.

Usage errors (2), found before any work: a missing path, an empty folder, another stage's folder,
an --out that cannot be written or holds another stage's output. Failed runs (1): inputs that
exist but none of which can be read (a corrupt file, a file with the wrong columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table


def write_queries_folder(folder: Path) -> Path:
    """What the queries stage leaves: queries.parquet, queries.txt, stats.json."""
    folder.mkdir(parents=True)
    row = {"query": "red circle", "source": "unigram", "score": 1.0, "occurrences": 1}
    write_table(table_from_rows([row], "queries"), str(folder / "queries.parquet"), "queries")
    (folder / "queries.txt").write_text("red circle\n")
    (folder / "stats.json").write_text("{}\n")
    return folder


def write_harvest_folder(folder: Path) -> Path:
    """What the harvest stage leaves: candidates/part-00000.parquet and stats.json."""
    (folder / "candidates").mkdir(parents=True)
    row = {"uid": "u0", "url": "http://127.0.0.1:9/0.jpg", "text": "a red circle", "page_url": None,
           "source": "mine", "matches": ["red circle"]}  # fmt: skip
    write_table(table_from_rows([row], "candidates"), str(folder / "candidates" / "part-00000.parquet"), "candidates")
    (folder / "stats.json").write_text("{}\n")
    return folder


def write_wrong_columns(path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"colour": ["red"], "size": [3]}), path)
    return path


@dataclass(frozen=True)
class Command:
    name: str
    flag: str | None  # the input flag under test (None: a positional argument)
    extra: tuple[str, ...] = ()  # other arguments it needs
    out: bool = True  # whether it takes --out
    corrupt_name: str = "bad.parquet"
    wrong_schema: str = "parquet"  # how a file with the wrong content is made

    def argv(self, tmp: Path, source: Path | str, out: Path | str | None = None) -> list[str]:
        given = [self.flag, str(source)] if self.flag else [str(source)]
        extra = [str(tmp / "list.txt") if arg == "{list}" else arg for arg in self.extra]
        outs = ["--out", str(out or tmp / "out")] if self.out else []
        return [self.name, *given, *extra, *outs]


COMMANDS = [
    Command("queries", "--wiki-dump", corrupt_name="bad.xml.bz2", wrong_schema="xml"),
    Command("harvest", "--pairs", ("--queries", "{list}"), wrong_schema="pairs"),
    Command("harvest", "--queries", ("--pairs", "{list}")),
    Command("balance", "--candidates"),
    Command("download", "--pairs"),
    # The samples are checked before the model is read: no model is needed to refuse them.
    Command("embed", "--samples", ("--model", "/no/model.pt")),
    Command("curate", "--embeddings"),
    Command("shard", "--samples"),
    Command("tokenizer", "--input"),
    Command("verify", None, out=False, corrupt_name="000000.tar", wrong_schema="tar"),
    Command("report", None, out=False, corrupt_name="bad.parquet", wrong_schema="report"),
    Command("run", "--config", corrupt_name="bad.toml", wrong_schema="toml"),
]
IDS = [f"{c.name}{c.flag or ''}" for c in COMMANDS]
WRITERS = [c for c in COMMANDS if c.out]
WRITER_IDS = [f"{c.name}{c.flag or ''}" for c in WRITERS]


@pytest.fixture
def tmp(tmp_path):
    (tmp_path / "list.txt").write_text("url\tcaption\nhttp://127.0.0.1:9/a.jpg\ta red circle\n")
    return tmp_path


def run(argv: list[str], capsys) -> tuple[int, list[str]]:
    status = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return status, [line for line in err.splitlines() if line.startswith("wit-builder ")]


def one_error(lines: list[str], *needles: str) -> str:
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_missing_path_is_a_usage_error(command, tmp, capsys):
    status, lines = run(command.argv(tmp, tmp / "nowhere"), capsys)
    assert status == 2
    one_error(lines, str(tmp / "nowhere"), "no such file or folder")


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_an_empty_folder_is_a_usage_error(command, tmp, capsys):
    (tmp / "empty").mkdir()
    status, lines = run(command.argv(tmp, tmp / "empty"), capsys)
    assert status == 2
    one_error(lines, str(tmp / "empty"), "holds no")


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_another_stages_folder_is_a_usage_error(command, tmp, capsys):
    other = write_harvest_folder(tmp / "harvest") if command.flag == "--wiki-dump" else None
    other = other or write_queries_folder(tmp / "queries")
    if command.name == "harvest" and command.flag == "--queries":
        other = write_harvest_folder(tmp / "harvest")
    status, lines = run(command.argv(tmp, other), capsys)
    assert status == 2
    stage = other.name
    one_error(lines, str(other), f"holds the {stage} stage's output")


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_corrupt_file_fails_the_run(command, tmp, capsys):
    source, named = corrupt_input(command, tmp)
    status, lines = run(command.argv(tmp, source), capsys)
    assert status == (2 if command.name == "run" else 1)  # a config that cannot be parsed is a usage error
    one_error(lines, str(named))


@pytest.mark.parametrize("command", COMMANDS, ids=IDS)
def test_a_file_of_the_wrong_schema_fails_the_run(command, tmp, capsys):
    source, named = wrong_schema_input(command, tmp)
    status, lines = run(command.argv(tmp, source), capsys)
    assert status == (2 if command.name == "run" else 1)
    one_error(lines, str(named))


@pytest.mark.parametrize("command", WRITERS, ids=WRITER_IDS)
def test_an_unwritable_out_is_a_usage_error(command, tmp, capsys):
    (tmp / "a-file").write_text("not a folder")
    out = tmp / "a-file" / "out"  # under a file: no one can write there, root included
    status, lines = run(command.argv(tmp, usable_looking_input(command, tmp), out), capsys)
    assert status == 2
    one_error(lines, str(out), "cannot write there")


@pytest.mark.parametrize("command", WRITERS, ids=WRITER_IDS)
def test_an_out_holding_another_stages_output_is_a_usage_error(command, tmp, capsys):
    holder = "queries" if command.name == "harvest" else "harvest"
    out = write_queries_folder(tmp / "held") if holder == "queries" else write_harvest_folder(tmp / "held")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    status, lines = run(command.argv(tmp, usable_looking_input(command, tmp), out), capsys)
    assert status == 2
    one_error(lines, str(out), f"holds the {holder} stage's output")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing written there


def test_debug_shows_the_traceback(tmp):
    with pytest.raises(Exception, match="no such file or folder"):
        main(["--debug", "download", "--pairs", str(tmp / "nowhere"), "--out", str(tmp / "out")])
    with pytest.raises(Exception, match="no such file or folder"):
        main(["download", "--pairs", str(tmp / "nowhere"), "--out", str(tmp / "out"), "--debug"])


def corrupt_path(command: Command, tmp: Path) -> Path:
    return tmp / "in" / command.corrupt_name


def corrupt_input(command: Command, tmp: Path) -> tuple[Path, Path]:
    """A file cut short or not of its kind at all: the command is given the file itself, or for
    verify and report the folder holding it. Returns (what it is given, what its error names)."""
    path = corrupt_path(command, tmp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PAR1\x00\x01 cut short" if path.suffix != ".toml" else b"out = [unclosed")
    if command.name == "verify":
        return path.parent, path
    if command.name == "report":  # a balance folder whose report table is damaged
        (tmp / "in" / "report").mkdir()
        path.rename(tmp / "in" / "report" / "balance.parquet")
        (tmp / "in" / "stats.json").write_text("{}\n")
        (tmp / "in" / "balanced").mkdir()
        return path.parent, tmp / "in" / "report" / "balance.parquet"
    return path, path


def wrong_schema_input(command: Command, tmp: Path) -> tuple[Path, Path]:
    """(what the command is given, the path its error must name)."""
    folder = tmp / "in"
    folder.mkdir(exist_ok=True)
    if command.wrong_schema == "xml":
        path = folder / "dump.xml"
        path.write_text("<html><body>not a MediaWiki export</body></html>\n")
        return path, path
    if command.wrong_schema == "pairs":
        path = folder / "pairs.jsonl"
        path.write_text('{"colour": "red"}\n')
        return path, path
    if command.wrong_schema == "toml":
        path = folder / "config.toml"
        path.write_text('out = "x"\n[harvst]\nqueries = "q"\n')
        return path, path
    if command.wrong_schema == "tar":  # a tar that holds no sample, beside a manifest naming it
        import tarfile

        with tarfile.open(folder / "000000.tar", "w") as tar:
            info = tarfile.TarInfo("readme.txt")
            tar.addfile(info)
        (folder / "manifest.json").write_text('{"shards": "not a list"}\n')
        return folder, folder / "manifest.json"
    if command.wrong_schema == "report":
        (folder / "report").mkdir()
        write_wrong_columns(folder / "report" / "balance.parquet")
        (folder / "stats.json").write_text("{}\n")
        (folder / "balanced").mkdir()
        return folder, folder / "report" / "balance.parquet"
    path = write_wrong_columns(folder / "part-00000.parquet")
    return path, path


def usable_looking_input(command: Command, tmp: Path) -> Path:
    """An input path that exists, so the --out check is what the command trips on."""
    if command.name == "run":
        (tmp / "dump.xml").write_text("<mediawiki></mediawiki>\n")  # a run checks its sources first
        path = tmp / "config.toml"
        path.write_text(f'[queries]\nwiki_dump = ["{tmp / "dump.xml"}"]\n')
        return path
    path = tmp / "in" / command.corrupt_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize(
    ("args", "status"),
    [(["download", "--pairs", "{tmp}/nowhere", "--out", "{tmp}/out"], 2),
     (["download", "--pairs", "{tmp}/bad.parquet", "--out", "{tmp}/out"], 1)],
)  # fmt: skip
def test_the_installed_command_prints_exactly_one_line(args, status, tmp):
    """As a user sees it: a fresh process, Beam imported, nothing but the one line on stderr."""
    import subprocess
    import sys

    (tmp / "bad.parquet").write_bytes(b"PAR1 cut short")
    argv = [sys.executable, "-m", "wit_builder.cli", *(arg.format(tmp=tmp) for arg in args)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == status
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("wit-builder download: ")
