"""Where training numbers go: the console, ``OUT/metrics.jsonl``, and TensorBoard if installed.

On resume, ``metrics.jsonl`` keeps only the records up to the checkpoint's step, so the file
always describes one unbroken run, with no duplicated or orphaned steps after a kill.
"""

from __future__ import annotations

import json
import sys
import time

import fsspec

from wit_builder.atomic import write_atomically


class MetricsLog:
    def __init__(self, out: str, enabled: bool, resume_step: int | None = None):
        self.enabled = enabled
        self.path = f"{out.rstrip('/')}/metrics.jsonl"
        self.tensorboard = None
        self.interactive = sys.stderr.isatty()
        if not enabled:
            return
        filesystem, _ = fsspec.core.url_to_fs(self.path)
        filesystem.makedirs(out, exist_ok=True)
        kept: list[str] = []
        if resume_step is not None and filesystem.exists(self.path):
            with filesystem.open(self.path, "rt", encoding="utf-8") as handle:
                kept = [line for line in handle if line.strip() and json.loads(line).get("step", 0) <= resume_step]
        write_atomically(self.path, "".join(kept))  # then appended to, a line a record
        try:
            from torch.utils.tensorboard import SummaryWriter

            if "://" not in out:
                self.tensorboard = SummaryWriter(f"{out.rstrip('/')}/tensorboard")
        except ImportError:
            self.tensorboard = None

    def record(self, values: dict) -> None:
        """Append one record (``step`` and numbers) to the log and TensorBoard."""
        if not self.enabled:
            return
        with fsspec.open(self.path, "at", encoding="utf-8") as handle:
            handle.write(json.dumps({"time": round(time.time(), 3), **values}) + "\n")
        if self.tensorboard is not None:
            for name, value in values.items():
                if isinstance(value, (int, float)) and name != "step":
                    self.tensorboard.add_scalar(name, value, values["step"])

    def say(self, line: str, progress: bool = False) -> None:
        """A console line; progress lines overwrite each other on a terminal."""
        if not self.enabled:
            return
        if progress and self.interactive:
            print("\r" + line.ljust(120), end="", file=sys.stderr, flush=True)
        else:
            print(("\n" if progress is False and self.interactive else "") + line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tensorboard is not None:
            self.tensorboard.close()
