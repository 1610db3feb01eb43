"""``crmhub match``: source records -> clusters -> golden records, xref, redirects.

The engine (exact keys for now) only sees canonical records and returns cluster labels;
this module owns the master: stable master ids (a cluster that already has a master keeps
it; when clusters join two masters, the older survives and the other redirects to it),
golden values with provenance, the cross-reference, and related records re-keyed to their
customer's master.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crmhub.config import Project
from crmhub.match.exact import cluster_exact
from crmhub.match.recompute import apply_golden
from crmhub.store import Master
from crmhub.store.models import AuditEvent, GoldenRecord, SourceRecord, Xref
from crmhub.store.types import utcnow


@dataclass
class MatchSummary:
    """What one match run did."""

    records: int = 0
    clusters: int = 0
    merged_records: int = 0
    golden_created: int = 0
    golden_updated: int = 0
    golden_unchanged: int = 0
    masters_merged: int = 0
    golden_retired: int = 0
    candidates: int = 0
    related_linked: int = 0
    related_orphans: int = 0
    engine: str = "exact"
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Counts for the run row and ``--json``."""
        return dict(self.__dict__)


def new_master_id() -> str:
    """A new stable master id."""
    return "M" + uuid.uuid4().hex[:15].upper()


def run_match(project: Project, master: Master, run_id: int) -> MatchSummary:
    """Match every active customer record into the master, in one transaction."""
    summary = MatchSummary()
    priorities = {name: s.priority for name, s in project.config.sources.items()}
    with master.session() as s:
        rows = s.execute(
            select(
                SourceRecord.id,
                SourceRecord.source,
                SourceRecord.canonical,
                SourceRecord.last_seen,
            )
            .where(
                SourceRecord.entity == "customer",
                SourceRecord.status == "ok",
                SourceRecord.deleted.is_(False),
            )
            .order_by(SourceRecord.id)
        ).all()
        summary.records = len(rows)
        labels = cluster_exact([r.canonical for r in rows])
        clusters: dict[int, list[Any]] = defaultdict(list)
        for row, label in zip(rows, labels, strict=True):
            clusters[label].append(row)
        summary.clusters = len(clusters)
        summary.merged_records = sum(len(m) for m in clusters.values() if len(m) > 1)
        _persist(s, clusters, priorities, run_id, summary)
        _link_related(s, run_id, summary)
    return summary


def _persist(
    s: Session,
    clusters: dict[int, list[Any]],
    priorities: dict[str, int],
    run_id: int,
    summary: MatchSummary,
) -> None:
    xrefs = {x.source_record_id: x for x in s.scalars(select(Xref))}
    goldens = {g.master_id: g for g in s.scalars(select(GoldenRecord))}
    claimed: set[str] = set()
    now = utcnow()
    live: set[str] = set()
    for members in clusters.values():
        existing = {xrefs[m.id].master_id for m in members if m.id in xrefs}
        candidates = sorted(
            (goldens[mid] for mid in existing if mid in goldens and mid not in claimed),
            key=lambda g: (g.created_at, g.id),
        )
        if candidates:
            golden = candidates[0]
            for loser in candidates[1:]:
                _redirect(s, loser, golden.master_id, run_id)
                summary.masters_merged += 1
                claimed.add(loser.master_id)
        else:
            golden = GoldenRecord(master_id=new_master_id(), created_at=now, version=0)
            s.add(golden)
            goldens[golden.master_id] = golden
            summary.golden_created += 1
        claimed.add(golden.master_id)
        live.add(golden.master_id)
        was_new = not golden.version
        if apply_golden(golden, members, priorities, now):
            if not was_new:
                summary.golden_updated += 1
        else:
            summary.golden_unchanged += 1
        method = "auto" if len(members) > 1 else "new"
        for m in members:
            x = xrefs.get(m.id)
            if x is None:
                s.add(
                    Xref(
                        source_record_id=m.id,
                        master_id=golden.master_id,
                        method=method,
                        score=1.0,
                        matched_at=now,
                        run_id=run_id,
                    )
                )
            elif x.master_id != golden.master_id:
                x.master_id = golden.master_id
                x.method = method
                x.matched_at = now
                x.run_id = run_id
    for master_id, golden in goldens.items():
        if master_id not in live and golden.status == "active":
            golden.status = "retired"
            golden.updated_at = now
            golden.version += 1
            summary.golden_retired += 1
            s.add(
                AuditEvent(
                    actor="matcher",
                    action="retire",
                    master_id=master_id,
                    before={"status": "active"},
                    after={"status": "retired"},
                    run_id=run_id,
                )
            )
    s.execute(
        update(SourceRecord)
        .where(SourceRecord.entity == "customer", SourceRecord.match_state == "pending")
        .values(match_state="matched")
    )


def _redirect(s: Session, loser: GoldenRecord, survivor: str, run_id: int) -> None:
    before = {"status": loser.status, "merged_into": loser.merged_into}
    loser.status = "merged"
    loser.merged_into = survivor
    loser.version += 1
    loser.updated_at = utcnow()
    s.add(
        AuditEvent(
            actor="matcher",
            action="merge",
            master_id=loser.master_id,
            before=before,
            after={"status": "merged", "merged_into": survivor},
            run_id=run_id,
        )
    )


def _link_related(s: Session, run_id: int, summary: MatchSummary) -> None:
    """Related records (orders, interactions, tickets) follow their customer's master id."""
    customers: dict[tuple[str, str], str] = {}
    for source, key, master_id in s.execute(
        select(SourceRecord.source, SourceRecord.source_key, Xref.master_id)
        .join(Xref, Xref.source_record_id == SourceRecord.id)
        .where(SourceRecord.entity == "customer")
    ):
        customers[(source, key)] = master_id
    xrefs = {
        x.source_record_id: x
        for x in s.scalars(
            select(Xref)
            .join(SourceRecord, Xref.source_record_id == SourceRecord.id)
            .where(SourceRecord.entity != "customer")
        )
    }
    related = s.execute(
        select(SourceRecord.id, SourceRecord.source, SourceRecord.canonical).where(
            SourceRecord.entity.in_(("order", "interaction", "ticket")),
            SourceRecord.status == "ok",
            SourceRecord.deleted.is_(False),
        )
    ).all()
    now = utcnow()
    for row in related:
        customer_key = (row.canonical or {}).get("customer_key")
        linked = (
            customers.get((row.source, str(customer_key))) if customer_key is not None else None
        )
        if linked is None:
            summary.related_orphans += 1
            continue
        summary.related_linked += 1
        x = xrefs.get(row.id)
        if x is None:
            s.add(
                Xref(
                    source_record_id=row.id,
                    master_id=linked,
                    method="rule",
                    score=None,
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
