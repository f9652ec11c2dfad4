"""A fingerprint of a run folder: the SHA-256 of every file, with wall-clock fields taken out of
JSON files, so two runs of the same inputs compare equal exactly when their outputs do.

    python -m tests.support.run_fingerprint RUN_DIR > before.txt
    ... change the code, run the demo again with the same --out and --port ...
    python -m tests.support.run_fingerprint RUN_DIR | diff before.txt -

Used to prove that a refactoring leaves the demo's outputs byte-identical.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

# Fields that hold how long something took or when: they differ between identical runs.
CLOCK_FIELDS = ("seconds", "elapsed", "time", "rate", "per_second", "created", "started", "finished")


def _without_clock(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if not any(f in k.lower() for f in CLOCK_FIELDS)}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def file_digest(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".json":
        with contextlib.suppress(ValueError):  # not JSON after all: compare the bytes
            data = json.dumps(_without_clock(json.loads(data)), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def fingerprint(run_dir: str | Path, skip: tuple[str, ...] = ("train",)) -> dict[str, str]:
    root = Path(run_dir)
    return {
        str(path.relative_to(root)): file_digest(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.relative_to(root).parts[0] not in skip
    }


def main(argv: list[str]) -> int:
    for name, digest in fingerprint(argv[0]).items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
