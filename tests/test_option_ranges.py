"""Every number option of every command, walked to its bounds.

Each number option declares its range where it is declared (``option(..., low=, high=)``). This
walk reads the options from the settings classes themselves, so an option added later is walked
too: a value outside its range (below, above, NaN, infinity, text) is exit status 2 and one line
naming the flag, before any work, on the command line and in a config; a value at either bound
runs the command for real (the slow part) and succeeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from wit_builder.chain import stage_cli
from wit_builder.cli import main as builder_main
from wit_builder.demo_settings import DemoSettings, WorldSettings
from wit_builder.stage_settings import SettingsError, flags_of, from_table
from wit_builder.train.settings import EvalSettings, TrainSettings

STAGES = ("queries", "harvest", "balance", "download", "shard", "tokenizer")


@dataclass(frozen=True)
class Command:
    name: str  # as a person types it
    settings: type
    required: tuple[str, ...]  # flags with placeholder values: the flags are read before any path

    def main(self, argv: list[str]) -> int:
        if self.name.startswith("wit-train"):
            from wit_builder.train.cli import main as train_main

            return train_main([self.name.split()[1], *argv])
        return builder_main([self.name.split()[1], *argv])


COMMANDS = [
    *(Command(f"wit-builder {stage}", stage_cli(stage).SETTINGS, ()) for stage in STAGES),
    Command("wit-builder demo", DemoSettings, ()),
    Command("wit-builder world", WorldSettings, ()),
    Command("wit-train train", TrainSettings, ()),
    Command("wit-train eval", EvalSettings, ()),
]


def required_flags(settings: type) -> list[str]:
    return [arg for flag in flags_of(settings) if flag.required for arg in (flag.name, "placeholder")]


def number_options(settings: type) -> list:
    return [flag for flag in flags_of(settings) if flag.how.low is not None or flag.kind in (int, float)]


OPTIONS = [(command, flag) for command in COMMANDS for flag in number_options(command.settings)]
OPTION_IDS = [f"{command.name.split()[1]}{flag.name}" for command, flag in OPTIONS]


def out_of_range(flag) -> list[str]:
    """Values a person could type that the option must refuse."""
    low, high = flag.how.low, flag.how.high
    values = [repr(low - 1) if flag.kind is float else str(int(low) - 1), "many"]
    if not math.isinf(high):
        values += [str(int(high) + 1) if flag.kind is int else repr(high * 2 + 1), "inf"]
    if flag.kind is float:
        values += ["nan", "-inf"]
    return values


def test_every_number_option_declares_a_range_holding_its_default():
    assert len(OPTIONS) > 60
    for command, flag in OPTIONS:
        low, high = flag.how.low, flag.how.high
        assert low is not None and high is not None and low <= high, (command.name, flag.name)
        default = flag.default
        assert default is None or low <= default <= high, (command.name, flag.name, default)


CASES = [(command, flag, value) for command, flag in OPTIONS for value in out_of_range(flag)]


@pytest.mark.parametrize(
    ("command", "flag", "value"), CASES, ids=[f"{c.name.split()[1]}{f.name}={v}" for c, f, v in CASES]
)
def test_a_value_out_of_range_is_exit_2_and_one_line_naming_the_flag(command, flag, value, capsys):
    status = command.main([*required_flags(command.settings), f"{flag.name}={value}"])
    err = capsys.readouterr().err.strip()
    assert status == 2, err
    assert len(err.splitlines()) == 1 and f"{flag.name}:" in err and command.name in err, err


STAGE_OPTIONS = [(command, flag) for command, flag in OPTIONS if command.name.split()[1] in (*STAGES,)]
STAGE_CASES = [
    (c, f, v)
    for c, f in STAGE_OPTIONS
    for v in (f.how.low - 1, float("nan"), *(() if math.isinf(f.how.high) else (f.how.high * 2 + 1,)))
]


@pytest.mark.parametrize(
    ("command", "flag", "value"), STAGE_CASES, ids=[f"{c.name.split()[1]}.{f.key}={v}" for c, f, v in STAGE_CASES]
)
def test_a_config_value_out_of_range_names_its_key(command, flag, value):
    stage = command.name.split()[1]
    table = {f.key: "placeholder" for f in flags_of(command.settings) if f.required}
    with pytest.raises(SettingsError, match=rf"^{stage}\.{flag.key}: expected "):
        from_table(command.settings, {**table, flag.key: value}, where=stage)


def test_settings_built_in_code_keep_the_ranges_too():
    from wit_builder.download.settings import ImageSettings

    with pytest.raises(ValueError, match=r"--image-size: expected a whole number from 16 to 4096, got 0"):
        ImageSettings(image_size=0)
