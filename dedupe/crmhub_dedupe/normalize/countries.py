"""Country names in English, Dutch, German or Hindi (and codes, aliases) -> ISO alpha-2.

"Nederland", "Netherlands", "Niederlande", "नीदरलैंड", "NL", "NLD", "Holland" -> "NL".
Names are compared folded, so Devanagari names meet their table entries through the same
transliteration. Table: ``reference/countries.csv``.
"""

from __future__ import annotations

import functools

from crmhub_dedupe.normalize._reference import ReferenceDataError, read_table
from crmhub_dedupe.normalize.text import fold


@functools.cache
def country_index() -> dict[str, str]:
    """Folded name, alias or code -> ISO alpha-2."""
    index: dict[str, str] = {}
    codes: set[str] = set()
    for row in read_table("countries.csv"):
        code = row["iso2"].upper()
        if len(code) != 2 or not code.isalpha():
            raise ReferenceDataError(f"countries.csv: bad ISO code {row['iso2']!r}")
        codes.add(code)
        key = fold(row["name"])
        if not key:
            continue
        previous = index.setdefault(key, code)
        if previous != code and row["language"] in ("alias", "alpha3", "hi"):
            raise ReferenceDataError(
                f"countries.csv: {row['name']!r} names both {previous} and {code}"
            )
    for code in codes:
        index.setdefault(code.lower(), code)
    return index


@functools.lru_cache(maxsize=65536)
def _lookup(text: str) -> str | None:
    key = fold(text)
    if key is None:
        return None
    found = country_index().get(key)
    if found is None and key.startswith("the "):
        found = country_index().get(key[4:])
    return found


def country_to_iso(value: object) -> str | None:
    """ISO 3166-1 alpha-2 code of a country name or code, or None when unknown/empty.

    >>> country_to_iso("Deutschland")
    'DE'
    """
    if not isinstance(value, str) or not value.strip():
        return None
    return _lookup(value)
