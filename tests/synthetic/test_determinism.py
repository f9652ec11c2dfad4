"""Same seed, same bytes; another seed, other bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import FIXED_BASE_URLS
from wit_builder.synthetic import SyntheticWorld, WorldConfig


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(tmp_path, small_world_dir):
    again = SyntheticWorld(WorldConfig(seed=3)).write(tmp_path / "again", FIXED_BASE_URLS)
    first, second = digest_tree(small_world_dir.root), digest_tree(again.root)
    assert len(first) > 20
    assert first == second


def test_multistream_and_plain_are_deterministic(tmp_path):
    for compression in ("none", "multistream"):
        a = SyntheticWorld(WorldConfig(seed=1)).write(tmp_path / f"a-{compression}", compression=compression)
        b = SyntheticWorld(WorldConfig(seed=1)).write(tmp_path / f"b-{compression}", compression=compression)
        assert digest_tree(a.root / "wiki") == digest_tree(b.root / "wiki")


def test_other_seed_gives_other_files(tmp_path, small_world_dir):
    other = SyntheticWorld(WorldConfig(seed=4)).write(tmp_path / "other", FIXED_BASE_URLS)
    first, second = digest_tree(small_world_dir.root), digest_tree(other.root)
    shared = {name for name, digest in first.items() if digest in set(second.values())}
    # Only files that do not depend on the seed may be shared: the list of WAT file names,
    # WordNet's lexnames and exception lists, and the planted URL blocklist and truth (fixed URLs).
    seed_free = {"wat/wat.paths.gz", "wordnet/lexnames", "planted/blocklists/demo-urls.txt", "planted/truth.json"} | {
        f"wordnet/{pos}.exc" for pos in ("noun", "verb", "adj", "adv")
    }
    assert shared <= seed_free


def test_scale_grows_every_part():
    small, large = WorldConfig.scaled(1), WorldConfig.scaled(4)
    assert large.articles == 4 * small.articles and large.images == 4 * small.images
    assert small.vocabulary_size < large.vocabulary_size < 4 * small.vocabulary_size
