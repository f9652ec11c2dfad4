"""The time the stages stamp on what they record (when an image or a host file was fetched):
now, in UTC, to the second, as ISO 8601; or, when ``SOURCE_DATE_EPOCH`` is set (the
reproducible-builds convention), that time, so that two runs over the same inputs can be
compared byte for byte (the tests set it)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime


def stamp() -> str:
    """``2026-12-06T14:25:36Z``: now, or ``SOURCE_DATE_EPOCH``'s second when it is set."""
    fixed = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    seconds = int(fixed) if fixed.isdigit() else int(time.time())
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
