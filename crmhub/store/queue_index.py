"""What keeps the steward's review queue fast: its indexes and the candidates' sources.

The queue sorts by score (or by distance from 0.5, read as two score-ordered runs either
side of 0.5) within a status, optionally for one source on either side of the pair. Each
filter combination reads one index range: (status, score), or (status, left_source, score)
and (status, right_source, score) for a source. The sources are copied from the two source
records when a candidate is inserted (a record never changes source), by an ORM hook, so
every writer (the match stage, a split) fills them without knowing about the queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

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


@event.listens_for(MatchCandidate, "before_insert")
def _copy_sources(_mapper: Mapper[Any], connection: Connection, target: MatchCandidate) -> None:
    if target.left_source is None:
        target.left_source = connection.scalar(
            select(SourceRecord.source).where(SourceRecord.id == target.left_record_id)
        )
    if target.right_source is None:
        target.right_source = connection.scalar(
            select(SourceRecord.source).where(SourceRecord.id == target.right_record_id)
        )
