"""A flag nobody defines is a typo, said in one line with the closest known flag, exit 2, and
nothing is created; a value Beam's own parser refuses is the same. Beam itself would drop the
first with a warning (``--per-querry 1`` ran with 20,000) and print 134 lines for the second."""

from __future__ import annotations

import pytest

from wit_builder.beam_options import beam_flag_names, check_beam_flags, closest_flag
from wit_builder.cli import build_parser, commands, main
from wit_builder.errors import UsageError


def subparser(name: str):
    parser = build_parser(name)
    return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices[name]


def own_flags(name: str) -> list[str]:
    return [flag for action in subparser(name)._actions for flag in action.option_strings]


def required_args(name: str) -> list[str]:
    """Values for a command's required flags and positionals: the typo must be what is refused."""
    parser, given = subparser(name), []
    for action in parser._actions:
        if not action.option_strings:
            given.append("x")
        elif action.required:
            given += [action.option_strings[0], "x"]
    for group in parser._mutually_exclusive_groups:
        if group.required:
            given += [group._group_actions[0].option_strings[0], "x"]
    return given


def status(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's own errors end the parse this way
        return int(exit_.code)


def misspelt(flag: str) -> str:
    """A typo of the kind people make: the last letter doubled (``--per-query`` → ``--per-queryy``)."""
    return flag + flag[-1]


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("command", [command.name for command in commands() if command.name != "report"])
def test_every_command_refuses_a_misspelt_flag_of_its_own_and_names_it(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flag = max((f for f in own_flags(command) if f.startswith("--") and f not in ("--help", "--debug")), key=len)
    typo = misspelt(flag)
    assert status([command, *required_args(command), typo, "1"]) == 2
    err = one_line(capsys)
    assert typo in err and f"did you mean {flag}?" in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even an --out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["balance", "--per-querry", "1"], "--per-querry: no such flag; did you mean --per-query?"),
        (["run", "--form", "queries"], "--form: no such flag; did you mean --from?"),
        (["harvest", "--runer=FnApiRunner"], "--runer: no such flag; did you mean --runner?"),
        (["harvest", "--direct-num-workers=2"], "did you mean --direct_num_workers?"),
        (["download", "--zzzzzz"], "--zzzzzz: no such flag (neither the command nor Apache Beam defines it)"),
        (["queries", "--direct_num_workers=abc"], "argument --direct_num_workers: invalid int value: 'abc'"),
        (["shard", "--direct_running_mode=fast"], "argument --direct_running_mode: invalid choice: 'fast'"),
        (["report", "--colour"], "unrecognised arguments: --colour"),
    ],
)
def test_flags_neither_the_command_nor_beam_defines(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('out = "run"\n[queries]\nwiki_dump = "d"\n')
    required = {"run": ["--config", "config.toml"]}.get(argv[0], required_args(argv[0]))
    assert status([*argv, *required]) == 2
    assert message in one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"]  # no --out, no run folder


def test_a_configs_beam_args_are_checked_before_anything_runs(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(
        f'out = "{tmp_path / "run"}"\nbeam_args = ["--direct_num_worker=2"]\n[queries]\nwiki_dump = "d"\n'
    )
    assert main(["run", "--config", str(config)]) == 2
    err = one_line(capsys)
    assert "beam_args: --direct_num_worker: no such flag; did you mean --direct_num_workers?" in err
    assert not (tmp_path / "run").exists()


def test_beams_own_flags_and_values_pass():
    check_beam_flags(["--runner=DataflowRunner", "--project", "p", "--region=r", "--direct_num_workers=2"])
    check_beam_flags(["--experiments=a", "--experiments", "b", "--save_main_session"])
    assert "--temp_location" in beam_flag_names() and "--runner" in beam_flag_names()
    with pytest.raises(UsageError, match="no such flag"):
        check_beam_flags(["--projekt=p"])


def test_the_closest_flag_takes_dashes_and_underscores_as_one():
    assert closest_flag("--direct-num-workers", ["--direct_num_workers", "--runner"]) == "--direct_num_workers"
    assert closest_flag("--per-querry", ["--per-query", "--seed"]) == "--per-query"
    assert closest_flag("--something-else-entirely", ["--per-query"]) is None
