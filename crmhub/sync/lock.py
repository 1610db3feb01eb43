"""One sync at a time per project: the project's lock file, plus a PostgreSQL advisory lock.

The lock file (crmhub/locking.py) guards runs on one host; a PostgreSQL master may be shared
by hosts, so sync also holds a session-level advisory lock on a connection of its own for the
whole run. Both die with the process: a killed run leaves nothing to clean up, and a stale
PID in the lock file only serves the message.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from crmhub.errors import MasterLockedError
from crmhub.locking import run_lock
from crmhub.store import Master


def advisory_key(project_name: str) -> int:
    """A stable signed 63-bit key for ``pg_advisory_lock`` from the project name."""
    return zlib.crc32(f"crmhub-sync:{project_name}".encode()) & 0x7FFFFFFF


@contextmanager
def sync_lock(
    master: Master, state_dir: Path, project_name: str, *, wait: bool = False
) -> Iterator[None]:
    """Hold the project's run lock (and the advisory lock on PostgreSQL) for a sync."""
    with run_lock(state_dir, wait=wait):
        if master.dialect != "postgresql":
            yield
            return
        key = advisory_key(project_name)
        with master.engine.connect() as conn:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                conn.rollback()
                if not wait:
                    raise MasterLockedError(
                        f"another crmhub sync of project {project_name!r} holds the master "
                        "(PostgreSQL advisory lock, maybe from another host)",
                        hint="wait for it to finish (see `crmhub runs`) or pass --wait",
                    )
                time.sleep(0.5)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
