"""``crmhub schedule``: the project's schedules, and their crontab / systemd equivalents."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.sync.scheduler import schedule_status
from crmhub.sync.units import crontab_line, systemd_units


@click.group("schedule")
def schedule() -> None:
    """Schedules from `schedules:` in crmhub.yml (run by `crmhub serve`)."""


@schedule.command("show")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["all", "crontab", "systemd", "status"]),
    default="all",
    show_default=True,
    help="What to print: crontab lines, systemd units, next/last runs, or all of them.",
)
@click.option("--json", "as_json", is_flag=True, help="Print next/last runs as JSON.")
@pass_ctx
def show(ctx: CliContext, fmt: str, as_json: bool) -> None:
    """Print each schedule's next and last run, and the equivalent crontab lines and systemd
    timer units for teams that schedule on the host instead of in `crmhub serve`."""
    project = ctx.project()
    schedules = project.config.schedules
    if not schedules:
        click.echo(
            f"{project.file.name} has no `schedules:` (example: nightly: {{cron: '30 2 * * *'}})"
        )
        return
    if as_json or fmt == "status":
        status = schedule_status(project, ctx.master())
        if as_json:
            emit_json([s.as_dict() for s in status])
            return
        for item in status:
            last = item.last_run
            click.echo(
                f"{item.name}: {item.cron} ({item.command}) next "
                f"{item.next_run.isoformat() if item.next_run else 'disabled'}; last "
                + (
                    f"run {last['run_id']} {last['status']} at {last['started_at']}"
                    if last
                    else "never"
                )
            )
        return
    enabled = {n: s for n, s in sorted(schedules.items()) if s.enabled}
    if fmt in ("all", "crontab"):
        click.echo("# crontab lines (crontab -e); times are the host's local time")
        for name, config in enabled.items():
            click.echo(crontab_line(name, project.file.resolve(), config))
    if fmt in ("all", "systemd"):
        for name, config in enabled.items():
            units = systemd_units(project.config.name, name, project.file.resolve(), config)
            click.echo(f"\n# /etc/systemd/system/{units.name}.service")
            click.echo(units.service, nl=False)
            click.echo(f"\n# /etc/systemd/system/{units.name}.timer")
            click.echo(units.timer, nl=False)
        if enabled:
            first = next(iter(enabled))
            unit = systemd_units(project.config.name, first, project.file.resolve(), enabled[first])
            click.echo(
                f"\n# then: systemctl daemon-reload && systemctl enable --now {unit.name}.timer"
            )


COMMANDS = [schedule]
