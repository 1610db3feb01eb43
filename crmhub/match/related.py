"""Related records (orders, interactions, tickets) follow their customer's master id.

One rule for the full pass (``stage``) and the indexed pass (``indexed``): a related
record whose ``customer_key`` names a customer record of its own source is linked to that
customer's master (xref method ``rule``); one that names no known customer is an orphan,
counted and left for a later run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from crmhub.store.models import Xref
from crmhub.store.types import utcnow


def attach(
    s: Session,
    rows: Iterable[Any],
    customers: Mapping[tuple[str, str], str],
    xrefs: Mapping[int, Xref],
    run_id: int,
    summary: Any,
) -> list[int]:
    """Point each related row's xref at its customer's master; the ids of the linked rows.

    ``rows`` carry ``id``, ``source`` and ``canonical``; ``customers`` maps (source,
    customer source key) to a master id; ``xrefs`` holds the rows' existing xref entries.
    """
    now = utcnow()
    linked_ids: list[int] = []
    for row in rows:
        customer_key = (row.canonical or {}).get("customer_key")
        linked = (
            customers.get((row.source, str(customer_key))) if customer_key is not None else None
        )
        if linked is None:
            summary.related_orphans += 1
            continue
        summary.related_linked += 1
        linked_ids.append(row.id)
        x = xrefs.get(row.id)
        if x is None:
            s.add(
                Xref(
                    source_record_id=row.id,
                    master_id=linked,
                    method="rule",
                    matched_at=now,
                    run_id=run_id,
                )
            )
        elif x.master_id != linked:
            x.master_id = linked
            x.matched_at = now
            x.run_id = run_id
    if summary.related_orphans:
        summary.notes.append(
            f"{summary.related_orphans} related records name a customer key no source record has"
        )
    return linked_ids
