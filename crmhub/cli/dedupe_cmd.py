"""``crmhub dedupe FILE``: deduplicate one file, no project needed."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from crmhub.cli.context import emit_json
from crmhub.cli.workers_option import workers_option
from crmhub.errors import ConfigurationError
from crmhub.file_dedupe import dedupe_file
from crmhub_dedupe.normalize import Workers


@click.command("dedupe")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Map a column to a canonical field (given_name, family_name, emails, phones, "
    "street, postal_code, city, country, birth_date, ...); repeatable.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the result files.",
)
@click.option("--delimiter", help="CSV delimiter (default: sniffed).")
@click.option("--encoding", help="Text encoding (default: UTF-8, else Windows-1252).")
@workers_option(
    "auto",
    "Processes that normalize the rows: 'auto' (the CPUs this process may use, at most 4;"
    " one for small files) or a number. The result is the same either way.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def dedupe(
    file: Path,
    maps: tuple[str, ...],
    out_dir: Path,
    delimiter: str | None,
    encoding: str | None,
    workers: int | str,
    as_json: bool,
) -> None:
    """Find duplicate customers in FILE (CSV, TSV, XLSX, XLS, ODS).

    Writes FILE.clusters.csv (every row with a cluster id) and FILE.pairs.csv (scored pairs
    to merge or review, with the reasons) into --out.
    """
    overrides = {}
    for item in maps:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            raise ConfigurationError(
                f"--map {item!r}: write FIELD=COLUMN, e.g. --map emails=E-mail"
            )
        overrides[field.strip()] = column.strip()
    result = dedupe_file(
        file,
        out_dir,
        overrides=overrides,
        delimiter=delimiter,
        encoding=encoding,
        workers=cast(Workers, workers),
    )
    if as_json:
        emit_json(result.as_dict())
        return
    mapped = ", ".join(f"{k}<-{'+'.join(v)}" for k, v in result.mapping.items())
    click.echo(f"columns: {mapped}")
    click.echo(
        f"{result.rows:,} rows -> {result.clusters:,} customers; {result.duplicate_rows:,} rows "
        f"have a duplicate; pairs: {result.pairs['merge']:,} merge, {result.pairs['review']:,} "
        f"to review ({result.seconds} s, {result.model} model)"
    )
    click.echo(f"wrote {result.clusters_file} and {result.pairs_file}")


COMMANDS = [dedupe]
