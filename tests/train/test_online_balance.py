"""Online balancing (Meta CLIP 2): a pool written without the cap, and a fresh balanced draw every
epoch in the data stream. Each query's mean kept count is its offline expectation, epochs
differ, their union covers more pairs than the one offline draw (as theory says), the draw
does not depend on ranks or workers, and a stream resumed mid-epoch replays it exactly."""

from __future__ import annotations

import math
from collections import Counter
from itertools import islice

import pyarrow.parquet as pq
import pytest

from wit_builder.capping.languages import row_keys
from wit_builder.capping.online import OnlineBalance, epoch_seed, expected_keep, union_expected
from wit_builder.capping.sampling import CappedQueries, keep_rows, query_key
from wit_builder.cli import main
from wit_builder.io.json_files import read_json
from wit_builder.synthetic.sample_pool import write_sample_pool
from wit_builder.train.data import StreamSpec, TrainStream, online_balance_of, resolve_urls
from wit_builder.train.transforms import train_crop

T = 4
EPOCHS = 30


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """A download-like folder of 1,200 samples matching 300 Zipf-frequent queries, written as a
    pool (--pool --per-query 4) and as the offline draw (--per-query 4)."""
    root = tmp_path_factory.mktemp("online")
    samples = write_sample_pool(root / "download", 1_200, queries=300, files=4, seed=5, image_size=24, distinct=8)
    flags = ["--per-query", str(T), "--samples-per-shard", "200", "--chunk-rows", "150"]
    assert main(["shard", "--samples", str(samples), "--out", str(root / "pool"), "--pool", *flags]) == 0
    assert main(["shard", "--samples", str(samples), "--out", str(root / "offline"), *flags]) == 0
    return root


def index_rows(folder) -> list[dict]:
    return [row for path in sorted(folder.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def test_the_pool_keeps_everything_and_its_manifest_carries_the_draw(pool):
    manifest = read_json(str(pool / "pool" / "manifest.json"), "manifest")
    entry = manifest["online_balance"]
    rows = index_rows(pool / "pool")
    assert manifest["totals"]["samples"] == len(rows) == 1_200  # nothing capped
    assert entry["per_query"] == T and entry["capped"]
    matched = Counter(key for row in rows for key in row_keys(row["matches"], row.get("lang")))
    for key, count, p in entry["capped"]:
        assert matched[key] == count > T and p == pytest.approx(T / count)
    capped = {key: p for key, _, p in entry["capped"]}
    assert entry["expected_samples"] == pytest.approx(sum(expected_keep(row_keys(r["matches"], None), capped)
                                                          for r in rows), abs=1e-2)  # fmt: skip
    assert sum(entry["expected_per_shard"].values()) == pytest.approx(entry["expected_samples"], abs=1e-2)
    assert manifest["settings"]["pool"] is True
    assert "online_balance" not in read_json(str(pool / "offline" / "manifest.json"), "manifest")


def test_the_draw_is_the_balance_stages_rule_with_each_epochs_seed(pool):
    """The scalar draw the data stream makes equals the vectorised rule the balance stage runs."""
    import pyarrow as pa

    rows = index_rows(pool / "pool")
    balance, _ = online_balance_of(resolve_urls(str(pool / "pool")), seed=7)
    for epoch in (0, 3):
        draw = balance.epoch(epoch)
        names = sorted(balance.capped)
        capped = CappedQueries(
            pa.array(names), __import__("numpy").array([balance.capped[n] for n in names]),
            __import__("numpy").array([query_key(epoch_seed(7, epoch), n) for n in names], "uint64"),
        )  # fmt: skip
        vectorised = keep_rows([r["uid"] for r in rows], pa.array([r["matches"] for r in rows]), capped)
        assert [draw.keeps(r["uid"], r["matches"]) for r in rows] == vectorised.tolist()


def kept_per_epoch(rows: list[dict], balance: OnlineBalance, epochs: int) -> list[set[str]]:
    return [{r["uid"] for r in rows if balance.epoch(e).keeps(r["uid"], r["matches"])} for e in range(epochs)]


def test_each_epoch_is_balanced_as_offline_epochs_differ_and_cover_more(pool):
    rows = index_rows(pool / "pool")
    balance, expected_total = online_balance_of(resolve_urls(str(pool / "pool")), seed=0)
    epochs = kept_per_epoch(rows, balance, EPOCHS)
    chance = {r["uid"]: balance.expected(r["matches"]) for r in rows}
    # Each query's mean kept count per epoch is its offline expectation, within sampling noise.
    for key, _, _ in [(k, 0, 0) for k in balance.capped]:
        mine = [r["uid"] for r in rows if key in r["matches"]]
        expectation = sum(chance[uid] for uid in mine)
        variance = sum(chance[uid] * (1 - chance[uid]) for uid in mine)
        mean = sum(len(kept & set(mine)) for kept in epochs) / EPOCHS
        assert abs(mean - expectation) <= 5 * math.sqrt(variance / EPOCHS) + 1e-9, key
        # Its own draw keeps at most t in expectation; other matches may keep more of its pairs.
        assert len(mine) * balance.capped[key] == pytest.approx(T)
    sizes = [len(kept) for kept in epochs]
    assert abs(sum(sizes) / EPOCHS - expected_total) <= 5 * math.sqrt(
        sum(p * (1 - p) for p in chance.values()) / EPOCHS)  # fmt: skip
    assert len({frozenset(kept) for kept in epochs}) == EPOCHS  # every epoch differs
    union = set().union(*epochs)
    offline = len(index_rows(pool / "offline"))
    theory = union_expected(chance.values(), EPOCHS)
    assert abs(len(union) - theory) <= 5 * math.sqrt(theory)
    assert len(union) > 1.5 * offline, (len(union), offline)


def stream(urls, balance, batch=1, workers=1, rank=0, world=1, start=None) -> TrainStream:
    spec = StreamSpec(tuple(urls), batch, 16, rank=rank, world=world, shuffle_buffer=16, balance=balance)
    return TrainStream(spec, lambda texts: [[len(t)] for t in texts], train_crop, workers, start)


def first_pass_keys(urls, balance, workers: int, world: int) -> set[str]:
    keys: set[str] = set()
    for rank in range(world):
        for logical in range(workers):
            for batch in stream(urls, balance, workers=workers, rank=rank, world=world).stream(logical):
                if batch.position[0] > 0:
                    break
                keys.update(batch.keys)
    return keys


def test_the_kept_samples_do_not_depend_on_ranks_or_workers(pool):
    urls = resolve_urls(str(pool / "pool"))
    balance, _ = online_balance_of(urls, seed=3)
    alone = first_pass_keys(urls, balance, workers=1, world=1)
    rows = {r["key"]: r for r in index_rows(pool / "pool")}
    assert alone == {key for key, r in rows.items() if balance.epoch(0).keeps(r["uid"], r["matches"])}
    assert first_pass_keys(urls, balance, workers=2, world=2) == alone
    assert first_pass_keys(urls, balance, workers=4, world=1) == alone


def test_a_stream_resumed_mid_epoch_sees_exactly_the_same_samples(pool):
    urls = resolve_urls(str(pool / "pool"))
    balance, _ = online_balance_of(urls, seed=1)
    whole = list(islice(stream(urls, balance, batch=8).stream(0), 150))  # past the first pass
    assert whole[-1].position[0] >= 1
    cut = 37
    resumed = list(islice(stream(urls, balance, batch=8, start={0: whole[cut - 1].position}).stream(0), 150 - cut))
    assert [b.keys for b in resumed] == [b.keys for b in whole[cut:]]
    assert [b.position for b in resumed] == [b.position for b in whole[cut:]]


def test_a_set_that_is_not_a_pool_is_a_clear_error(pool):
    from wit_builder.errors import UsageError

    with pytest.raises(UsageError, match="is not a pool"):
        online_balance_of(resolve_urls(str(pool / "offline")), seed=0)
    assert main(["shard", "--samples", str(pool / "download"), "--out", str(pool / "x"), "--pool"]) == 2


@pytest.fixture(scope="module")
def tokenizer(pool):
    out = pool / "tok"
    assert main(["tokenizer", "--input", str(pool / "pool"), "--out", str(out), "--vocab-size", "600"]) == 0
    return out


def train(pool, tokenizer, out, *extra: str) -> list[dict]:
    import json

    from wit_builder.train.cli import main as train_main

    flags = ["train", "--train-data", str(pool / "pool"), "--tokenizer", str(tokenizer), "--model", "tiny",
             "--batch-size", "8", "--lr", "1e-3", "--warmup", "2", "--workers", "1", "--log-every-n-steps", "1",
             "--online-balance", "--out", str(out), *extra]  # fmt: skip
    assert train_main(flags) == 0
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_wit_train_trains_from_the_pool_and_resumes_within_the_draw(pool, tokenizer, tmp_path, capsys):
    """The tiny model trains with --online-balance: each batch holds only samples epoch 0's draw
    keeps, the schedule counts the expected epoch, and a run resumed from its step-4 checkpoint
    sees the very batches the whole run saw."""
    urls = resolve_urls(str(pool / "pool"))
    balance, expected = online_balance_of(urls, seed=0)
    rows = {r["key"]: r for r in index_rows(pool / "pool")}
    whole = train(pool, tokenizer, tmp_path / "whole", "--steps", "8", "--save-every-n-steps", "4")
    kept = {key for key, r in rows.items() if balance.epoch(0).keeps(r["uid"], r["matches"])}
    seen = [key for record in whole for key in record["batch_keys"]]  # each step logs some of its keys
    assert len(whole) == 8 and len(seen) >= 8 and set(seen) <= kept and len(kept) < len(rows)
    # The epoch the schedule counts is the expected draw, not the pool.
    assert f"{round(expected)} samples per epoch" in capsys.readouterr().err and round(expected) < len(rows)
    resumed = tmp_path / "resumed"
    train(pool, tokenizer, resumed, "--steps", "4", "--save-every-n-steps", "4")
    again = train(pool, tokenizer, resumed, "--steps", "8", "--save-every-n-steps", "4", "--resume", "latest")
    assert [m["batch_keys"] for m in again] == [m["batch_keys"] for m in whole]


def test_each_epoch_says_what_its_draw_kept(pool, caplog):
    import logging

    urls = resolve_urls(str(pool / "pool"))
    balance, _ = online_balance_of(urls, seed=0)
    rows = index_rows(pool / "pool")
    kept = sum(balance.epoch(0).keeps(r["uid"], r["matches"]) for r in rows)
    with caplog.at_level(logging.INFO, logger="wit_builder.train"):
        for batch in stream(urls, balance, batch=8).stream(0):
            if batch.position[0] >= 1:
                break
    assert f"stream 0, epoch 0: online balancing kept {kept} of {len(rows)} samples (0 without" in caplog.text
