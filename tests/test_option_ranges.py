"""Every number option of every command, walked to its bounds.

Each number option declares its range where it is declared (``option(..., low=, high=)``). This
walk reads the options from the settings classes themselves, so an option added later is walked
too: a value outside its range (below, above, NaN, infinity, text) is exit status 2 and one line
naming the flag, before any work, on the command line and in a config; a value at either bound
runs the command for real (the slow part) and succeeds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest

from wit_builder import stages
from wit_builder.cli import main as builder_main
from wit_builder.demo_settings import DemoSettings, WorldSettings
from wit_builder.stage_settings import SettingsError, flags_of, from_table
from wit_builder.train.settings import EvalSettings, TrainSettings

# Two steps of the tiny model: the shortest real training a bound can be tried on.
TINY_TRAINING = ["--model", "tiny", "--batch-size", "8", "--steps", "2", "--warmup", "1", "--workers", "0"]
STAGES = ("queries", "harvest", "balance", "download", "embed", "curate", "shard", "tokenizer")


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
    *(Command(f"wit-builder {stage}", stages.get(stage).settings_class(), ()) for stage in STAGES),
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


# --- flags declared outside a settings class, lists of numbers, and "none" ----------------------

OTHER_FLAGS = [
    (["run", "--config", "c.toml", "--plan"], "--price-vcpu-hour", ["nan", "inf", "-0.01", "1e9", "cheap"]),
    (["run", "--config", "c.toml", "--plan"], "--price-gb", ["nan", "-inf", "-1", "2e6"]),
    (["run", "--config", "c.toml", "--plan"], "--plan-workers", ["-5", "0", "1.5", "2000000", "nan"]),
    (["verify", "shards"], "--workers", ["0", "-3", "1000000", "many"]),
    (["download", "--pairs", "p", "--out", "o"], "--allowed-ports",
     ["0,70000", "0", "80,-1", "65536", "http", ",", "8O"]),
]  # fmt: skip
OTHER_CASES = [(argv, flag, value) for argv, flag, values in OTHER_FLAGS for value in values]


@pytest.mark.parametrize(("argv", "flag", "value"), OTHER_CASES, ids=[f"{f}={v}" for _, f, v in OTHER_CASES])
def test_flags_outside_the_settings_classes_keep_ranges_too(argv, flag, value, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text('out = "run"\n[queries]\nwiki_dump = "d"\n')
    try:
        status = builder_main([*argv, f"{flag}={value}"])
    except SystemExit as exit_:  # argparse's type errors end the parse this way
        status = exit_.code
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and flag in err, err
    assert "expected" in err and ("from 1 to 65535" in err or " to " in err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_the_bounds_of_those_flags_are_in_their_help(capsys):
    for argv in (["run", "--help"], ["verify", "--help"]):
        with pytest.raises(SystemExit):
            builder_main(argv)
    text = " ".join(capsys.readouterr().out.split())
    assert "0 to 1,000,000" in text and "1 to 256" in text


def test_allowed_ports_within_range_are_taken():
    from wit_builder.download.settings import port_set

    assert port_set("80, 443,8080") == {80, 443, 8080} and len(port_set("any")) == 65535
    assert port_set("1,65535") == {1, 65535}


@pytest.mark.parametrize("spelled", ["none", "None", "NONE"])
def test_none_turns_an_optional_number_off_from_a_flag_and_a_config(spelled, tmp_path):
    from wit_builder.balance.settings import BalanceSettings
    from wit_builder.stage_settings import to_table

    from_config = from_table(BalanceSettings, {"candidates": ["c"], "out": "o", "per_query": spelled})
    assert from_config.rules.per_query is None
    table = to_table(from_config)
    assert table["per_query"] == "none"  # written back as it was given: --print-config round-trips
    assert from_table(BalanceSettings, table).rules.per_query is None


def test_every_optional_number_option_says_none_in_its_help_or_defaults_to_it():
    """``none`` is taken wherever a number may be unset; the help says so where the default is a number."""
    for command, flag in OPTIONS:
        if flag.optional and flag.default is not None:
            assert "none" in flag.how.help, (command.name, flag.name)


# --- the slow part: every bound runs for real ---------------------------------------------------
#
# Each number option, at each of its bounds (values equal to the default are what every other
# test runs), is given to its command over small real inputs; the command must succeed, or
# refuse with exit 2 and one line naming the flag (a bound that contradicts another setting's
# default, as --min-text-chars 10,000,000 above --max-text-chars 1,000). Two bounds are not run:
# a training of 10^12 steps cannot end in a test (its schedule is checked on its own below); and
# the demo at --scale 64 is the world at 64 (walked as world --scale=high) put through the chain,
# three minutes here, a tenth of CI's budget, for what the world walk and the chain's own tests
# already show.
NOT_RUN = {("wit-train train", "--steps", "high"), ("wit-builder demo", "--scale", "high")}


@pytest.fixture(scope="module")
def walk_inputs(small_world_dir, small_world, served_world, scene_shards, tmp_path_factory):
    """Small real inputs for every command: the world's sources, a finished chain up to the
    tokenizer over eight good images on the served web (each matching a query of its own, so
    no cap can draw them all away), and a two-step training."""
    from wit_builder.harvest.normalise import url_uid
    from wit_builder.schemas import table_from_rows, write_table
    from wit_builder.train.cli import main as train_main

    root = tmp_path_factory.mktemp("walk")
    assert (
        builder_main(
            [
                "queries",
                "--wiki-dump",
                small_world_dir.wiki_dump_glob,
                "--out",
                str(root / "queries"),
                "--min-unigram-count",
                "20",
            ]
        )
        == 0
    )
    assert (
        builder_main(
            [
                "harvest",
                "--queries",
                str(root / "queries"),
                "--pairs",
                str(small_world_dir.pairs_dir),
                "--out",
                str(root / "harvest"),
            ]
        )
        == 0
    )
    images = [i for i in small_world.catalog.images if i.fault is None and i.size_class == "normal"][:8]
    rows = [
        {
            "uid": url_uid(i.url(served_world.base_urls)),
            "url": i.url(served_world.base_urls),
            "text": f"a red circle {n}",
            "page_url": None,
            "source": "walk",
            "matches": [f"red circle {n}"],
        }
        for n, i in enumerate(images)
    ]
    (root / "balance" / "balanced").mkdir(parents=True)
    write_table(
        table_from_rows(rows, "balanced"), str(root / "balance" / "balanced" / "part-00000.parquet"), "balanced"
    )
    assert (
        builder_main(
            ["download", "--pairs", str(root / "balance"), "--out", str(root / "download"), "--allow-private-network"]
        )
        == 0
    )
    assert builder_main(["shard", "--samples", str(root / "download"), "--out", str(root / "shard")]) == 0
    tokenizer = root / "tokenizer"
    assert (
        builder_main(["tokenizer", "--input", str(scene_shards), "--out", str(tokenizer), "--vocab-size", "600"]) == 0
    )
    train_data = f"{scene_shards}/{{000000..000009}}.tar"
    assert (
        train_main(
            [
                "train",
                "--train-data",
                train_data,
                "--tokenizer",
                str(tokenizer),
                *TINY_TRAINING,
                "--out",
                str(root / "trained"),
            ]
        )
        == 0
    )
    embed = [
        "embed",
        "--samples",
        str(root / "download"),
        "--model",
        str(root / "trained"),
        "--out",
        str(root / "embed"),
    ]
    assert builder_main(embed) == 0  # the curate walk's input
    return {
        "root": root,
        "world": small_world_dir,
        "train_data": train_data,
        "tokenizer": tokenizer,
        "val": f"{scene_shards}/{{000010..000011}}.tar",
    }


def base_argv(command: str, inputs: dict, out) -> list[str]:
    root, world = inputs["root"], inputs["world"]
    return {
        "queries": [
            "--wiki-dump",
            world.wiki_dump_glob,
            "--pageviews",
            world.pageviews_glob,
            "--wordnet",
            str(world.wordnet_dir),
            "--out",
            str(out),
        ],
        "harvest": [
            "--queries",
            str(root / "queries"),
            "--pairs",
            str(world.pairs_dir),
            "--wat",
            world.wat_glob,
            "--out",
            str(out),
        ],
        "balance": ["--candidates", str(root / "harvest"), "--out", str(out)],
        "download": ["--pairs", str(root / "balance"), "--allow-private-network", "--out", str(out)],
        "embed": ["--samples", str(root / "download"), "--model", str(root / "trained"), "--out", str(out)],
        "curate": ["--embeddings", str(root / "embed"), "--out", str(out)],
        "shard": ["--samples", str(root / "download"), "--out", str(out)],
        "tokenizer": ["--input", str(root / "shard"), "--out", str(out)],
        "demo": ["--no-train", "--out", str(out)],
        "world": ["--out", str(out)],
        "train": [
            "--train-data",
            inputs["train_data"],
            "--tokenizer",
            str(inputs["tokenizer"]),
            *TINY_TRAINING,
            "--out",
            str(out),
        ],
        "eval": ["--checkpoint", str(root / "trained"), "--val-data", inputs["val"]],
    }[command]


def bound_cases() -> list:
    cases = []
    for command, flag in OPTIONS:
        for side, value in (("low", flag.how.low), ("high", flag.how.high)):
            if value == flag.default or math.isinf(value) or (command.name, flag.name, side) in NOT_RUN:
                continue
            cases.append(pytest.param(command, flag, value, id=f"{command.name.split()[1]}{flag.name}={side}"))
    return cases


def replaced(argv: list[str], flag: str, value: str) -> list[str]:
    """``argv`` with ``flag`` given ``value`` (in place of the base's own, if it has one)."""
    if flag in argv:
        index = argv.index(flag)
        return [*argv[:index], *argv[index + 2 :], f"{flag}={value}"]
    return [*argv, f"{flag}={value}"]


@pytest.mark.slow
@pytest.mark.parametrize(("command", "flag", "value"), bound_cases())
def test_a_value_at_a_bound_runs_or_is_refused_naming_the_flag(command, flag, value, walk_inputs, tmp_path, capsys):
    name = command.name.split()[1]
    text = str(int(value)) if flag.kind is int else repr(float(value))
    argv = replaced(base_argv(name, walk_inputs, tmp_path / "out"), flag.name, text)
    status = command.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    if status == 2:
        last = err.strip().splitlines()[-1]
        assert flag.name in last, f"exit 2 without naming {flag.name}: {last}"
    elif status == 1 and name == "download":  # a bound no image passes (one byte, 4096 px): ran, kept nothing
        assert len(err.strip().splitlines()) == 1 and "0 of 8 images kept: 8 " in err, err
        stats = json.loads((tmp_path / "out" / "stats.json").read_text())
        assert stats["adds_up"] and stats["ok"] == 0
    elif status == 1 and name == "curate":  # a cut no pair passes (a CLIP score of at least 1): ran, kept nothing
        assert len(err.strip().splitlines()) == 1 and "0 of 8 samples kept: 8 low_clip_score" in err, err
        stats = json.loads((tmp_path / "out" / "stats.json").read_text())
        assert stats["adds_up"] and stats["kept"] == 0
    else:
        assert status == 0, f"{command.name} {flag.name}={text}: exit {status}: {err.strip()[-500:]}"


def test_the_schedule_holds_at_the_largest_step_count():
    from wit_builder.train.optim import cosine_lr

    steps = int(TrainSettings.__dataclass_fields__["steps"].metadata["wit_builder_option"].high)
    for step in (0, 1, steps // 2, steps - 1):
        assert 0.0 <= cosine_lr(step, 5e-4, 10_000, steps) <= 5e-4
