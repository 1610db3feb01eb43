"""``crmhub review``: the steward's queue from the shell."""

from __future__ import annotations

import getpass
from typing import Any

import click

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.steward import actions
from crmhub.steward.queries import candidate_detail, queue

_ACTOR = click.option(
    "--as",
    "actor",
    default=lambda: getpass.getuser(),
    show_default="your login name",
    help="Who decides (recorded in the audit trail).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _priorities(ctx: CliContext) -> dict[str, int]:
    return {n: s.priority for n, s in ctx.project().config.sources.items()}


@click.group("review")
def review() -> None:
    """Work the merge-candidate queue: list, show, approve, reject, skip, split, undo."""


@review.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "approved", "rejected", "all"]),
    default="pending",
    show_default=True,
)
@click.option("--source", help="Only pairs with a record from this source.")
@click.option("--min-score", type=float, help="Lowest match probability.")
@click.option("--max-score", type=float, help="Highest match probability.")
@click.option(
    "--sort", type=click.Choice(["uncertainty", "score"]), default="uncertainty", show_default=True
)
@click.option("--limit", "-n", default=20, show_default=True)
@click.option("--offset", default=0, show_default=True)
@_JSON
@pass_ctx
def list_(
    ctx: CliContext,
    status: str,
    source: str | None,
    min_score: float | None,
    max_score: float | None,
    sort: str,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List merge candidates (most uncertain first)."""
    with ctx.master().session() as s:
        total, page = queue(
            s,
            status=status,
            source=source,
            min_score=min_score,
            max_score=max_score,
            sort=sort,
            limit=limit,
            offset=offset,
        )
    if as_json:
        emit_json({"total": total, "offset": offset, "candidates": page})
        return
    click.echo(f"{total:,} {status} candidates" + (f", showing {len(page)}" if page else ""))
    for c in page:
        left, right = c["left"], c["right"]
        click.echo(
            f"#{c['id']:<6} {c['score']:.3f}  {left['source']}:{left['source_key']} "
            f"{left['name']!r}  <->  {right['source']}:{right['source_key']} {right['name']!r}"
        )


@review.command("show")
@click.argument("candidate_id", type=int)
@_JSON
@pass_ctx
def show(ctx: CliContext, candidate_id: int, as_json: bool) -> None:
    """Show both records of a candidate side by side and why they scored as they did."""
    with ctx.master().session() as s:
        detail = candidate_detail(s, candidate_id)
    if as_json:
        emit_json(detail)
        return
    left, right = detail["left"], detail["right"]
    click.echo(
        f"candidate #{detail['id']} ({detail['status']}, score {detail['score']:.3f}, "
        f"version {detail['version']})"
    )
    click.echo(
        f"{'':18} {left['source']}:{left['source_key']:<28} {right['source']}:{right['source_key']}"
    )
    for f in detail["fields"]:
        mark = " " if f["same"] else "*"
        click.echo(f"{mark} {f['field']:16} {_cell(f['left']):<40} {_cell(f['right'])}")
    if detail["explanation"]:
        click.echo("why:")
        for line in detail["explanation"]:
            click.echo(
                f"  {line.get('label', line.get('comparison', '?')):50} {line.get('weight', 0):+.2f}"
            )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values() if v)
    return str(value)


def _decided(decision: actions.Decision, as_json: bool, text: str) -> None:
    if as_json:
        emit_json(decision.as_dict())
    else:
        click.echo(text)


@review.command("approve")
@click.argument("candidate_id", type=int)
@click.option("--version", "expected", type=int, help="Fail if the candidate changed since.")
@_ACTOR
@_JSON
@pass_ctx
def approve(
    ctx: CliContext, candidate_id: int, expected: int | None, actor: str, as_json: bool
) -> None:
    """Merge the two records of a candidate (the older master survives)."""
    with ctx.master().session() as s:
        d = actions.approve(
            s, candidate_id, actor=actor, priorities=_priorities(ctx), expected_version=expected
        )
    _decided(d, as_json, f"approved #{candidate_id}: merged into {d.master_ids[0]}")


@review.command("reject")
@click.argument("candidate_id", type=int)
@click.option("--version", "expected", type=int, help="Fail if the candidate changed since.")
@_ACTOR
@_JSON
@pass_ctx
def reject(
    ctx: CliContext, candidate_id: int, expected: int | None, actor: str, as_json: bool
) -> None:
    """Keep the two records apart; the pair is never proposed again."""
    with ctx.master().session() as s:
        d = actions.reject(s, candidate_id, actor=actor, expected_version=expected)
    _decided(d, as_json, f"rejected #{candidate_id}")


@review.command("skip")
@click.argument("candidate_id", type=int)
@_ACTOR
@_JSON
@pass_ctx
def skip(ctx: CliContext, candidate_id: int, actor: str, as_json: bool) -> None:
    """Leave a candidate for later (recorded)."""
    with ctx.master().session() as s:
        d = actions.skip(s, candidate_id, actor=actor)
    _decided(d, as_json, f"skipped #{candidate_id}")


@review.command("split")
@click.argument("master_id")
@click.argument("record_ids", nargs=-1, type=int, required=True)
@_ACTOR
@_JSON
@pass_ctx
def split(
    ctx: CliContext, master_id: str, record_ids: tuple[int, ...], actor: str, as_json: bool
) -> None:
    """Move RECORD_IDS (source record ids) out of MASTER_ID into a new golden record."""
    with ctx.master().session() as s:
        d = actions.split(s, master_id, record_ids, actor=actor, priorities=_priorities(ctx))
    _decided(
        d, as_json, f"split {master_id}: records {list(record_ids)} now form {d.master_ids[1]}"
    )


@review.command("undo")
@_ACTOR
@_JSON
@pass_ctx
def undo(ctx: CliContext, actor: str, as_json: bool) -> None:
    """Undo your last approve, reject or split."""
    with ctx.master().session() as s:
        d = actions.undo_last(s, actor=actor, priorities=_priorities(ctx))
    _decided(
        d, as_json, f"undone: {', '.join(d.master_ids) or 'candidate #' + str(d.candidate_id)}"
    )


COMMANDS = [review]
