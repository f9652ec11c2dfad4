"""Every stage gives the same bytes on the runners a data engineer will use: the embedded
FnApiRunner with one worker, two worker processes (so every DoFn pickles and nothing relies on
process-global state), and the PortableRunner with an embedded job service and LOOPBACK
workers, the path Spark and Flink jobs take."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from wit_builder.chain import format_results, run_chain

pytestmark = pytest.mark.slow

RUNNERS = {
    "two_processes": ["--direct_num_workers=2", "--direct_running_mode=multi_processing"],
    "portable": ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
}


def _data_files(run: pathlib.Path) -> dict[str, str]:
    """SHA-256 of every data file a Beam stage wrote (stats.json files name their own folder)."""
    return {
        str(path.relative_to(run)): hashlib.sha256(path.read_bytes()).hexdigest()
        for pattern in ("*/**/*.parquet", "shard/*.tar", "*/report/*.parquet")
        for path in sorted(run.glob(pattern))
        if path.parts[len(run.parts)] != "tokenizer"
    }


@pytest.fixture(scope="module")
def chain_config(small_world, served_world, tmp_path_factory):
    world = small_world.write(tmp_path_factory.mktemp("runners") / "world", served_world.base_urls)
    return {
        "queries": {"wiki_dump": world.wiki_dump_glob, "wordnet": str(world.wordnet_dir), "min_bigram_pmi": 12},
        "harvest": {"wat": world.wat_glob, "pairs": str(world.pairs_dir / "*")},
        "download": {"allow_private_network": True, "read_timeout": 2.0},
    }


@pytest.fixture(scope="module")
def one_worker(chain_config, tmp_path_factory):
    run = tmp_path_factory.mktemp("one") / "run"
    results = run_chain(chain_config, str(run))
    assert all(r.outcome == "done" for r in results[:5]), format_results(results)
    return _data_files(run)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_every_stage_gives_the_same_bytes(runner, chain_config, one_worker, tmp_path):
    results = run_chain(chain_config, str(tmp_path / "run"), RUNNERS[runner])
    assert all(r.outcome == "done" for r in results[:5]), format_results(results)
    files = _data_files(tmp_path / "run")
    assert len(files) > 40 and any(name.endswith(".tar") for name in files)
    assert files == one_worker
