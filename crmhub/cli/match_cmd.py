"""``crmhub match``: the dedupe stage into the master."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.locking import run_lock
from crmhub.match.stage import run_match
from crmhub.runs import mark_abandoned_runs, recorded_run


@click.command("match")
@click.option("--full", is_flag=True, help="Re-match every record, not only new and changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--wait", is_flag=True, help="Wait for another run to finish instead of failing.")
@pass_ctx
def match(ctx: CliContext, full: bool, as_json: bool, wait: bool) -> None:
    """Match source records into golden records (stable master ids, xref, review queue)."""
    project, master = ctx.project(), ctx.master()
    with run_lock(project.state_dir, wait=wait):
        mark_abandoned_runs(master)
        with recorded_run(master, "match", args={"full": full}) as run:
            summary = run_match(project, master, run.id)
            run.counts = summary.as_dict()
    if as_json:
        emit_json({"run_id": run.id, **run.counts})
        return
    click.echo(
        f"matched {summary.records:,} customer records into {summary.clusters:,} golden records "
        f"({summary.merged_records:,} records merged; {summary.golden_created:,} new, "
        f"{summary.golden_updated:,} updated, {summary.masters_merged:,} masters merged, "
        f"{summary.golden_retired:,} retired; {summary.candidates:,} for review)"
    )
    for note in summary.notes:
        click.echo(f"  note: {note}")


COMMANDS = [match]
