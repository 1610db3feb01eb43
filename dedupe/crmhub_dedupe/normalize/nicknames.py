"""Nicknames and diminutives -> canonical given names (Jan -> johannes, Bob -> robert).

The table is ``reference/nicknames.csv``; all four languages apply to every record because a
record's language is rarely known. Lookups are per folded token.
"""

from __future__ import annotations

import functools

from crmhub_dedupe.normalize._reference import ReferenceDataError, read_table
from crmhub_dedupe.normalize.text import fold


@functools.cache
def nickname_table() -> dict[str, str]:
    """Folded variant -> folded canonical given name."""
    table: dict[str, str] = {}
    for row in read_table("nicknames.csv"):
        variant, canonical = fold(row["variant"]), fold(row["canonical"])
        if not variant or not canonical:
            raise ReferenceDataError(f"nicknames.csv: empty variant or canonical in {row}")
        if table.get(variant, canonical) != canonical:
            raise ReferenceDataError(
                f"nicknames.csv: {variant!r} maps to both {table[variant]!r} and {canonical!r}"
            )
        table[variant] = canonical
    return table


@functools.lru_cache(maxsize=131072)
def canonical_given(given_key: str) -> str:
    """Map every token of a folded given-name key to its canonical name.

    >>> canonical_given("jan willem")
    'johannes willem'
    """
    table = nickname_table()
    return " ".join(table.get(token, token) for token in given_key.split())
