"""Recompute golden records from their members: used by matching and by steward actions."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.match.golden import Member, build_golden
from crmhub.store.models import AuditEvent, GoldenRecord, SourceRecord, Xref
from crmhub.store.types import utcnow


def content_hash(values: Mapping[str, Any]) -> str:
    """A stable hash of golden values (what publish compares)."""
    return hashlib.blake2b(
        orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def member_rows(session: Session, master_ids: Iterable[str]) -> dict[str, list[Any]]:
    """Active customer source records per master id."""
    ids = list(master_ids)
    out: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in session.execute(
            select(
                Xref.master_id,
                SourceRecord.id,
                SourceRecord.source,
                SourceRecord.canonical,
                SourceRecord.last_seen,
            )
            .join(SourceRecord, SourceRecord.id == Xref.source_record_id)
            .where(
                Xref.master_id.in_(chunk),
                SourceRecord.entity == "customer",
                SourceRecord.deleted.is_(False),
                SourceRecord.status == "ok",
            )
            .order_by(SourceRecord.id)
        ):
            out[row.master_id].append(row)
    return out


def _updated(row: Any) -> str:
    value = (row.canonical or {}).get("updated_at")
    if isinstance(value, str):
        return value
    seen: datetime = row.last_seen
    return seen.isoformat()


def apply_golden(
    golden: GoldenRecord, members: list[Any], priorities: Mapping[str, int], now: datetime
) -> bool:
    """Set a golden record's values from its members; True when anything changed."""
    values, provenance = build_golden(
        [
            Member(
                record_id=m.id,
                source=m.source,
                priority=priorities.get(m.source, 100),
                updated=_updated(m),
                canonical=m.canonical or {},
            )
            for m in members
        ]
    )
    values.update(golden.overrides or {})
    digest = content_hash(values)
    if golden.content_hash == digest and golden.status == "active":
        return False
    golden.data = values
    golden.provenance = provenance
    golden.kind = values.get("kind")
    golden.content_hash = digest
    golden.version = (golden.version or 0) + 1
    golden.status = "active"
    golden.merged_into = None
    golden.updated_at = now
    return True


def recompute(
    session: Session,
    master_ids: Iterable[str],
    priorities: Mapping[str, int],
    *,
    actor: str = "matcher",
    run_id: int | None = None,
) -> dict[str, int]:
    """Recompute the named golden records; one left without members is retired."""
    ids = sorted(set(master_ids))
    members = member_rows(session, ids)
    counts = {"updated": 0, "retired": 0, "unchanged": 0}
    now = utcnow()
    goldens = {
        g.master_id: g
        for g in session.scalars(select(GoldenRecord).where(GoldenRecord.master_id.in_(ids)))
    }
    for master_id in ids:
        golden = goldens.get(master_id)
        if golden is None:
            continue
        rows = members.get(master_id, [])
        if not rows:
            if golden.status == "active":
                golden.status = "retired"
                golden.version += 1
                golden.updated_at = now
                counts["retired"] += 1
                session.add(
                    AuditEvent(
                        actor=actor,
                        action="retire",
                        master_id=master_id,
                        before={"status": "active"},
                        after={"status": "retired"},
                        run_id=run_id,
                    )
                )
            continue
        if apply_golden(golden, rows, priorities, now):
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
    return counts
