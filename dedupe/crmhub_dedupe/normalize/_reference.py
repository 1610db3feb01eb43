"""Load the reference tables in ``crmhub_dedupe/reference/`` once per process.

The tables are CSV data files (see that folder's ``__init__`` docstring); this module only
reads them. Each loader is cached, so every normalizer can call it freely.
"""

from __future__ import annotations

import csv
import functools
import io
from importlib import resources


class ReferenceDataError(ValueError):
    """A reference table is missing or malformed: fix the data file named in the message."""


def read_table(name: str) -> list[dict[str, str]]:
    """Rows of the reference CSV ``name`` (comment lines starting with ``#`` skipped)."""
    path = resources.files("crmhub_dedupe.reference").joinpath(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ReferenceDataError(f"reference table {name} is missing from the package") from exc
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    rows: list[dict[str, str]] = []
    for number, row in enumerate(reader, start=2):
        if None in row or any(value is None for value in row.values()):
            raise ReferenceDataError(
                f"reference table {name}, data row {number}: wrong number of columns"
                f" (expected {reader.fieldnames})"
            )
        rows.append({key: value.strip() for key, value in row.items()})
    return rows


@functools.cache
def null_tokens() -> frozenset[str]:
    """Folded values that mean "no value" (``n/a``, ``onbekend``, ``unbekannt`` ...)."""
    return frozenset(row["token"] for row in read_table("null_tokens.csv"))


@functools.cache
def country_languages() -> dict[str, str]:
    """ISO alpha-2 country -> language whose street abbreviations apply there."""
    return {row["iso2"]: row["language"] for row in read_table("country_languages.csv")}
