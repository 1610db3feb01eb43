"""What every command shares: the project, the master, output mode."""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from crmhub.config import Project, load_project
from crmhub.logs import MaskingFilter
from crmhub.store import Master, open_master
from crmhub.store.engine import MIGRATIONS

# Migration files are named after their revision id, numbered in order ("0007_....py").
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


@dataclass
class CliContext:
    """Lazily loaded project and master for one command."""

    project_path: Path | None = None
    verbose: int = 0
    masking: MaskingFilter | None = None
    _project: Project | None = field(default=None, repr=False)
    _master: Master | None = field(default=None, repr=False)

    def project(self) -> Project:
        """Load (once) and validate the project file."""
        if self._project is None:
            self._project = load_project(self.project_path)
            if self.masking is not None:
                self.masking.secrets.update(self._project.secrets)
        return self._project

    def master(self) -> Master:
        """Open (once) the project's master, migrated to the newest schema."""
        if self._master is None:
            project = self.project()
            master = open_master(
                project.master_url(),
                busy_timeout_s=project.config.master.busy_timeout_s,
                upgrade=False,
            )
            if not schema_is_current(master):
                master.upgrade()
            self._master = master
        return self._master

    def close(self) -> None:
        """Release the master's connections."""
        if self._master is not None:
            self._master.dispose()


pass_ctx = click.make_pass_decorator(CliContext, ensure=True)


def newest_revision() -> str | None:
    """The revision id of the newest migration, from the file names (None: none found)."""
    found = [
        m.group(1)
        for p in (Path(MIGRATIONS) / "versions").iterdir()
        if (m := _REVISION_FILE.match(p.name))
    ]
    return max(found, default=None)


def schema_is_current(master: Master) -> bool:
    """Whether the master is at the newest migration, read without Alembic.

    Every command opens the master, and importing Alembic to compare revisions costs about
    a third of a second of CPU (its dialect modules and Mako); the answer is almost always
    yes. Anything else (an older or unknown revision, no version table yet, an error) says
    no, and :meth:`Master.upgrade` decides, migrates or reports as before.
    """
    newest = newest_revision()
    if newest is None:
        return False
    try:
        with master.engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError:
        return False
    return [v for (v,) in versions] == [newest]


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


class Progress:
    """A one-line progress display on a terminal; quiet when stderr is not a terminal."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, label: str, count: int, now: float) -> None:
        """Show ``count`` items done for ``label`` (at most 4 updates a second)."""
        if not self.enabled or now - self.last < 0.25:
            return
        self.last = now
        rate = count / max(now - self.started, 1e-6)
        click.echo(f"\r  {label}: {count:,} records ({rate:,.0f}/s)   ", nl=False, err=True)

    def done(self) -> None:
        """End the progress line."""
        if self.enabled and self.last:
            click.echo("", err=True)
        self.last = 0.0
        self.started = time.monotonic()
