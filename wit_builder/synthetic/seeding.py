"""Deterministic random streams for the synthetic world.

Every artefact of the world draws from its own stream, derived from (seed, names) by a
cryptographic hash, so adding a new artefact never shifts the bytes of an existing one and
the same seed gives the same files on any machine.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(seed: int, *names: object) -> int:
    """A 64-bit integer that depends on ``seed`` and every name, and on nothing else."""
    material = "\x1f".join([str(seed), *map(str, names)]).encode()
    return int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "little")


def numpy_rng(seed: int, *names: object) -> np.random.Generator:
    """A numpy generator private to one artefact of the world."""
    return np.random.default_rng(derive_seed(seed, *names))


def python_rng(seed: int, *names: object) -> random.Random:
    """A ``random.Random`` private to one artefact of the world."""
    return random.Random(derive_seed(seed, *names))
