"""Shared fixtures: one small synthetic world, written once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wit_builder.synthetic import SyntheticWorld, WorldConfig
from wit_builder.synthetic.opt_out_sites import SITES

# Every fetch the tests make is stamped with this time (``wit_builder.clock``: the reproducible
# builds' convention), so runs compared byte for byte stay comparable; the clock's own test
# unsets it. Subprocesses (a demo, the docs' blocks) inherit it.
os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z

# One base URL per host of the world: the ordinary hosts, then the opt-out sites.
FIXED_BASE_URLS = [f"http://127.0.0.{k + 1}:8000" for k in range(WorldConfig().hosts + len(SITES))]


@pytest.fixture(scope="session")
def small_world() -> SyntheticWorld:
    return SyntheticWorld(WorldConfig(seed=3))


@pytest.fixture(scope="session")
def small_world_dir(tmp_path_factory, small_world):
    """The small world written with fixed (offline) base URLs."""
    root = tmp_path_factory.mktemp("world")
    return small_world.write(root, FIXED_BASE_URLS)


@pytest.fixture(scope="session")
def served_world(small_world):
    """The small world's web, running on loopback for the whole session."""
    with small_world.serve(slow_seconds=1.0) as web:
        yield web


@pytest.fixture(scope="session")
def scene_shards(tmp_path_factory):
    """Shards of 2,400 rendered scenes (64 px) with captions that say what is drawn: 12 shards
    of about 200; the trainer tests train on the first 10 and hold out the last 2."""
    from wit_builder.cli import main
    from wit_builder.synthetic.scene_pool import write_scene_pool

    pool = write_scene_pool(tmp_path_factory.mktemp("scenes"), 2_400, files=4, seed=11)
    out = tmp_path_factory.mktemp("scene_shards")
    assert main(["shard", "--samples", str(pool), "--out", str(out), "--samples-per-shard", "200"]) == 0
    return out


@pytest.fixture(scope="session")
def finished_demo(tmp_path_factory) -> Path:
    """A folder holding a finished demo at ``runs/demo`` (its world, its run, its reports and a
    trained tiny model), made by the demo command as a newcomer runs it. For slow tests only."""
    root = tmp_path_factory.mktemp("finished-demo")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(
        [sys.executable, "-m", "wit_builder.cli", "demo", "--out", "runs/demo"],
        cwd=root, capture_output=True, text=True, timeout=1200, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root
