"""Shared fixtures: one small synthetic world, written once per test session."""

from __future__ import annotations

import pytest

from wit_builder.testing import SyntheticWorld, WorldConfig

FIXED_BASE_URLS = ["http://127.0.0.1:8000", "http://127.0.0.2:8000", "http://127.0.0.3:8000"]


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
