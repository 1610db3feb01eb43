"""Resolve a stream's ``path`` (a file or a glob) to files, in a stable order."""

from __future__ import annotations

import glob
import os

from tap_legacy.errors import LegacyConfigError

GLOB_CHARS = set("*?[")


def resolve_paths(pattern: str, stream: str) -> list[str]:
    """Files matching ``pattern`` (``~`` expanded), sorted; a missing plain file is an error."""
    expanded = os.path.expanduser(pattern)
    if not GLOB_CHARS & set(expanded):
        if not os.path.isfile(expanded):
            raise LegacyConfigError(
                f"stream {stream!r}: file {expanded!r} does not exist",
                hint="check 'path' in the tap config",
            )
        return [expanded]
    return sorted(p for p in glob.glob(expanded, recursive=True) if os.path.isfile(p))
