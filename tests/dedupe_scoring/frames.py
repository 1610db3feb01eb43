"""Small canonical frames for the scoring tests (the normalize stage's output columns)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jellyfish
import pandas as pd

COLUMNS = [
    "record_id", "source", "updated_at", "kind", "given", "given_raw", "given_initial",
    "family", "family_alt", "particle", "initials", "full_name", "given_phonetic",
    "family_phonetic", "org", "legal_form", "email", "emails", "phone", "phones", "street",
    "house_number", "postcode", "city", "country", "birth_date", "tax_id", "tax_ids", "flags",
]  # fmt: skip
TUPLES = {"emails", "phones", "tax_ids", "flags"}


def _phonetic(v: Any) -> Any:
    return jellyfish.metaphone(v) if isinstance(v, str) and v else None


def make_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Fill derived columns the way normalize does (lower-case keys, phonetic codes...)."""
    rows = []
    for k, rec in enumerate(records):
        row: dict[str, Any] = {c: None for c in COLUMNS}
        row.update({c: () for c in TUPLES})
        row["record_id"] = f"r{k}"
        row["source"] = "test"
        row.update(rec)
        given, family = row["given"], row["family"]
        row["kind"] = row["kind"] or ("organization" if row["org"] and not family else "person")
        row["given_raw"] = row["given_raw"] or given
        row["given_initial"] = given[:1] if given else None
        row["family_alt"] = row["family_alt"] or family
        row["given_phonetic"] = _phonetic(given)
        row["family_phonetic"] = _phonetic(family)
        if given or family:
            row["full_name"] = " ".join(x for x in (given, family) if x)
        if row["email"] and not row["emails"]:
            row["emails"] = (row["email"],)
        if row["emails"] and not row["email"]:
            row["email"] = row["emails"][0]
        if row["phone"] and not row["phones"]:
            row["phones"] = (row["phone"],)
        if row["tax_id"] and not row["tax_ids"]:
            row["tax_ids"] = (row["tax_id"],)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)
