"""What a folder holds, so a stage given the wrong one says so before it starts.

Every stage writes a folder with a mark of its own (its ``marks`` in ``wit_builder.stages``:
harvest's ``candidates/``, balance's ``balanced/``, ...), and ``wit-builder run`` writes one
such folder per stage. So a stage can tell, before any work: that an input path does not exist or holds nothing it can
read; that it was given another stage's folder ("--pairs RUN/queries holds the queries stage's
output; --pairs wants the balance stage's"); that its ``--out`` cannot be written, or already
holds another stage's output, which it would otherwise overwrite in part. Each is a
``UsageError``: one line, exit status 2, nothing written.

Every stage also declares what it writes (its ``outputs`` there), so emptying a stage's folder
for a new run removes exactly those files; a folder that holds anything else (a user's notes, another
tool's files) is refused with one line naming it, and nothing is removed. A name alone does not
prove a file is the stage's (a user's own ``samples/a.parquet``), so a stage first claims its
folder with a ``_STAGE`` mark, and removes files only from a folder it has claimed: an
unclaimed folder already holding files named like the stage's is refused as ``--out``.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Sequence

import fsspec

from wit_builder import stages
from wit_builder.atomic import write_atomically
from wit_builder.errors import UsageError

GLOB_CHARACTERS = "*?["
# A run folder's own files; its stage folders are the stages'. Each stage's marks and outputs
# are declared with the stage (``wit_builder.stages``).
RUN_OUTPUTS = (r"report/index\.html",)
# Files every stage folder may hold: the claim, the run's markers, the lock, the write probe.
CLAIM = "_STAGE"
MARKERS = (CLAIM, "_SUCCESS", "_RUNNING", "_LOCK", r"\.write-test-[0-9a-f]+")


def read_marker(folder: str, name: str) -> dict | None:
    """A run marker of ``folder`` (``_SUCCESS``, ``_RUNNING``) as a dict; None when there is none,
    and an empty dict when it is damaged (cut by a kill): as good as one of another key."""
    import json

    path = f"{folder.rstrip('/')}/{name}"
    filesystem, _ = fsspec.core.url_to_fs(path)
    if not filesystem.isfile(path):
        return None
    try:
        with fsspec.open(path, "rt", encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def stage_of(folder: str) -> tuple[str, str] | None:
    """(stage, the entry that shows it) when ``folder`` holds a stage's output, else None."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = folder.rstrip("/")
    for stage in stages.chain():
        for mark in stage.marks:
            if filesystem.exists(f"{root}/{mark}"):
                return stage.name, mark
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
    return any(filesystem.isfile(f"{root}/{stage}/stats.json") for stage in stages.names())


def a_few(names: Sequence[str], shown: int = 3) -> str:
    """``a, b, c and 7 more``: the first few of a list for a one-line message."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def refuse_foreign(folder: str, stage: str, foreign: Sequence[str], what: str) -> None:
    """``UsageError`` naming the files in ``folder`` that ``stage`` does not write, when any."""
    if foreign:
        raise UsageError(
            f"{folder} holds {a_few(foreign)}, which the {stage} stage does not write; {what}: move that "
            "elsewhere, or give another --out"
        )


def _relative(path: str, root: str) -> str:
    return path[len(root) :].lstrip("/")


def _outputs(stage: str) -> tuple[str, ...]:
    """The patterns of what ``stage`` (or ``run``, for a run folder's own files) writes."""
    return RUN_OUTPUTS if stage == "run" else stages.get(stage).outputs


@functools.lru_cache(maxsize=64)
def _owned_pattern(patterns: tuple[str, ...]) -> re.Pattern:
    return re.compile(f"(?:{'|'.join((*patterns, *MARKERS))})(?:\\.partial)?")


def _owned(stage: str) -> re.Pattern:
    """One expression for every file ``stage`` writes, its markers and their ``.partial``s."""
    return _owned_pattern(_outputs(stage))


@functools.cache
def marker_pattern() -> re.Pattern:
    """A stage folder's own markers (claim, run markers, lock, write probe), and their ``.partial``s."""
    return re.compile(f"(?:{'|'.join(MARKERS)})(?:\\.partial)?")


def _owned_folders(stage: str) -> set[str]:
    """The folders a stage's patterns lie in (``work``, ``work/fetched``, ...)."""
    folders = set()
    for pattern in _outputs(stage):
        parts = pattern.split("/")[:-1]
        folders.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    return folders


def is_owned(relative: str, stage: str) -> bool:
    """Whether the file at ``relative`` (to the stage's folder) is one the stage writes."""
    return _owned(stage).fullmatch(relative) is not None


def foreign_entries(folder: str, stage: str, within: Sequence[str] | None = None) -> list[str]:
    """What ``folder`` holds that ``stage`` does not write (paths relative to it), sorted; only
    below the subfolders ``within`` when given. Folders the stage never makes count as foreign."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = filesystem._strip_protocol(folder).rstrip("/")
    if not filesystem.isdir(root):
        return []
    owned_folders = _owned_folders(stage)
    scopes = [root] if within is None else [f"{root}/{sub}" for sub in within if filesystem.isdir(f"{root}/{sub}")]
    foreign = []
    for scope in scopes:
        for path, info in filesystem.find(scope, withdirs=True, detail=True).items():
            relative = _relative(filesystem._strip_protocol(path), root)
            if not relative:
                continue
            if info["type"] == "directory":
                if relative not in owned_folders:
                    foreign.append(relative + "/")
            elif not is_owned(relative, stage):
                foreign.append(relative)
    # A foreign folder's files are named by the folder.
    folders = [entry for entry in foreign if entry.endswith("/")]
    return sorted(e for e in foreign if not any(e != f and e.startswith(f) for f in folders))


def _stage_files(folder: str, stage: str) -> list[str]:
    """The files in ``folder`` named as ``stage`` names its outputs (markers left out)."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = filesystem._strip_protocol(folder).rstrip("/")
    if not filesystem.isdir(root):
        return []
    found = (_relative(filesystem._strip_protocol(path), root) for path in filesystem.find(root))
    return sorted(f for f in found if is_owned(f, stage) and not marker_pattern().fullmatch(f))


def claimed_by(folder: str) -> str | None:
    """The stage whose ``_STAGE`` mark ``folder`` holds, or None. A folder an earlier version
    wrote without the mark counts as the stage's when it shows the stage's work: its stats.json
    and its own entries, a run's stage markers in a folder named after the stage, or (``run``) a
    run folder's stage folders."""
    import json

    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = folder.rstrip("/")
    try:
        with filesystem.open(f"{root}/{CLAIM}", "rt", encoding="utf-8") as handle:
            stage = json.load(handle).get("stage")
        return stage if isinstance(stage, str) else None
    except FileNotFoundError:
        holder = stage_of(root)
        if holder and filesystem.isfile(f"{root}/stats.json"):
            return holder[0]
        name = root.rsplit("/", 1)[-1]
        if name in stages.names() and any(filesystem.isfile(f"{root}/{m}") for m in ("_RUNNING", "_SUCCESS")):
            return name  # a stage folder of a run, interrupted before its stats.json
        return "run" if is_run_folder(root) else None
    except (OSError, ValueError, AttributeError):
        return None


def claim(folder: str, stage: str) -> None:
    """Mark ``folder`` as ``stage``'s (``_STAGE``), so that it may later remove its own files
    there; ``UsageError`` when the folder, unclaimed, already holds files named like the stage's
    (they could be anyone's, and a re-run would remove them)."""
    from wit_builder import __version__

    holder, mark = claimed_by(folder), f"{folder.rstrip('/')}/{CLAIM}"
    if holder not in (None, stage):
        raise UsageError(f"--out {folder} is claimed by the {holder} stage ({CLAIM}); give the {stage} stage its own")
    if holder is None and (named := _stage_files(folder, stage)):
        raise UsageError(
            f"--out {folder} already holds {a_few(named)}, named like the {stage} stage's files but not written by "
            f"it there (no {CLAIM} mark); give the stage an empty folder, or move them"
        )
    if holder is None or not fsspec.core.url_to_fs(mark)[0].exists(mark):
        write_atomically(mark, _claim_text(stage, __version__))


def _claim_text(stage: str, version: str) -> bytes:
    import json

    return (json.dumps({"stage": stage, "created_by": f"wit-builder {version}"}) + "\n").encode("utf-8")


def clear_outputs(folder: str, stage: str, within: Sequence[str] | None = None, keep: Sequence[str] = ()) -> None:
    """Remove what ``stage`` wrote in ``folder`` (only below ``within`` and the top-level files
    named there, when given), never anything else: when the part to be emptied holds a file the
    stage does not write, nothing is removed and a ``UsageError`` names it. ``keep`` names
    top-level entries left in place (the lock)."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    root = filesystem._strip_protocol(folder).rstrip("/")
    if not filesystem.isdir(root):
        return
    if claimed_by(folder) != stage and (named := _stage_files(folder, stage)):
        raise UsageError(
            f"{folder} holds {named[0]}{' and more' if len(named) > 1 else ''}, named like the {stage} stage's "
            f"files, in a folder the stage has not claimed (no {CLAIM} mark): nothing is removed; move them elsewhere"
        )
    # The stage's own subfolders are checked whole, not only the part emptied now: a later step
    # of the run removes its work files, and must find only its own there.
    top = {sub.split("/")[0] for sub in _owned_folders(stage)}
    subfolders = None if within is None else sorted(top | {e for e in within if filesystem.isdir(f"{root}/{e}")})
    refuse_foreign(folder, stage, foreign_entries(folder, stage, subfolders), "this run would have to empty it")
    doomed = []
    for entry in filesystem.ls(root, detail=True):
        relative = _relative(filesystem._strip_protocol(entry["name"]), root)
        if relative.removesuffix(".partial") in keep or (within is not None and relative not in within):
            continue
        if entry["type"] == "directory" or is_owned(relative, stage):
            doomed.append(entry["name"])
    for path in doomed:
        filesystem.rm(path, recursive=True)


def check_apart(settings: object) -> None:
    """Refuse an ``--out`` that lies inside one of the stage's inputs, or an input inside its
    ``--out`` (a folder, a file, or the fixed folder part of a glob or brace pattern): the stage
    would read what it writes, on this run or the next. Paths are compared resolved, so two
    spellings of one folder are one folder."""
    from wit_builder.io.paths import canonical, contains, reaches, static_prefix
    from wit_builder.stage_settings import paths_with_role

    for out_flag, out in paths_with_role(settings, "out"):
        written = canonical(out)
        for flag, given in paths_with_role(settings, "input"):
            for source in (part.strip() for part in given.split("::") if part.strip()):
                read = canonical(static_prefix(source))
                if reaches(canonical(source), written):
                    raise UsageError(
                        f"{out_flag} {out} is inside {flag} {given}: the stage would read its own output "
                        f"as input; give an {out_flag} outside its inputs"
                    )
                if contains(written, read):
                    raise UsageError(
                        f"{flag} {given} is inside {out_flag} {out}: the stage would write over or beside "
                        f"its own input; keep inputs outside {out_flag}"
                    )


def check_out(out: str, stage: str | None, claim_it: bool = True) -> None:
    """Refuse an ``--out`` that is a file, holds another stage's output or a whole run, or cannot
    be written (tried by writing and removing a small file); create it otherwise, and lock it
    for the rest of the command (``folder_lock.lock_out``). ``stage`` None
    is ``wit-builder run``, whose --out is a run folder (one folder per stage).

    The lock is taken before anything is written there, and the ``_STAGE`` claim only after
    it: a command refused because another holds the folder leaves no trace in it. ``claim_it``
    False leaves the claim to the caller (``run`` first locks the stage folders it will touch)."""
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
    from wit_builder.io.folder_lock import lock_out

    probe = f"{root}/.write-test-{uuid.uuid4().hex}"
    try:
        lock_out(root)  # held to the end of the command; another command writing here is refused
        filesystem.makedirs(root, exist_ok=True)
        write_atomically(probe, b"")  # as every output is written: a file, then a rename
        filesystem.rm(probe)
    except OSError as error:
        raise UsageError(f"--out {out}: cannot write there ({_reason(error)})") from error
    if claim_it:
        claim(root, stage or "run")


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
