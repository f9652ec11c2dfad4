"""What a folder holds, so a stage given the wrong one says so before it starts.

Every stage writes a folder with a mark of its own (``STAGE_MARKS``: harvest's ``candidates/``,
balance's ``balanced/``, ...), and ``wit-builder run`` writes one such folder per stage. So a
stage can tell, before any work: that an input path does not exist or holds nothing it can
read; that it was given another stage's folder ("--pairs RUN/queries holds the queries stage's
output; --pairs wants the balance stage's"); that its ``--out`` cannot be written, or already
holds another stage's output, which it would otherwise overwrite in part. Each is a
``UsageError``: one line, exit status 2, nothing written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import fsspec

from wit_builder.errors import UsageError

# Entries only that stage writes at the top of its folder.
STAGE_MARKS: dict[str, tuple[str, ...]] = {
    "queries": ("queries.parquet", "queries.txt"),
    "harvest": ("candidates",),
    "balance": ("balanced",),
    "download": ("samples", "status"),
    "shard": ("manifest.json",),
    "tokenizer": ("tokenizer.json",),
    "train": ("checkpoints", "metrics.jsonl"),
}
GLOB_CHARACTERS = "*?["


def stage_of(folder: str) -> tuple[str, str] | None:
    """(stage, the entry that shows it) when ``folder`` holds a stage's output, else None."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = folder.rstrip("/")
    for stage, marks in STAGE_MARKS.items():
        for mark in marks:
            if filesystem.exists(f"{root}/{mark}"):
                return stage, mark
    return None


def holds_other_stage(folder: str, stage: str | None = None) -> str | None:
    """ "holds the harvest stage's output (candidates)" when ``folder`` holds the output of a
    stage other than ``stage``, else None: the middle of every wrong-folder message."""
    holder = stage_of(folder)
    if holder is None or holder[0] == stage:
        return None
    return f"holds the {holder[0]} stage's output ({holder[1]})"


def is_run_folder(folder: str) -> bool:
    """Whether ``folder`` is a ``wit-builder run`` folder: a stage folder with stats.json per stage."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = folder.rstrip("/")
    return any(filesystem.isfile(f"{root}/{stage}/stats.json") for stage in STAGE_MARKS)


def check_out(out: str, stage: str | None) -> None:
    """Refuse an ``--out`` that is a file, holds another stage's output or a whole run, or cannot
    be written (tried by writing and removing a small file); create it otherwise. ``stage`` None
    is ``wit-builder run``, whose --out is a run folder (one folder per stage)."""
    filesystem, _ = fsspec.core.url_to_fs(out)
    root = out.rstrip("/")
    writer = f"the {stage} stage" if stage else "a run"
    if filesystem.isfile(root):
        raise UsageError(f"--out {out}: is a file; {writer} writes a folder")
    if filesystem.isdir(root):
        if held := holds_other_stage(root, stage):
            raise UsageError(f"--out {out} {held}; give {writer} a folder of its own")
        if stage and is_run_folder(root):
            raise UsageError(f"--out {out} is a run folder (wit-builder run); give the {stage} stage {root}/{stage}")
    probe = f"{root}/.write-test-{uuid.uuid4().hex}"
    try:
        filesystem.makedirs(root, exist_ok=True)
        with filesystem.open(probe, "wb") as handle:
            handle.write(b"")
        filesystem.rm(probe)
    except OSError as error:
        raise UsageError(f"--out {out}: cannot write there ({_reason(error)})") from error


def input_files(
    flag: str, patterns: Sequence[str], wanted: str, subfolder: str | None, suffix: str = ".parquet"
) -> list[str]:
    """The files a stage reads, from what the user gave ``flag``: the ``wanted`` stage's folder
    (its ``subfolder`` holds the files), a folder of such files, a glob, or files named one by
    one (read whatever their name). Sorted, without duplicates. A path that does not exist, a
    glob or folder with no ``suffix`` file, and another stage's folder are ``UsageError``s."""
    files: list[str] = []
    for pattern in patterns:
        filesystem, _ = fsspec.core.url_to_fs(pattern)
        root = pattern.rstrip("/")
        remote = "://" in pattern
        if any(ch in pattern for ch in GLOB_CHARACTERS):
            found = [path for path in filesystem.glob(pattern) if filesystem.isfile(path) and path.endswith(suffix)]
            if not found:
                raise UsageError(f"{flag} {pattern}: matches no {suffix or 'file'}{' file' if suffix else ''}")
        elif not filesystem.exists(root):
            raise UsageError(f"{flag} {pattern}: no such file or folder")
        elif filesystem.isdir(root):
            found = _folder_files(flag, pattern, wanted, subfolder, suffix)
        else:
            found = [root]
        files.extend(filesystem.unstrip_protocol(path) if remote else path for path in found)
    return sorted(dict.fromkeys(files))


def _folder_files(flag: str, pattern: str, wanted: str, subfolder: str | None, suffix: str) -> list[str]:
    filesystem, _ = fsspec.core.url_to_fs(pattern)
    root = pattern.rstrip("/")
    kind = f"{suffix} files" if suffix else "files"
    expected = (
        f"it wants the {wanted} stage's output (a folder with {subfolder}/) or its {kind}"
        if subfolder
        else f"it wants {wanted}"
    )
    if subfolder and filesystem.isdir(f"{root}/{subfolder}"):
        found = sorted(filesystem.glob(f"{root}/{subfolder}/*{suffix}"))
        if not found:
            raise UsageError(f"{flag} {pattern}: {subfolder}/ holds no {suffix} file; {expected}")
        return found
    if held := holds_other_stage(root, wanted):
        raise UsageError(f"{flag} {pattern} {held}; {expected}")
    if is_run_folder(root):
        raise UsageError(
            f"{flag} {pattern} is a run folder (wit-builder run); give its {wanted} folder: {root}/{wanted}"
        )
    found = sorted(path for path in filesystem.find(root) if path.endswith(suffix))
    if not found:
        raise UsageError(f"{flag} {pattern}: holds no {suffix or 'file'}{' file' if suffix else ''}; {expected}")
    return found


def _reason(error: OSError) -> str:
    return f"{type(error).__name__}: {error.strerror or error}"
