"""``crmhub match``: the dedupe stage into the master."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.cli.workers_option import workers_option
from crmhub.locking import run_lock
from crmhub.match.stage import run_match
from crmhub.runs import mark_abandoned_runs, recorded_run


@click.command("match")
@click.option(
    "--full", is_flag=True, help="Re-train the model and re-match every record, not only changes."
)
@click.option("--learn", is_flag=True, help="Refine the model's weights with steward decisions.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--wait", is_flag=True, help="Wait for another run to finish instead of failing.")
@workers_option(
    None,
    "Processes that normalize the records of a full match: 'auto' (the CPUs this process"
    " may use, at most 4; one for small inputs) or a number. Default: matching.workers"
    " in crmhub.yml ('auto').",
)
@pass_ctx
def match(
    ctx: CliContext, full: bool, learn: bool, as_json: bool, wait: bool, workers: int | str | None
) -> None:
    """Match source records into golden records (stable master ids, xref, review queue)."""
    project, master = ctx.project(), ctx.master()
    if workers is not None:  # this run only; crmhub.yml stays as it is
        matching = project.config.matching.model_copy(update={"workers": workers})
        project.config = project.config.model_copy(update={"matching": matching})
    with run_lock(project.state_dir, wait=wait):
        mark_abandoned_runs(master)
        with recorded_run(master, "match", args={"full": full, "learn": learn}) as run:
            say = None if as_json else (lambda text: click.echo(f"  {text} ...", err=True))
            summary = run_match(project, master, run.id, full=full, learn=learn, progress=say)
            run.counts = summary.as_dict()
    if as_json:
        emit_json({"run_id": run.id, **run.counts})
        return
    click.echo(
        f"{summary.records:,} customer records ({summary.changed:,} new or changed) -> "
        f"{summary.clusters:,} golden records; {summary.merged_records:,} records share a master; "
        f"{summary.golden_created:,} new, {summary.golden_updated:,} updated, "
        f"{summary.masters_merged:,} masters merged, {summary.golden_retired:,} retired; "
        f"{summary.candidates:,} pairs for review; {summary.quarantined:,} quarantined"
    )
    for note in summary.notes:
        click.echo(f"  note: {note}")


COMMANDS = [match]
