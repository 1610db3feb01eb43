"""What keeps the steward's review queue fast: its indexes and the candidates' sources.

The queue sorts by score (or by distance from 0.5, read as two score-ordered runs either
side of 0.5) within a status, optionally for one source on either side of the pair. Each
filter combination reads one index range: (status, score), or (status, left_source, score)
and (status, right_source, score) for a source. The sources are copied from the two source
records when a candidate is inserted (a record never changes source), by ORM hooks (one
lookup per flush), so every writer (the match stage, a split) fills them without knowing
about the queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session

from crmhub.store.models import MatchCandidate, SourceRecord

Index("ix_match_candidate_status_score", MatchCandidate.status, MatchCandidate.score)
Index(
    "ix_match_candidate_left_source",
    MatchCandidate.status,
    MatchCandidate.left_source,
    MatchCandidate.score,
    MatchCandidate.right_source,  # counting pairs with the source on both sides stays here
)
Index(
    "ix_match_candidate_right_source",
    MatchCandidate.status,
    MatchCandidate.right_source,
    MatchCandidate.score,
)


@event.listens_for(Session, "before_flush")
def _copy_sources_per_flush(session: Session, _context: Any, _instances: Any) -> None:
    # One query per 500 records for the whole flush: a match run inserts candidates by the
    # ten thousand, and two lookups per candidate would double what inserting them costs.
    pending = [
        obj
        for obj in session.new
        if isinstance(obj, MatchCandidate) and (obj.left_source is None or obj.right_source is None)
    ]
    if not pending:
        return
    ids = sorted(
        {i for obj in pending for i in (obj.left_record_id, obj.right_record_id) if i is not None}
    )
    sources: dict[int, str] = {}
    with session.no_autoflush:
        for start in range(0, len(ids), 500):
            rows = session.execute(
                select(SourceRecord.id, SourceRecord.source).where(
                    SourceRecord.id.in_(ids[start : start + 500])
                )
            )
            sources.update({row.id: row.source for row in rows})
    for obj in pending:
        if obj.left_source is None:
            obj.left_source = sources.get(obj.left_record_id)
        if obj.right_source is None:
            obj.right_source = sources.get(obj.right_record_id)


@event.listens_for(MatchCandidate, "before_insert")
def _copy_sources(_mapper: Mapper[Any], connection: Connection, target: MatchCandidate) -> None:
    # A record flushed in the same flush as its candidate had no id before the flush.
    if target.left_source is None:
        target.left_source = connection.scalar(
            select(SourceRecord.source).where(SourceRecord.id == target.left_record_id)
        )
    if target.right_source is None:
        target.right_source = connection.scalar(
            select(SourceRecord.source).where(SourceRecord.id == target.right_record_id)
        )
