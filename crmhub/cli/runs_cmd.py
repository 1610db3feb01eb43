"""``crmhub runs`` and ``crmhub status``: run history and counts."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import func, select

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.store import display_url
from crmhub.store.models import GoldenRecord, MatchCandidate, Quarantine, Run, SourceRecord, Xref


def _run_dict(run: Run) -> dict[str, Any]:
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    return {
        "id": run.id,
        "kind": run.kind,
        "target": run.target,
        "status": run.status,
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "seconds": round(seconds, 2) if seconds is not None else None,
        "counts": run.counts,
        "error": run.error,
    }


@click.command("runs")
@click.option("--limit", "-n", default=20, show_default=True, help="How many runs to show.")
@click.option("--kind", help="Only runs of this kind (ingest, match, publish, sync, demo).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def runs(ctx: CliContext, limit: int, kind: str | None, as_json: bool) -> None:
    """Show the run history, newest first."""
    master = ctx.master()
    with master.session() as s:
        query = select(Run).order_by(Run.id.desc()).limit(limit)
        if kind:
            query = query.where(Run.kind == kind)
        rows = [_run_dict(r) for r in s.scalars(query)]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no runs yet")
        return
    click.echo(
        f"{'id':>5}  {'kind':8} {'target':14} {'status':10} {'started':20} {'secs':>7}  summary"
    )
    for r in rows:
        counts = r["counts"] or {}
        summary = ", ".join(
            f"{k} {v:,}"
            for k, v in counts.items()
            if isinstance(v, int) and not isinstance(v, bool)
        )
        secs = f"{r['seconds']:.1f}" if r["seconds"] is not None else "-"
        click.echo(
            f"{r['id']:>5}  {r['kind']:8} {(r['target'] or '-')[:14]:14} {r['status']:10} "
            f"{r['started_at'][:19]:20} {secs:>7}  {summary}"
        )
        if r["error"]:
            click.echo(f"{'':7}error: {r['error'].splitlines()[0]}")


def status_counts(ctx: CliContext) -> dict[str, Any]:
    """Counts of every master table, for ``status`` and the demo summary."""
    master = ctx.master()
    with master.session() as s:
        by_source = {
            f"{src}/{stream}": {"records": n}
            for src, stream, n in s.execute(
                select(SourceRecord.source, SourceRecord.stream, func.count())
                .where(SourceRecord.deleted.is_(False))
                .group_by(SourceRecord.source, SourceRecord.stream)
            )
        }
        golden = dict(
            s.execute(select(GoldenRecord.status, func.count()).group_by(GoldenRecord.status)).all()
        )
        candidates = dict(
            s.execute(
                select(MatchCandidate.status, func.count()).group_by(MatchCandidate.status)
            ).all()
        )
        quarantine = s.scalar(
            select(func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))
        )
        pending = s.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .where(SourceRecord.match_state == "pending", SourceRecord.status == "ok")
        )
        xrefs = s.scalar(select(func.count()).select_from(Xref))
        last = s.scalars(select(Run).order_by(Run.id.desc()).limit(1)).first()
    project = ctx.project()
    return {
        "project": str(project.file),
        "master": display_url(project.master_url()),
        "schema_revision": master.current_revision(),
        "sources": by_source,
        "source_records_pending_match": pending,
        "golden_records": {
            "active": golden.get("active", 0),
            "merged": golden.get("merged", 0),
            "retired": golden.get("retired", 0),
        },
        "xref": xrefs,
        "match_candidates": candidates,
        "quarantine_open": quarantine,
        "last_run": _run_dict(last) if last else None,
    }


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def status(ctx: CliContext, as_json: bool) -> None:
    """Show what the master holds: records per source, golden records, queue, quarantine."""
    data = status_counts(ctx)
    if as_json:
        emit_json(data)
        return
    click.echo(f"project:  {data['project']}")
    click.echo(f"master:   {data['master']} (schema {data['schema_revision']})")
    click.echo("sources:")
    for name, info in sorted(data["sources"].items()):
        click.echo(f"  {name:30} {info['records']:>10,} records")
    if not data["sources"]:
        click.echo("  (nothing ingested yet: run `crmhub ingest`)")
    g = data["golden_records"]
    click.echo(
        f"golden records: {g['active']:,} active, {g['merged']:,} merged away, "
        f"{g['retired']:,} retired"
    )
    c = data["match_candidates"]
    click.echo(
        f"review queue:   {c.get('pending', 0):,} pending, {c.get('approved', 0):,} approved, "
        f"{c.get('rejected', 0):,} rejected"
    )
    click.echo(f"quarantine:     {data['quarantine_open']:,} open")
    click.echo(f"waiting for match: {data['source_records_pending_match']:,} source records")
    last = data["last_run"]
    if last:
        click.echo(f"last run:       #{last['id']} {last['kind']} {last['status']}")


COMMANDS = [runs, status]
