"""The spine's matcher: exact keys (email, phone digits, name + birth date), union-find.

A deliberately simple engine used until the dedupe stage's Fellegi-Sunter engine is wired
in; it has the same inputs (canonical records) and outputs (clusters) so the persistence
code does not change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

_NON_DIGIT = re.compile(r"\D")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if c.isalnum())


def exact_keys(record: dict[str, Any]) -> list[str]:
    """The keys under which two records are taken to be the same customer."""
    keys = []
    for email in record.get("emails") or []:
        if isinstance(email, str) and "@" in email:
            keys.append("e:" + email.strip().casefold())
    for phone in record.get("phones") or []:
        digits = _NON_DIGIT.sub("", str(phone))
        if len(digits) >= 8:
            keys.append("p:" + digits[-9:])
    name = " ".join(
        str(record.get(k) or "") for k in ("given_name", "name_particle", "family_name")
    )
    if record.get("birth_date") and _fold(name):
        keys.append(f"n:{_fold(name)}:{record['birth_date']}")
    return keys


def cluster_exact(records: Sequence[dict[str, Any]]) -> list[int]:
    """A cluster label per record (union-find over shared exact keys)."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, record in enumerate(records):
        for key in exact_keys(record):
            other = owner.setdefault(key, index)
            if other != index:
                a, b = find(index), find(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return [find(i) for i in range(len(records))]
