"""``crmhub demo``: messy sample sources through the whole pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from crmhub.cli.context import CliContext, pass_ctx


@click.command("demo")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("crmhub-demo"),
    show_default=True,
    help="Folder for the demo project (sources, master, output files).",
)
@click.option("--customers", default=2000, show_default=True, help="Real customers to generate.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_ctx
def demo(ctx: CliContext, directory: Path, customers: int, seed: int, as_json: bool) -> None:
    """Generate three messy sources, ingest, match and summarize into a SQLite master."""
    from crmhub.demo.run import run_demo

    run_demo(ctx, directory, customers=customers, seed=seed, as_json=as_json)


COMMANDS = [demo]
