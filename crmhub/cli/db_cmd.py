"""``crmhub db``: the master's schema."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, pass_ctx
from crmhub.store import Master, display_url


@click.group("db")
def db() -> None:
    """Master database schema commands (migrations are also applied automatically)."""


@db.command("upgrade")
@pass_ctx
def upgrade(ctx: CliContext) -> None:
    """Apply pending schema migrations to the master."""
    project = ctx.project()
    master = Master(project.master_url(), busy_timeout_s=project.config.master.busy_timeout_s)
    try:
        applied = master.upgrade()
        where = display_url(project.master_url())
        if applied:
            click.echo(f"{where}: applied {', '.join(applied)}")
        else:
            click.echo(f"{where}: already at {master.current_revision()}")
    finally:
        master.dispose()


@db.command("current")
@pass_ctx
def current(ctx: CliContext) -> None:
    """Print the master's schema revision."""
    project = ctx.project()
    master = Master(project.master_url(), busy_timeout_s=project.config.master.busy_timeout_s)
    try:
        click.echo(master.current_revision() or "empty (run `crmhub db upgrade`)")
    finally:
        master.dispose()


COMMANDS = [db]
