"""``crmhub xref export`` and ``crmhub golden export``."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

import click

from crmhub.cli.context import CliContext, pass_ctx
from crmhub.exports import GOLDEN_COLUMNS, XREF_COLUMNS, golden_rows, write, xref_rows

_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
    help="CSV (one row per record) or JSON lines.",
)
_OUTPUT = click.option(
    "--output", "-o", type=click.Path(path_type=Path), help="File to write (default: stdout)."
)


def _open(output: Path | None) -> Any:
    if output is None:
        return nullcontext(sys.stdout)
    return output.open("w", encoding="utf-8", newline="")


@click.group("xref")
def xref() -> None:
    """The cross-reference: which master id every source record belongs to."""


@xref.command("export")
@_FORMAT
@_OUTPUT
@click.option("--include-deleted", is_flag=True, help="Also records deleted at their source.")
@pass_ctx
def xref_export(ctx: CliContext, fmt: str, output: Path | None, include_deleted: bool) -> None:
    """Write source, stream, source key -> master id for every matched source record."""
    master = ctx.master()
    with master.session() as s, _open(output) as out:
        handle: IO[str] = out
        count = write(xref_rows(s, include_deleted=include_deleted), handle, fmt, XREF_COLUMNS)
    if output is not None:
        click.echo(f"wrote {count:,} cross-references to {output}", err=True)


@click.group("golden")
def golden() -> None:
    """Golden records: one per real customer."""


@golden.command("export")
@_FORMAT
@_OUTPUT
@click.option(
    "--status",
    type=click.Choice(["active", "merged", "retired", "all"]),
    default="active",
    show_default=True,
    help="Which golden records (merged ones carry their redirect in merged_into).",
)
@pass_ctx
def golden_export(ctx: CliContext, fmt: str, output: Path | None, status: str) -> None:
    """Write golden records with their surviving values."""
    master = ctx.master()
    with master.session() as s, _open(output) as out:
        rows = golden_rows(s, status=None if status == "all" else status)
        count = write(rows, out, fmt, GOLDEN_COLUMNS)
    if output is not None:
        click.echo(f"wrote {count:,} golden records to {output}", err=True)


COMMANDS = [xref, golden]
