"""Read side of the steward workflow: the candidate queue and one candidate side by side."""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from crmhub.errors import DecisionError
from crmhub.store.models import MatchCandidate, SourceRecord

FIELDS = (
    "kind", "name_prefix", "given_name", "name_particle", "family_name", "full_name",
    "organization_name", "legal_form", "emails", "phones", "addresses", "birth_date",
    "tax_ids", "website", "language",
)  # fmt: skip


def queue(
    session: Session,
    *,
    status: str = "pending",
    source: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    sort: str = "uncertainty",
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """(total, one page) of candidates, most uncertain (closest to 0.5) first by default.

    Sorting and counting read only match_candidate (its (status, score) index); the two
    source records are joined for the page's rows alone.
    """
    conditions: list[ColumnElement[bool]] = []
    if status != "all":
        conditions.append(MatchCandidate.status == status)
    if source:
        conditions.append(
            or_(_source_of(MatchCandidate.left_record_id) == source,
                _source_of(MatchCandidate.right_record_id) == source)
        )  # fmt: skip
    if min_score is not None:
        conditions.append(MatchCandidate.score >= min_score)
    if max_score is not None:
        conditions.append(MatchCandidate.score <= max_score)
    total = session.scalar(select(func.count()).select_from(MatchCandidate).where(*conditions))
    ids = _page_ids(session, conditions, sort, limit, offset)
    left, right = aliased(SourceRecord), aliased(SourceRecord)
    rows = {
        candidate.id: (candidate, a, b)
        for candidate, a, b in session.execute(
            select(MatchCandidate, left, right)
            .join(left, left.id == MatchCandidate.left_record_id)
            .join(right, right.id == MatchCandidate.right_record_id)
            .where(MatchCandidate.id.in_(ids))
        )
    }
    page = []
    for candidate_id in ids:
        if candidate_id not in rows:
            continue
        candidate, a, b = rows[candidate_id]
        page.append(
            {
                "id": candidate.id,
                "version": candidate.version,
                "status": candidate.status,
                "score": round(candidate.score, 4),
                "left": _summary(a),
                "right": _summary(b),
                "left_master_id": candidate.left_master_id,
                "right_master_id": candidate.right_master_id,
                "decided_by": candidate.decided_by,
            }
        )
    return total or 0, page


def _source_of(record_id: Any) -> Any:
    return select(SourceRecord.source).where(SourceRecord.id == record_id).scalar_subquery()


def _page_ids(
    session: Session, conditions: list[ColumnElement[bool]], sort: str, limit: int, offset: int
) -> list[int]:
    """The page's candidate ids in queue order: (|score - 0.5|, id) or (-score, id).

    No index can hold |score - 0.5| on every backend, so the uncertainty order merges two
    index-ordered runs: scores from 0.5 upwards and scores below 0.5 downwards, each already
    sorted by distance from 0.5. Each run reads at most offset + limit rows.
    """
    base = select(MatchCandidate.id, MatchCandidate.score).where(*conditions)
    if sort != "uncertainty":
        rows = session.execute(
            base.order_by(MatchCandidate.score.desc(), MatchCandidate.id)
            .limit(limit)
            .offset(offset)
        )
        return [row.id for row in rows]
    need = offset + limit
    upper = session.execute(
        base.where(MatchCandidate.score >= 0.5)
        .order_by(MatchCandidate.score, MatchCandidate.id)
        .limit(need)
    ).all()
    lower = session.execute(
        base.where(MatchCandidate.score < 0.5)
        .order_by(MatchCandidate.score.desc(), MatchCandidate.id)
        .limit(need)
    ).all()
    merged = heapq.merge(
        ((abs(score - 0.5), candidate_id) for candidate_id, score in upper),
        ((abs(score - 0.5), candidate_id) for candidate_id, score in lower),
    )
    return [candidate_id for _, candidate_id in itertools.islice(merged, offset, need)]


def _name(canonical: dict[str, Any]) -> str:
    parts = [canonical.get(k) for k in ("given_name", "name_particle", "family_name")]
    text = " ".join(str(p) for p in parts if p)
    return text or str(canonical.get("full_name") or canonical.get("organization_name") or "")


def _summary(record: SourceRecord) -> dict[str, Any]:
    canonical = record.canonical or {}
    return {
        "record_id": record.id,
        "source": record.source,
        "stream": record.stream,
        "source_key": record.source_key,
        "name": _name(canonical),
    }


def candidate_detail(session: Session, candidate_id: int) -> dict[str, Any]:
    """Both records field by field, whether they differ, and the score's explanation."""
    candidate = session.get(MatchCandidate, candidate_id)
    if candidate is None:
        raise DecisionError(f"there is no match candidate {candidate_id}")
    a = session.get(SourceRecord, candidate.left_record_id)
    b = session.get(SourceRecord, candidate.right_record_id)
    if a is None or b is None:
        raise DecisionError(f"a record of candidate {candidate_id} no longer exists")
    ca, cb = a.canonical or {}, b.canonical or {}
    fields = []
    for name in FIELDS:
        va, vb = ca.get(name), cb.get(name)
        if va is None and vb is None:
            continue
        fields.append({"field": name, "left": va, "right": vb, "same": _same(va, vb)})
    return {
        "id": candidate.id,
        "version": candidate.version,
        "status": candidate.status,
        "score": candidate.score,
        "match_weight": candidate.match_weight,
        "decided_by": candidate.decided_by,
        "decided_at": candidate.decided_at.isoformat() if candidate.decided_at else None,
        "left": {**_summary(a), "master_id": candidate.left_master_id},
        "right": {**_summary(b), "master_id": candidate.right_master_id},
        "fields": fields,
        "explanation": candidate.comparison or [],
    }


def _same(a: Any, b: Any) -> bool:
    def norm(v: Any) -> Any:
        if isinstance(v, str):
            return v.casefold().strip()
        if isinstance(v, list):
            return sorted(str(norm(x)) for x in v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        return v

    return bool(norm(a) == norm(b))
