"""``crmhub publish``: push changed golden records and their history to the targets."""

from __future__ import annotations

from typing import Any

import click

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.errors import CrmhubError
from crmhub.locking import run_lock
from crmhub.logs import mask_personal_data
from crmhub.publish.results import ACTIONS
from crmhub.publish.service import PublishOutcome, publish_targets, target_names
from crmhub.runs import mark_abandoned_runs


@click.command("publish")
@click.argument("targets", nargs=-1)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only tell what would be done (counts and a sample); change nothing in the CRM "
    "or the publish ledger.",
)
@click.option(
    "--full", is_flag=True, help="Send every record, not only those changed since last time."
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--wait", is_flag=True, help="Wait for another run to finish instead of failing.")
@pass_ctx
def publish(
    ctx: CliContext,
    targets: tuple[str, ...],
    dry_run: bool,
    full: bool,
    as_json: bool,
    wait: bool,
) -> None:
    """Push the master to TARGETS (default: every enabled target under `targets:`).

    Runs `tap-crmhub | <target>` as two processes per target and records what the CRM
    accepted (remote ids, content hashes) in the publish ledger. Only records changed since
    the target last accepted them are sent, plus the records that failed last time (the
    retry list). A target that stops half-way keeps what it accepted: re-run to send the rest.
    """
    project = ctx.project()
    names = target_names(project, targets)
    master = ctx.master()

    def report(name: str, exc: CrmhubError) -> None:
        if len(names) > 1:
            click.secho(f"{name}: failed: {exc.render()}", err=True, fg="red")

    with run_lock(project.state_dir, wait=wait):
        mark_abandoned_runs(master)
        outcomes, failures = publish_targets(
            project, master, names, dry_run=dry_run, full=full, on_error=report
        )
    if as_json:
        emit_json(
            [o.as_dict() for o in outcomes]
            + [{"target": n, "error": e.message} for n, e in failures]
        )
    else:
        for outcome in outcomes:
            _print(outcome)
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        first = failures[0][1]
        raise type(first)(
            f"{len(failures)} of {len(names)} targets failed: "
            + "; ".join(f"{n}: {e.message.splitlines()[0]}" for n, e in failures),
            hint="see the messages above; re-run `crmhub publish` for the failed targets",
        )


def _print(outcome: PublishOutcome) -> None:
    counts = ", ".join(
        f"{action} {outcome.counts.get(action, 0):,}"
        for action in ACTIONS
        if action != "delete" or outcome.counts.get(action)
    )
    if outcome.dry_run:
        click.echo(f"{outcome.target} (dry run, nothing changed): would {counts}")
        for line in _sample_lines(outcome.samples):
            click.echo(f"  {line}")
    else:
        click.echo(
            f"{outcome.target}: {outcome.sent:,} records sent in {outcome.seconds:.1f} s: "
            f"{counts} (run {outcome.run_id})"
        )
    if outcome.failed or outcome.retry_list:
        click.secho(
            f"  {outcome.failed:,} failed this run, {outcome.retry_list:,} on the retry list "
            f"(sent again next run); details: {outcome.error_file}",
            err=True,
            fg="yellow",
        )
    if outcome.error:
        click.secho(f"  warning: {outcome.error}", err=True, fg="yellow")


def _sample_lines(samples: dict[str, Any], limit: int = 3) -> list[str]:
    """A few records per stream and action, personal data masked."""
    lines = []
    for stream, by_action in sorted(samples.items()):
        for action, items in sorted(by_action.items()):
            for item in items[:limit]:
                payload = item.get("payload")
                shown = ""
                if isinstance(payload, dict):
                    shown = ", ".join(
                        f"{k}={v}" for k, v in list(payload.items())[:6] if v not in (None, "")
                    )
                error = f" error: {item['error']}" if item.get("error") else ""
                lines.append(
                    mask_personal_data(
                        f"{action} {stream} {item.get('key')} -> {item.get('object')}"
                        f"{': ' + shown if shown else ''}{error}"
                    )
                )
    return lines


COMMANDS = [publish]
