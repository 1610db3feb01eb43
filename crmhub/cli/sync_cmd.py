"""``crmhub sync``: ingest, match and publish the whole project as one recorded run."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.errors import CrmhubError
from crmhub.sync.service import SyncResult, run_sync


@click.command("sync")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--target", "targets", multiple=True, help="Only this target (repeatable).")
@click.option(
    "--full",
    is_flag=True,
    help="Re-read every source from scratch (deletions detected), re-match everything and "
    "send every record again.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.option("--wait", is_flag=True, help="Wait for a running sync instead of exiting at once.")
@click.option("--no-notify", is_flag=True, help="Do not send the configured notifications.")
@pass_ctx
def sync(
    ctx: CliContext,
    sources: tuple[str, ...],
    targets: tuple[str, ...],
    full: bool,
    as_json: bool,
    wait: bool,
    no_notify: bool,
) -> None:
    """Ingest (incremental Singer state), match (incremental) and publish (changed records).

    One run at a time per project: a second sync exits at once (or waits with --wait).
    Safe to kill at any moment: the next sync finishes the job, nothing lost or duplicated.
    Exit codes: 0 succeeded, 75 partial (a source or target failed; the next run retries
    it), 70 a step failed (named, with the command to retry it), 78 configuration error.
    """
    project, master = ctx.project(), ctx.master()
    log_format = click.get_current_context().find_root().params.get("log_format", "text")
    say = None if as_json else (lambda step: click.echo(f"  {step} ...", err=True))
    try:
        result = run_sync(
            project,
            master,
            sources=sources,
            targets=targets,
            full=full,
            wait=wait,
            masking=ctx.masking,
            log_format=str(log_format),
            say=say,
            send_notifications=not no_notify,
        )
    except CrmhubError as exc:
        failed: SyncResult | None = getattr(exc, "result", None)
        if failed is not None:
            _show(failed, as_json)
        raise
    _show(result, as_json)


def _show(result: SyncResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.as_dict())
        return
    for step in result.steps:
        counts = step.counts
        if step.step == "ingest" and step.status != "skipped":
            detail = (
                f"{counts.get('records', 0):,} records (new {counts.get('new', 0):,}, changed "
                f"{counts.get('changed', 0):,}, unchanged {counts.get('unchanged', 0):,})"
            )
        elif step.step == "deletions":
            detail = f"{counts.get('deleted', 0):,} records marked deleted"
        elif step.step == "match" and counts:
            detail = (
                f"{counts.get('changed', 0):,} new or changed records -> "
                f"{counts.get('golden_created', 0):,} new, {counts.get('golden_updated', 0):,} "
                f"updated, {counts.get('golden_retired', 0):,} retired golden records"
            )
        elif step.step == "publish" and "sent" in counts:
            detail = (
                f"{counts['sent']:,} sent, {counts['accepted']:,} accepted, "
                f"{counts['failed']:,} failed"
            )
        else:
            detail = str(counts.get("note", ""))
        failed = f" (failed: {', '.join(step.failed)})" if step.failed else ""
        click.echo(f"{step.step:<10} {step.status:<9} {step.seconds:6.1f} s  {detail}{failed}")
    click.echo(
        f"sync run {result.run_id} {result.status} in {result.seconds:.1f} s "
        f"(CPU {result.cpu_seconds:.1f} s); log: {result.log_file}"
    )
    for note in result.notes:
        click.secho(f"  note: {note}", err=True, fg="yellow")
    for line in result.notifications:
        click.echo(f"  notified: {line}", err=True)


COMMANDS = [sync]
