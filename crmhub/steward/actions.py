"""Steward actions: each changes the master in the caller's transaction and writes an audit event.

Every decision is attributed, checked against the version the steward saw (a second steward
acting on the same candidate gets a ConflictError, never a double merge), and reversible:
the audit event keeps what is needed to undo it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.errors import ConflictError, DecisionError
from crmhub.match.recompute import recompute
from crmhub.match.stage import new_master_id
from crmhub.store.models import AuditEvent, GoldenRecord, MatchCandidate, SourceRecord, Xref
from crmhub.store.types import utcnow


@dataclass
class Decision:
    """What an action did, for the CLI and the web app."""

    action: str
    candidate_id: int | None
    master_ids: list[str]
    audit_id: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return dict(self.__dict__)


def _candidate(session: Session, candidate_id: int, expected_version: int | None) -> MatchCandidate:
    candidate = session.get(MatchCandidate, candidate_id, with_for_update=True)
    if candidate is None:
        raise DecisionError(
            f"there is no match candidate {candidate_id}", hint="see `crmhub review list`"
        )
    if expected_version is not None and candidate.version != expected_version:
        who = candidate.decided_by or "another process"
        raise ConflictError(
            f"candidate {candidate_id} changed since you opened it: {who} set it to "
            f"{candidate.status} (version {candidate.version}, you saw {expected_version})",
            hint="reload it and decide again",
        )
    return candidate


def _master_of(session: Session, record_id: int) -> str:
    master_id = session.scalar(select(Xref.master_id).where(Xref.source_record_id == record_id))
    if master_id is None:
        raise DecisionError(
            f"source record {record_id} has no master yet", hint="run `crmhub match` first"
        )
    return master_id


def _audit(session: Session, actor: str, action: str, **fields: Any) -> AuditEvent:
    event = AuditEvent(actor=actor, action=action, **fields)
    session.add(event)
    session.flush()
    return event


def _decide(candidate: MatchCandidate, status: str, actor: str) -> dict[str, Any]:
    before = {"status": candidate.status, "version": candidate.version}
    candidate.status = status
    candidate.decided_by = actor
    candidate.decided_at = utcnow()
    candidate.version += 1
    return before


def merge_masters(
    session: Session,
    master_ids: Sequence[str],
    priorities: Mapping[str, int],
    *,
    actor: str,
) -> tuple[str, dict[str, list[int]]]:
    """Merge masters into the oldest; return the survivor and each loser's former members."""
    goldens = list(
        session.scalars(
            select(GoldenRecord)
            .where(GoldenRecord.master_id.in_(set(master_ids)))
            .order_by(GoldenRecord.created_at, GoldenRecord.id)
        )
    )
    if len(goldens) < 2:
        return (goldens[0].master_id if goldens else master_ids[0]), {}
    survivor, losers = goldens[0], goldens[1:]
    moved: dict[str, list[int]] = {}
    for loser in losers:
        xrefs = list(session.scalars(select(Xref).where(Xref.master_id == loser.master_id)))
        moved[loser.master_id] = [x.source_record_id for x in xrefs]
        for x in xrefs:
            x.master_id = survivor.master_id
            x.method = "steward"
            x.matched_at = utcnow()
        loser.status = "merged"
        loser.merged_into = survivor.master_id
        loser.version += 1
        loser.updated_at = utcnow()
    recompute(session, [survivor.master_id], priorities, actor=actor)
    return survivor.master_id, moved


def approve(
    session: Session,
    candidate_id: int,
    *,
    actor: str,
    priorities: Mapping[str, int],
    expected_version: int | None = None,
) -> Decision:
    """Merge the candidate's two masters (the older survives)."""
    candidate = _candidate(session, candidate_id, expected_version)
    if candidate.status != "pending":
        raise ConflictError(
            f"candidate {candidate_id} is already {candidate.status} "
            f"(by {candidate.decided_by or 'the matcher'})",
            hint="undo that decision first if it was wrong",
        )
    left, right = (
        _master_of(session, r) for r in (candidate.left_record_id, candidate.right_record_id)
    )
    before = _decide(candidate, "approved", actor)
    survivor, moved = merge_masters(session, [left, right], priorities, actor=actor)
    event = _audit(
        session,
        actor,
        "approve",
        master_id=survivor,
        candidate_id=candidate_id,
        before={**before, "masters": [left, right]},
        after={"status": "approved", "survivor": survivor, "moved": moved},
    )
    return Decision("approve", candidate_id, [survivor, *moved], event.id)


def reject(
    session: Session, candidate_id: int, *, actor: str, expected_version: int | None = None
) -> Decision:
    """Keep the two apart: the pair is never merged or proposed again."""
    candidate = _candidate(session, candidate_id, expected_version)
    if candidate.status != "pending":
        raise ConflictError(
            f"candidate {candidate_id} is already {candidate.status}",
            hint="undo that decision first if it was wrong",
        )
    before = _decide(candidate, "rejected", actor)
    event = _audit(
        session,
        actor,
        "reject",
        master_id=candidate.left_master_id,
        candidate_id=candidate_id,
        before=before,
        after={"status": "rejected"},
    )
    return Decision("reject", candidate_id, [], event.id)


def skip(session: Session, candidate_id: int, *, actor: str) -> Decision:
    """Leave the candidate pending; remembered so the queue can put it last."""
    candidate = _candidate(session, candidate_id, None)
    event = _audit(
        session,
        actor,
        "skip",
        master_id=candidate.left_master_id,
        candidate_id=candidate_id,
        before={"status": candidate.status},
        after={"status": candidate.status},
    )
    return Decision("skip", candidate_id, [], event.id)


def split(
    session: Session,
    master_id: str,
    record_ids: Sequence[int],
    *,
    actor: str,
    priorities: Mapping[str, int],
) -> Decision:
    """Move ``record_ids`` out of ``master_id`` into a new master; both are recomputed.

    The split-off records and the ones that stay get rejected pairs, so the matcher does
    not merge them again; related records follow their customer (re-linked by the next
    `crmhub match`, and at once here for the xref of the moved customers).
    """
    golden = session.scalar(select(GoldenRecord).where(GoldenRecord.master_id == master_id))
    if golden is None or golden.status != "active":
        raise DecisionError(f"there is no active golden record {master_id}")
    members = {
        x.source_record_id: x
        for x in session.scalars(
            select(Xref)
            .join(SourceRecord, SourceRecord.id == Xref.source_record_id)
            .where(Xref.master_id == master_id, SourceRecord.entity == "customer")
        )
    }
    chosen = sorted(set(record_ids))
    unknown = [r for r in chosen if r not in members]
    if unknown:
        raise DecisionError(
            f"record(s) {', '.join(map(str, unknown))} are not members of {master_id} "
            f"(its members: {', '.join(map(str, sorted(members)))})"
        )
    if not chosen or len(chosen) == len(members):
        raise DecisionError(
            f"a split of {master_id} must leave records on both sides "
            f"({len(members)} members, {len(chosen)} chosen)"
        )
    new_id = new_master_id()
    now = utcnow()
    session.add(GoldenRecord(master_id=new_id, created_at=now, version=0, status="active"))
    session.flush()
    for record_id in chosen:
        x = members[record_id]
        x.master_id = new_id
        x.method = "steward"
        x.matched_at = now
    staying = [r for r in members if r not in chosen]
    created: list[int] = []
    changed: dict[str, str] = {}
    for a in chosen:
        for b in staying:
            left, right = min(a, b), max(a, b)
            existing = session.scalar(
                select(MatchCandidate).where(
                    MatchCandidate.left_record_id == left, MatchCandidate.right_record_id == right
                )
            )
            if existing is None:
                pair = MatchCandidate(
                    left_record_id=left,
                    right_record_id=right,
                    left_master_id=master_id,
                    right_master_id=new_id,
                    score=0.0,
                    comparison=[],
                    status="rejected",
                    decided_by=actor,
                    decided_at=now,
                    version=1,
                )
                session.add(pair)
                session.flush()
                created.append(pair.id)
            else:
                changed[str(existing.id)] = existing.status
                existing.status = "rejected"
                existing.decided_by = actor
                existing.decided_at = now
                existing.version += 1
    recompute(session, [master_id, new_id], priorities, actor=actor)
    event = _audit(
        session,
        actor,
        "split",
        master_id=master_id,
        before={"members": sorted(members)},
        after={
            "new_master_id": new_id,
            "moved": chosen,
            "cannot_link_created": created,
            "cannot_link_changed": changed,
        },
    )
    return Decision("split", None, [master_id, new_id], event.id)


def undo_last(session: Session, *, actor: str, priorities: Mapping[str, int]) -> Decision:
    """Reverse the actor's last approve, reject or split."""
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.actor == actor, AuditEvent.action.in_(("approve", "reject", "split")))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if event is None:
        raise DecisionError(f"{actor} has no decision to undo")
    before, after = event.before or {}, event.after or {}
    touched: list[str] = []
    if event.action in ("approve", "reject"):
        candidate = session.get(MatchCandidate, event.candidate_id)
        if candidate is None:
            raise DecisionError("the candidate of that decision no longer exists")
        candidate.status = "pending"
        candidate.decided_by = actor
        candidate.decided_at = utcnow()
        candidate.version += 1
        for loser, record_ids in (after.get("moved") or {}).items():
            golden = session.scalar(select(GoldenRecord).where(GoldenRecord.master_id == loser))
            if golden is not None:
                golden.status = "active"
                golden.merged_into = None
                golden.version += 1
            for x in session.scalars(select(Xref).where(Xref.source_record_id.in_(record_ids))):
                x.master_id = loser
            touched.append(loser)
        if after.get("survivor"):
            touched.append(after["survivor"])
    else:
        new_id = after["new_master_id"]
        for x in session.scalars(select(Xref).where(Xref.master_id == new_id)):
            x.master_id = event.master_id or new_id
        for candidate_id in after.get("cannot_link_created") or []:
            pair = session.get(MatchCandidate, candidate_id)
            if pair is not None:
                session.delete(pair)
        for candidate_id, status in (after.get("cannot_link_changed") or {}).items():
            pair = session.get(MatchCandidate, int(candidate_id))
            if pair is not None:
                pair.status = status
                pair.version += 1
        touched = [event.master_id or new_id, new_id]
    recompute(session, touched, priorities, actor=actor)
    undo = _audit(
        session,
        actor,
        "undo",
        master_id=event.master_id,
        candidate_id=event.candidate_id,
        before={"undone_event": event.id, **after},
        after=before,
    )
    return Decision("undo", event.candidate_id, touched, undo.id)
