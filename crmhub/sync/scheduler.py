"""The scheduler inside ``crmhub serve``: runs the project's ``schedules`` in a thread.

Each due schedule runs the same code as the command line (a sync takes the project lock,
so a schedule never overlaps a sync started by hand: it waits for it). Next and last runs
are read from the run table, so they survive restarts of the server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from crmhub.config import Project
from crmhub.config.model import ScheduleConfig
from crmhub.errors import CrmhubError
from crmhub.store import Master
from crmhub.store.models import Run
from crmhub.sync.cron import next_fire

log = logging.getLogger("crmhub.sync.scheduler")


@dataclass
class ScheduleStatus:
    """What the web app shows for one schedule."""

    name: str
    cron: str
    command: str
    enabled: bool
    next_run: datetime | None
    last_run: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "cron": self.cron,
            "command": self.command,
            "enabled": self.enabled,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "last_run": self.last_run,
        }


def schedule_status(
    project: Project, master: Master, now: datetime | None = None
) -> list[ScheduleStatus]:
    """Every schedule with its next fire time and the last run it started."""
    moment = now or datetime.now(UTC)
    out = []
    with master.session() as s:
        for name, schedule in sorted(project.config.schedules.items()):
            recent = s.scalars(
                select(Run)
                .where(Run.kind == schedule.command, Run.parent_id.is_(None))
                .order_by(Run.id.desc())
                .limit(500)
            )
            last = next((r for r in recent if (r.args or {}).get("schedule") == name), None)
            out.append(
                ScheduleStatus(
                    name=name,
                    cron=schedule.cron,
                    command=schedule.command,
                    enabled=schedule.enabled,
                    next_run=next_fire(schedule.cron, moment) if schedule.enabled else None,
                    last_run=None
                    if last is None
                    else {
                        "run_id": last.id,
                        "status": last.status,
                        "started_at": last.started_at.isoformat(),
                        "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                    },
                )
            )
    return out


Runner = Callable[[str, ScheduleConfig], None]


def default_runner(project: Project, master: Master) -> Runner:
    """Run a due schedule's sync in this process (waiting for the project lock)."""

    def run(name: str, schedule: ScheduleConfig) -> None:
        from crmhub.sync.service import run_sync

        if schedule.command != "sync":
            log.warning("schedule %s: only `sync` runs inside crmhub serve; skipped", name)
            return
        run_sync(
            project,
            master,
            sources=schedule.sources,
            targets=schedule.targets,
            full=schedule.full,
            wait=True,
            schedule=name,
        )

    return run


class Scheduler:
    """A daemon thread firing due schedules; ``stop()`` ends it between runs."""

    def __init__(
        self,
        project: Project,
        runner: Runner,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick_s: float = 5.0,
    ) -> None:
        self.project = project
        self.runner = runner
        self.clock = clock
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        start = clock()
        self.due: dict[str, datetime] = {
            name: next_fire(s.cron, start)
            for name, s in project.config.schedules.items()
            if s.enabled
        }

    def start(self) -> None:
        """Start the thread."""
        self._thread = threading.Thread(target=self._loop, name="crmhub-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def tick(self) -> list[str]:
        """Run every schedule that is due now; return their names."""
        now = self.clock()
        fired = []
        for name, when in sorted(self.due.items()):
            if when > now:
                continue
            schedule = self.project.config.schedules[name]
            # The next time is computed from now: a run longer than the interval skips the
            # missed fires instead of starting them back to back.
            self.due[name] = next_fire(schedule.cron, now)
            fired.append(name)
            try:
                log.info("schedule %s: starting %s", name, schedule.command)
                self.runner(name, schedule)
            except CrmhubError as exc:
                log.warning("schedule %s: %s", name, exc.message)
            except Exception:
                log.exception("schedule %s crashed", name)
        return fired

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            self.tick()


def serve_scheduler(project: Project, master: Master) -> Scheduler | None:
    """For ``crmhub serve``: a started scheduler when the project has enabled schedules.

    Wiring (in the serve command): ``scheduler = serve_scheduler(project, master)`` before
    ``uvicorn.run(...)``, ``scheduler.stop()`` after it; the app can show
    ``schedule_status(project, master)`` (next and last runs) on its runs page.
    """
    if not any(s.enabled for s in project.config.schedules.values()):
        return None
    scheduler = Scheduler(project, default_runner(project, master))
    scheduler.start()
    for name, when in sorted(scheduler.due.items()):
        log.warning("schedule %s: next run at %s (UTC)", name, when.isoformat())
    return scheduler
