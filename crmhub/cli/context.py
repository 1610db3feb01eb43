"""What every command shares: the project, the master, output mode."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from crmhub.config import Project, load_project
from crmhub.logs import MaskingFilter
from crmhub.store import Master, open_master


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
            self._master = open_master(
                project.master_url(), busy_timeout_s=project.config.master.busy_timeout_s
            )
        return self._master

    def close(self) -> None:
        """Release the master's connections."""
        if self._master is not None:
            self._master.dispose()


pass_ctx = click.make_pass_decorator(CliContext, ensure=True)


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
