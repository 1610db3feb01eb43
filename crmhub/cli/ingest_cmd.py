"""``crmhub ingest``: run the sources' taps into the master's staging tables."""

from __future__ import annotations

from typing import Any

import click

from crmhub.cli.context import CliContext, Progress, emit_json, pass_ctx
from crmhub.errors import CrmhubError, UnknownSourceError
from crmhub.ingest import SourceIngest
from crmhub.locking import run_lock
from crmhub.runs import mark_abandoned_runs, recorded_run


@click.command("ingest")
@click.argument("sources", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--wait", is_flag=True, help="Wait for another run to finish instead of failing.")
@pass_ctx
def ingest(ctx: CliContext, sources: tuple[str, ...], as_json: bool, wait: bool) -> None:
    """Run the taps of SOURCES (default: every enabled source) into the master.

    Incremental: each tap gets the Singer state saved by its last run. Re-running after a
    failure continues where the last committed STATE left off; nothing is duplicated.
    """
    project = ctx.project()
    configured = project.config.sources
    names = list(sources) or [n for n, s in configured.items() if s.enabled]
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise UnknownSourceError(
            f"unknown source(s) {', '.join(unknown)} "
            f"(sources in {project.file.name}: {', '.join(sorted(configured)) or 'none'})",
            hint="check the names, or add them under `sources:` in crmhub.yml",
        )
    if not names:
        raise UnknownSourceError(
            f"{project.file.name} has no enabled sources", hint="add one under `sources:`"
        )
    master = ctx.master()
    results: list[dict[str, object]] = []
    failures: list[tuple[str, CrmhubError]] = []
    with run_lock(project.state_dir, wait=wait):
        mark_abandoned_runs(master)
        for name in names:
            try:
                counts = _ingest_one(ctx, name)
            except CrmhubError as exc:
                failures.append((name, exc))
                results.append({"source": name, "error": exc.message})
                if len(names) > 1:  # the others still run; the error is repeated at the end
                    click.secho(f"{name}: failed: {exc.render()}", err=True, fg="red")
                continue
            results.append(counts)
            if not as_json:
                click.echo(
                    f"{name}: {counts['records']:,} records in {counts['seconds']:.1f} s "
                    f"(new {counts['new']:,}, changed {counts['changed']:,}, "
                    f"unchanged {counts['unchanged']:,}, quarantined {counts['quarantined']:,})"
                )
                for warning in counts["warnings"]:
                    click.secho(f"  warning: {warning}", err=True, fg="yellow")
    if as_json:
        emit_json(results)
    if failures:
        if len(failures) == 1:
            raise failures[0][1]
        first = failures[0][1]
        raise type(first)(
            f"{len(failures)} of {len(names)} sources failed: "
            + "; ".join(f"{n}: {e.message.splitlines()[0]}" for n, e in failures),
            hint="see the messages above; re-run `crmhub ingest` for the failed sources",
        )


def _ingest_one(ctx: CliContext, name: str) -> dict[str, Any]:
    project, master = ctx.project(), ctx.master()
    progress = Progress()
    with recorded_run(master, "ingest", target=name, args={"source": name}) as run:
        job = SourceIngest(project, master, name, run.id, progress=progress)
        try:
            summary = job.run()
        finally:
            progress.done()
            run.counts = job.summary.as_dict()
        run.counts = summary.as_dict()
    return {"run_id": run.id, **run.counts}


COMMANDS = [ingest]
