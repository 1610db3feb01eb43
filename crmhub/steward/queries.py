"""Read side of the steward workflow: the candidate queue and one candidate side by side."""

from __future__ import annotations

import heapq
from typing import Any

from sqlalchemy import ColumnElement, func, select
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

    Sorting, filtering and counting read only match_candidate's indexes (see
    crmhub.store.queue_index); the two source records are joined for the page's rows alone.
    """
    conditions: list[ColumnElement[bool]] = []
    if status != "all":
        conditions.append(MatchCandidate.status == status)
    if min_score is not None:
        conditions.append(MatchCandidate.score >= min_score)
    if max_score is not None:
        conditions.append(MatchCandidate.score <= max_score)
    # A source filter is two index ranges, the source on the left and on the right; a pair
    # with the source on both sides is in both and counted once.
    branches: list[list[ColumnElement[bool]]] = [[]]
    if not source:
        total = _count(session, conditions)
    else:
        left_side = MatchCandidate.left_source == source
        right_side = MatchCandidate.right_source == source
        branches = [[left_side], [right_side]]
        total = (
            _count(session, [*conditions, left_side])
            + _count(session, [*conditions, right_side])
            - _count(session, [*conditions, left_side, right_side])
        )
    ids = _page_ids(session, conditions, branches, sort, limit, offset)
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
    return total, page


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(MatchCandidate).where(*conditions)) or 0


def _page_ids(
    session: Session,
    conditions: list[ColumnElement[bool]],
    branches: list[list[ColumnElement[bool]]],
    sort: str,
    limit: int,
    offset: int,
) -> list[int]:
    """The page's candidate ids in queue order: (|score - 0.5|, id) or (-score, id).

    No index can hold |score - 0.5| on every backend, so the uncertainty order merges
    index-ordered runs: scores from 0.5 upwards and scores below 0.5 downwards, each already
    sorted by distance from 0.5 (and one such pair of runs per branch of a source filter).
    Each run reads at most offset + limit rows: an item of the first offset + limit of the
    merged order is within the first offset + limit of every run holding it.
    """
    need = offset + limit
    score, key = MatchCandidate.score, MatchCandidate.id
    runs: list[list[tuple[float, int]]] = []
    for branch in branches:
        base = select(MatchCandidate.id, MatchCandidate.score).where(*conditions, *branch)
        if sort == "uncertainty":
            upper = base.where(score >= 0.5).order_by(score, key).limit(need)
            lower = base.where(score < 0.5).order_by(score.desc(), key).limit(need)
            for query in (upper, lower):
                runs.append([(abs(s - 0.5), i) for i, s in session.execute(query)])
        else:
            query = base.order_by(score.desc(), key).limit(need)
            runs.append([(-s, i) for i, s in session.execute(query)])
    ids: list[int] = []
    previous = None
    for item in heapq.merge(*runs):
        if item == previous:  # the same candidate through both branches
            continue
        previous = item
        ids.append(item[1])
        if len(ids) == need:
            break
    return ids[offset:]


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
