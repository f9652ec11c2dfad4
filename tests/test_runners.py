"""Every stage (embed and curate too) gives the same bytes on the runners a data engineer will
use: the embedded FnApiRunner with one worker, two worker processes (so every DoFn pickles and nothing relies on
process-global state), the PortableRunner with an embedded job service and LOOPBACK workers,
the path Spark and Flink jobs take, and the PortableRunner against a job service running as a
process of its own with an EXTERNAL pool of worker processes: nothing shared with the
launcher, the dress rehearsal for a Flink or Spark job server."""

from __future__ import annotations

import hashlib
import os
import pathlib
import socket
import subprocess
import sys
import time

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
    from tests.embed.conftest import write_checkpoint

    world = small_world.write(tmp_path_factory.mktemp("runners") / "world", served_world.base_urls)
    captions = [image.caption for image in small_world.catalog.images]
    model = write_checkpoint(tmp_path_factory.mktemp("model"), captions)  # embed runs RunInference with it
    return {
        "queries": {"wiki_dump": world.wiki_dump_glob, "wordnet": str(world.wordnet_dir), "min_bigram_pmi": 12},
        "harvest": {"wat": world.wat_glob, "pairs": str(world.pairs_dir / "*")},
        "download": {"allow_private_network": True, "read_timeout": 2.0},
        "embed": {"model": str(model), "chunk_rows": 256, "batch_size": 64},
        "curate": {"clip_score_top": 0.8},
    }


@pytest.fixture(scope="module")
def one_worker(chain_config, tmp_path_factory):
    run = tmp_path_factory.mktemp("one") / "run"
    results = run_chain(chain_config, str(run))
    assert all(r.outcome == "done" for r in results[:7]), format_results(results)
    return _data_files(run)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_every_stage_gives_the_same_bytes(runner, chain_config, one_worker, tmp_path):
    results = run_chain(chain_config, str(tmp_path / "run"), RUNNERS[runner])
    assert all(r.outcome == "done" for r in results[:7]), format_results(results)
    files = _data_files(tmp_path / "run")
    assert len(files) > 40 and any(name.endswith(".tar") for name in files)
    assert any(name.startswith("embed/embeddings/") for name in files) and any(n.startswith("curate/") for n in files)
    assert files == one_worker


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service on port {port} exited with {process.returncode}"
        with socket.socket() as probe:
            if probe.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port} after {seconds:.0f}s")


@pytest.fixture(scope="module")
def separate_services(tmp_path_factory):
    """A Beam job service and a worker pool, each a process of its own (as a Flink or Spark job
    server and its task managers' SDK harnesses are); the pool starts ``python`` from PATH, so
    PATH leads to this interpreter's."""
    logs = tmp_path_factory.mktemp("services")
    env = {**os.environ, "PATH": f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    job_port, pool_port = _free_port(), _free_port()
    commands = [
        ([sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main", "--port", str(job_port)],
         job_port, "job_service.log"),
        ([sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", "--service_port", str(pool_port)],
         pool_port, "worker_pool.log"),
    ]  # fmt: skip
    processes = []
    try:
        for command, port, log in commands:
            handle = (logs / log).open("w")
            processes.append(subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT))
            _wait_for(port, processes[-1])
        yield [
            "--runner=PortableRunner",
            f"--job_endpoint=localhost:{job_port}",
            "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{pool_port}",
        ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_a_job_service_and_workers_of_their_own_give_the_same_bytes(
    separate_services, chain_config, one_worker, tmp_path
):
    results = run_chain(chain_config, str(tmp_path / "run"), separate_services)
    assert all(r.outcome == "done" for r in results[:7]), format_results(results)
    files = _data_files(tmp_path / "run")
    assert len(files) > 40 and any(name.endswith(".tar") for name in files)
    assert any(name.startswith("embed/embeddings/") for name in files) and any(n.startswith("curate/") for n in files)
    assert files == one_worker
