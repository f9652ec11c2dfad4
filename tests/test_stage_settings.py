"""Stage settings: one typed dataclass per stage, its flags, help and config table derived from it."""

from __future__ import annotations

import dataclasses

import pytest

from wit_builder import stages
from wit_builder.balance.settings import BalanceRules, BalanceSettings
from wit_builder.cli import main
from wit_builder.download.opt_out import SIGNALS
from wit_builder.download.settings import DownloadSettings
from wit_builder.harvest.settings import HarvestSettings
from wit_builder.shard.settings import ShardSettings
from wit_builder.stage_settings import SettingsError, flags_of, from_flags, from_table

# The flags users know, as they were before the settings were typed: the names must not move.
FLAGS = {
    "queries": "count-shards hot-key-fanout min-bigram-count min-bigram-pmi min-hourly-views min-title-views "
    "min-unigram-count out pageview-projects pageviews target-size wiki-dump wordnet wordnet-all-lemmas "
    "bigram-share default-language max-bigrams max-query-chars max-titles max-unigrams threshold-languages "
    "title-share unigram-share wordnet-lmf",
    "harvest": "blocklist caption-column case-insensitive image-extensions max-text-chars min-text-chars out "
    "output-shards "
    "pairs pairs-format queries url-column wat wat-limit wat-prefix languages match-english min-language-score "
    "max-captions",
    "balance": "batch-rows candidates count-fanout count-shards out oversample per-query queries seed",
    "download": "allow-private-network allowed-ports aspect-tolerance blocklist chunk-rows concurrency connect-timeout "
    "encode-format encode-quality eval-radius eval-sets ignore-opt-out image-processes image-size max-aspect-ratio "
    "max-bytes pdq-radius "
    "max-crawl-delay max-pixels "
    "max-redirects min-image-size near-distance no-dedupe out pairs per-host read-timeout resize-mode "
    "resize-only-if-bigger retries total-timeout unreachable-share user-agent x-robots-directives",
    "embed": "batch-size chunk-rows device eval-sets model open-clip out precision pretrained samples",
    "curate": "clip-score-min clip-score-top dedup-clusters dedup-epsilon dedup-sample embeddings eval-similarity "
    "no-semantic-dedup out per-language seed",
    "shard": "base-url chunk-rows citation count-shards curation dataset-name license out per-query pool queries "
    "read-budget release-version samples samples-per-shard seed shard-bytes",
    "tokenizer": "input min-frequency out vocab-size",
    "train": "accum-freq batch-size beta1 beta2 dataset-resampled delete-previous-checkpoint epochs eps "
    "first-caption gather-with-grad grad-checkpointing grad-clip-norm local-loss log-every-n-steps lr model "
    "online-balance out "
    "precision resume "
    "save-every-n-steps seed shuffle-buffer steps templates tokenizer torchcompile torchcompile-mode train-data "
    "train-num-samples "
    "val-data warmup wd workers zeroshot-data",
}
REQUIRED = {"queries": {"wiki-dump", "out"}, "harvest": {"queries", "out"}, "balance": {"candidates", "out"},
            "download": {"pairs", "out"}, "embed": {"samples", "out"}, "curate": {"embeddings", "out"},
            "shard": {"samples", "out"}, "tokenizer": {"input", "out"},
            "train": {"train-data", "out"}}  # fmt: skip


@pytest.mark.parametrize("stage", list(stages.names()))
def test_flag_names_and_required_flags_are_the_ones_users_know(stage):
    flags = list(flags_of(stages.get(stage).settings_class()))
    assert sorted(flag.name[2:] for flag in flags) == sorted(FLAGS[stage].split())
    assert {flag.name[2:] for flag in flags if flag.required} == REQUIRED[stage]


@pytest.mark.parametrize("stage", list(stages.names()))
def test_help_shows_every_default(stage, capsys):
    from wit_builder.train.cli import main as train_main

    with pytest.raises(SystemExit):
        train_main(["train", "--help"]) if stage == "train" else main([stage, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in flags_of(stages.get(stage).settings_class()):
        default = flag.default
        if flag.required or default is None or isinstance(default, bool) or default == ():
            continue
        shown = flag.how.shown or (",".join(default) if isinstance(default, tuple) else str(default))
        assert f"{flag.name} " in text and (f"(default: {shown})" in text or f"(default: {shown};" in text), flag.name


@pytest.mark.parametrize("stage", list(stages.names()))
def test_no_settings_class_can_be_filled_by_position(stage):
    classes = {stages.get(stage).settings_class()}
    classes |= {type(value) for value in _nested_defaults(stages.get(stage).settings_class())}
    for cls in classes:
        assert all(field.kw_only for field in dataclasses.fields(cls)), cls
        with pytest.raises(TypeError):
            cls(1)


def _nested_defaults(cls: type):
    for field in dataclasses.fields(cls):
        if field.default_factory is not dataclasses.MISSING:
            value = field.default_factory()
            if dataclasses.is_dataclass(value):
                yield value
                yield from _nested_defaults(type(value))


def test_the_balance_defaults_are_written_once():
    """The rules' defaults are the flags' defaults and the config's: nothing else holds them."""
    assert BalanceRules().per_query == 20_000
    built = from_table(BalanceSettings, {"candidates": "RUN/harvest", "out": "RUN/balance"})
    assert built.rules == BalanceRules()


def test_config_table_and_flags_give_the_same_settings():
    table = {
        "pairs": ["a/", "b/*.parquet"], "out": "o", "image_size": 64, "resize_mode": "center_crop",
        "no_dedupe": True, "near_distance": 3, "allowed_ports": [80, 8080], "ignore_opt_out": True,
        "max_aspect_ratio": 4, "chunk_rows": 100,
    }  # fmt: skip
    from_config = from_table(DownloadSettings, table)
    argv = ["download", "--pairs", "a/", "--pairs", "b/*.parquet", "--out", "o", "--image-size", "64",
            "--resize-mode", "center_crop", "--no-dedupe", "--near-distance", "3", "--allowed-ports", "80,8080",
            "--ignore-opt-out", "--max-aspect-ratio", "4", "--chunk-rows", "100"]  # fmt: skip
    from wit_builder.cli import build_parser

    args, _ = build_parser().parse_known_args(argv)
    assert from_flags(DownloadSettings, args) == from_config
    rules = from_config.rules
    assert (rules.dedupe, rules.max_distance, rules.image.image_size, rules.image.resize_mode) == (
        False,
        3,
        64,
        "center_crop",
    )
    assert rules.fetch.allowed_ports == frozenset({80, 8080}) and not rules.fetch.honours("robots")
    assert rules.fetch.ignore_opt_out == frozenset(SIGNALS)  # `true` and the bare flag: every signal
    assert from_config.pairs == ("a/", "b/*.parquet") and rules.image.max_aspect_ratio == 4.0


def test_switches_that_turn_a_default_off_read_the_same_in_a_config():
    on = from_table(HarvestSettings, {"queries": "q", "out": "o", "case_insensitive": True})
    off = from_table(HarvestSettings, {"queries": "q", "out": "o", "case_insensitive": False})
    assert on.rules.case_sensitive is False and off.rules.case_sensitive is True
    parsed = from_table(HarvestSettings, {"queries": "q", "out": "o", "image_extensions": [".JPG", "png"]})
    assert parsed.rules.image_extensions == frozenset({"jpg", "png"})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"per_querry": 5}, "balance.per_querry: unknown setting"),
        ({"per_query": "many"}, "balance.per_query: expected a whole number, got 'many'"),
        ({"per_query": 0}, "balance.per_query: expected a whole number from 1 to 1,000,000,000, got 0"),
        ({"oversample": float("nan")}, "balance.oversample: expected a number from 1 to 1,000,000, got nan"),
        ({"seed": True}, "balance.seed: expected a whole number, got True"),
        ({"oversample": [1]}, "balance.oversample: expected a number"),
    ],
)
def test_a_bad_config_value_is_an_error_naming_its_key(table, message):
    with pytest.raises(SettingsError, match=message.replace(".", r"\.").replace("'", "'")):
        from_table(BalanceSettings, {"candidates": "c", "out": "o", **table}, where="balance")


def test_a_missing_required_setting_is_named():
    with pytest.raises(SettingsError, match="shard: missing samples"):
        from_table(ShardSettings, {"out": "o"}, where="shard")


def test_sizes_read_as_text_or_bytes():
    text = from_table(ShardSettings, {"samples": "s", "out": "o", "shard_bytes": "1GB", "read_budget": "8MiB"})
    number = from_table(ShardSettings, {"samples": "s", "out": "o", "shard_bytes": 10**9, "read_budget": 8 * 2**20})
    assert text == number and text.rules.shard_bytes == 10**9


def test_a_refused_flag_value_is_one_line_and_exit_2(tmp_path, capsys):
    status = main(["balance", "--candidates", str(tmp_path), "--out", str(tmp_path / "o"), "--per-query", "0"])
    err = capsys.readouterr().err
    wanted = "wit-builder balance: --per-query: expected a whole number from 1 to 1,000,000,000, got 0"
    assert status == 2 and err.strip() == wanted
    assert main(["shard", "--samples", "x", "--out", "o", "--shard-bytes", "lots"]) == 2
    assert "wit-builder shard: --shard-bytes:" in capsys.readouterr().err


def test_a_flag_with_an_optional_value_names_signals_or_takes_its_bare_value():
    from wit_builder.cli import build_parser

    def ignored(*flags: str) -> frozenset[str]:
        args, _ = build_parser().parse_known_args(["download", "--pairs", "a/", "--out", "o", *flags])
        return from_flags(DownloadSettings, args).rules.fetch.ignore_opt_out

    assert ignored() == frozenset()
    assert ignored("--ignore-opt-out") == frozenset(SIGNALS)
    assert ignored("--ignore-opt-out", "robots,ai-txt") == {"robots", "ai-txt"}

    def from_config(value: object) -> frozenset[str]:
        table = {"pairs": ["a"], "out": "o", "ignore_opt_out": value}
        return from_table(DownloadSettings, table).rules.fetch.ignore_opt_out

    assert from_config(["tdmrep"]) == {"tdmrep"} and from_config(False) == frozenset()
    with pytest.raises(SettingsError, match="unknown opt-out signal 'robot'"):
        ignored("--ignore-opt-out", "robot")
