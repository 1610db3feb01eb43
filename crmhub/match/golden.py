"""Golden values for a cluster: a simple survivorship used by the spine's matcher.

Scalar fields: the value of the member with the best (lowest) source priority, then the most
recently updated; multi-valued fields: the union, in member order, without repeats.
Every field records which source record gave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MULTI = ("emails", "phones", "tax_ids", "tags", "addresses")


@dataclass(frozen=True)
class Member:
    """One source record of a cluster, with what survivorship needs."""

    record_id: int
    source: str
    priority: int
    updated: str
    canonical: dict[str, Any]


def build_golden(members: Sequence[Member]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values, provenance) for one cluster."""
    ordered = sorted(members, key=lambda m: (m.priority, _neg(m.updated), m.record_id))
    values: dict[str, Any] = {}
    provenance: dict[str, Any] = {}
    for member in ordered:
        for field, value in member.canonical.items():
            if field in MULTI or value in (None, "", [], {}):
                continue
            if field not in values:
                values[field] = value
                provenance[field] = {"record_id": member.record_id, "source": member.source}
    for field in MULTI:
        seen: set[str] = set()
        union: list[Any] = []
        origin: list[int] = []
        for member in ordered:
            for item in member.canonical.get(field) or []:
                key = _identity(item)
                if key in seen:
                    continue
                seen.add(key)
                union.append(item)
                origin.append(member.record_id)
        if union:
            values[field] = union
            provenance[field] = {"record_ids": origin}
    return values, provenance


def _identity(item: Any) -> str:
    if isinstance(item, dict):
        return "|".join(str(item.get(k) or "").casefold().replace(" ", "") for k in sorted(item))
    return str(item).casefold().replace(" ", "")


def _neg(timestamp: str) -> str:
    # Sort newest first with an ascending sort: invert every character of the ISO string.
    return "".join(chr(0x10FFFF - ord(c)) for c in timestamp)
