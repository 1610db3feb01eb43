"""``crmhub ingest``: run the sources' taps into the master's staging tables."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, Progress, emit_json, pass_ctx
from crmhub.errors import CrmhubError
from crmhub.ingest.remap import remap_source
from crmhub.ingest.service import ingest_sources, source_names
from crmhub.locking import run_lock
from crmhub.runs import mark_abandoned_runs, recorded_run


@click.command("ingest")
@click.argument("sources", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--wait", is_flag=True, help="Wait for another run to finish instead of failing.")
@click.option(
    "--remap",
    is_flag=True,
    help="Run no tap: re-apply the current mappings to the stored records (after fixing a "
    "mapping; quarantined records that now map are released).",
)
@pass_ctx
def ingest(
    ctx: CliContext, sources: tuple[str, ...], as_json: bool, wait: bool, remap: bool
) -> None:
    """Run the taps of SOURCES (default: every enabled source) into the master.

    Incremental: each tap gets the Singer state saved by its last run. Re-running after a
    failure continues where the last committed STATE left off; nothing is duplicated. A
    failing source does not stop the others; the exit code says that one failed.
    """
    project = ctx.project()
    names = source_names(project, sources)
    master = ctx.master()

    def report(name: str, exc: CrmhubError) -> None:
        if len(names) > 1:
            click.secho(f"{name}: failed: {exc.render()}", err=True, fg="red")

    if remap:
        results = []
        with run_lock(project.state_dir, wait=wait):
            for name in names:
                with recorded_run(master, "remap", target=name, args={"source": name}) as run:
                    run.counts = {"streams": remap_source(project, master, name, run.id)}
                results.append({"source": name, "run_id": run.id, **run.counts})
        if as_json:
            emit_json(results)
        else:
            for r in results:
                for stream, c in r["streams"].items():
                    click.echo(
                        f"{r['source']}/{stream}: {c['changed']:,} re-mapped, "
                        f"{c['unchanged']:,} unchanged, {c['quarantined']:,} still quarantined, "
                        f"{c['quarantine_resolved']:,} released from quarantine"
                    )
        return
    with run_lock(project.state_dir, wait=wait):
        mark_abandoned_runs(master)
        outcome = ingest_sources(project, master, names, progress=Progress, on_error=report)
    if as_json:
        emit_json(outcome.results)
    else:
        for counts in outcome.results:
            if "error" in counts:
                continue
            click.echo(
                f"{counts['source']}: {counts['records']:,} records in {counts['seconds']:.1f} s "
                f"(new {counts['new']:,}, changed {counts['changed']:,}, "
                f"unchanged {counts['unchanged']:,}, quarantined {counts['quarantined']:,})"
            )
            for warning in counts["warnings"]:
                click.secho(f"  warning: {warning}", err=True, fg="yellow")
    outcome.raise_failures(len(names))


COMMANDS = [ingest]
