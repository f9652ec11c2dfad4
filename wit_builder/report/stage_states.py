"""What each stage's folder proves about it, read from the markers ``wit-builder run`` writes.

- **finished**: ``_SUCCESS`` holds its key, and the stages it read still hold the keys it read
  them with;
- **stale**: it finished, but a stage it read has run again since with other settings or inputs
  (or has not finished), so its files describe data that is no longer there;
- **failed**: its last run ended with an error (``_RUNNING`` records the exit status);
- **interrupted**: its last run started and never ended (killed, or running now);
- **output present**: files of the stage without a run's markers (a stage command run by hand);
- **never run**: nothing of it.

The run report shows a stage's figures only when it is finished or its output is present, so an
old training's curve never sits beside shards written since.
"""

from __future__ import annotations

from dataclasses import dataclass

import fsspec

from wit_builder import stages
from wit_builder.io.stage_folders import read_marker

SHOWN = ("finished", "output present")  # the states whose figures the report shows


@dataclass(frozen=True)
class StageState:
    stage: str
    state: str
    why: str = ""
    seconds: float | None = None

    @property
    def shown(self) -> bool:
        return self.state in SHOWN


def stage_states(run_dir: str) -> dict[str, StageState]:
    """Each stage's state in the run folder ``run_dir``, in chain order."""
    run_dir = run_dir.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    done = {stage.name: read_marker(f"{run_dir}/{stage.name}", "_SUCCESS") for stage in stages.chain()}
    states: dict[str, StageState] = {}
    for stage in stages.chain():
        folder = f"{run_dir}/{stage.name}"
        finished, running = done[stage.name], read_marker(folder, "_RUNNING")
        if finished is not None:
            seconds = finished.get("seconds") if isinstance(finished.get("seconds"), int | float) else None
            moved = [
                earlier
                for earlier, key in (finished.get("reads") or {}).items()
                if (done.get(earlier) or {}).get("key") != key
            ]
            if moved:
                why = f"{', '.join(moved)} ran again since: its files describe data no longer there"
                states[stage.name] = StageState(stage.name, "stale", why, seconds)
            else:
                states[stage.name] = StageState(stage.name, "finished", "", seconds)
        elif running is not None and isinstance(running.get("failed"), int):
            seconds = running.get("seconds") if isinstance(running.get("seconds"), int | float) else None
            states[stage.name] = StageState(stage.name, "failed", f"exit {running['failed']}", seconds)
        elif running is not None:
            states[stage.name] = StageState(stage.name, "interrupted", "started, and never ended (or running now)")
        elif filesystem.isdir(folder) and any(filesystem.exists(f"{folder}/{m}") for m in (*stage.marks, "stats.json")):
            states[stage.name] = StageState(stage.name, "output present", "written by a stage command, not a run")
        else:
            states[stage.name] = StageState(stage.name, "never run")
    return states
