"""File bookmarks: modification time, size and content hash of each file read.

A file whose content hash matches its bookmark is not re-emitted (a touched but unchanged
file included); a changed file is re-read whole. The bookmark is written only once the file
was read to the end, so a crash mid-file re-reads it next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from tap_spreadsheet.errors import SpreadsheetFileError


@dataclass(frozen=True)
class FileFingerprint:
    """What identifies one version of a file."""

    sha256: str
    size: int
    modified_at: str

    def matches(self, state: MutableMapping[str, Any]) -> bool:
        """True when ``state`` holds a bookmark of this same content."""
        return state.get("file_sha256") == self.sha256

    def store(self, state: MutableMapping[str, Any]) -> None:
        """Write this fingerprint as the bookmark into ``state``."""
        state["file_sha256"] = self.sha256
        state["file_size"] = self.size
        state["file_modified_at"] = self.modified_at


def fingerprint(path: str) -> FileFingerprint:
    """Hash and stat ``path``; a vanished file is a :class:`SpreadsheetFileError`."""
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError as exc:
        raise SpreadsheetFileError(
            path,
            "the file disappeared during the run",
            hint="check whether another process moves or deletes files in this folder",
        ) from exc
    except OSError as exc:
        raise SpreadsheetFileError(path, f"cannot read the file: {exc.strerror}") from exc
    modified = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
    return FileFingerprint(
        sha256=digest, size=stat.st_size, modified_at=modified.isoformat(timespec="seconds")
    )
