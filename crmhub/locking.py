"""One writing run at a time per project: an OS file lock beside the master.

``flock`` locks die with their process, so a lock left by a killed run is released by the
kernel; the PID written into the file only serves the message shown to a second caller.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crmhub.errors import MasterLockedError


@contextmanager
def run_lock(folder: Path, *, wait: bool = False, timeout_s: float | None = None) -> Iterator[None]:
    """Hold the project's run lock; raise MasterLockedError at once unless ``wait``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait or (deadline is not None and time.monotonic() > deadline):
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    raise MasterLockedError(
                        f"another crmhub run (pid {holder}) is working on this project",
                        hint="wait for it to finish (see `crmhub runs`) or pass --wait",
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
