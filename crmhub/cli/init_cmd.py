"""``crmhub init``: write a commented project file."""

from __future__ import annotations

from pathlib import Path

import click

from crmhub.config import PROJECT_FILE
from crmhub.config.template import PROJECT_TEMPLATE
from crmhub.errors import ConfigurationError


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite an existing crmhub.yml.")
def init(directory: Path, force: bool) -> None:
    """Write a commented crmhub.yml (embedded SQLite master, example sources) into DIRECTORY."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / PROJECT_FILE
    if target.exists() and not force:
        raise ConfigurationError(
            f"{target} already exists", hint="pass --force to overwrite it, or edit it"
        )
    target.write_text(PROJECT_TEMPLATE, encoding="utf-8")
    (directory / "mappings").mkdir(exist_ok=True)
    example = directory / "mappings" / "customers.yml"
    if not example.exists():
        from crmhub.config.template import MAPPING_TEMPLATE

        example.write_text(MAPPING_TEMPLATE, encoding="utf-8")
    click.echo(f"wrote {target} and {example}")
    click.echo("next: edit the sources, then run `crmhub ingest` and `crmhub match`")


COMMANDS = [init]
