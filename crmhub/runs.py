"""Run records: every ingest, match, publish, sync and demo leaves one row in ``run``."""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from crmhub.errors import CrmhubError
from crmhub.store import Master
from crmhub.store.models import Run
from crmhub.store.types import utcnow


@dataclass
class RunHandle:
    """The run being recorded; the stage adds counts to it."""

    id: int
    kind: str
    target: str | None
    counts: dict[str, Any] = field(default_factory=dict)
    status: str = "succeeded"


def start_run(
    master: Master,
    kind: str,
    *,
    target: str | None = None,
    args: dict[str, Any] | None = None,
    parent_id: int | None = None,
) -> RunHandle:
    """Insert a running run row in its own transaction."""
    with master.session() as s:
        run = Run(
            kind=kind,
            target=target,
            args=args or {},
            parent_id=parent_id,
            status="running",
            pid=os.getpid(),
            counts={},
        )
        s.add(run)
        s.flush()
        return RunHandle(id=run.id, kind=kind, target=target)


def finish_run(master: Master, handle: RunHandle, *, error: str | None = None) -> None:
    """Close the run row with status, counts and the error (if any)."""
    with master.session() as s:
        run = s.get(Run, handle.id)
        if run is None:
            return
        run.status = "failed" if error else handle.status
        run.finished_at = utcnow()
        run.counts = handle.counts
        run.error = error


@contextmanager
def recorded_run(
    master: Master,
    kind: str,
    *,
    target: str | None = None,
    args: dict[str, Any] | None = None,
    parent_id: int | None = None,
) -> Iterator[RunHandle]:
    """Record a run around a block; an exception marks it failed with the message."""
    handle = start_run(master, kind, target=target, args=args, parent_id=parent_id)
    try:
        yield handle
    except CrmhubError as exc:
        finish_run(master, handle, error=exc.message)
        raise
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if not isinstance(exc, KeyboardInterrupt | SystemExit):
            message += "\n" + "".join(traceback.format_exception(exc)[-3:])
        finish_run(master, handle, error=message)
        raise
    else:
        finish_run(master, handle)


def mark_abandoned_runs(master: Master) -> int:
    """Runs still 'running' whose process is gone died without closing: mark them failed."""
    count = 0
    with master.session() as s:
        for run in s.scalars(select(Run).where(Run.status == "running")):
            if run.pid and _alive(run.pid) and run.pid != os.getpid():
                continue
            if run.pid == os.getpid():
                continue
            run.status = "failed"
            run.error = "the process ended without finishing the run (killed or crashed)"
            run.finished_at = run.finished_at or utcnow()
            count += 1
    return count


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
