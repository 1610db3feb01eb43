"""Read side of the steward workflow: the candidate queue and one candidate side by side."""

from __future__ import annotations

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
    """(total, one page) of candidates, most uncertain (closest to 0.5) first by default."""
    left, right = aliased(SourceRecord), aliased(SourceRecord)
    conditions: list[ColumnElement[bool]] = []
    if status != "all":
        conditions.append(MatchCandidate.status == status)
    if source:
        conditions.append(or_(left.source == source, right.source == source))
    if min_score is not None:
        conditions.append(MatchCandidate.score >= min_score)
    if max_score is not None:
        conditions.append(MatchCandidate.score <= max_score)
    base = (
        select(MatchCandidate, left, right)
        .join(left, left.id == MatchCandidate.left_record_id)
        .join(right, right.id == MatchCandidate.right_record_id)
        .where(*conditions)
    )
    if source:
        total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    else:  # no filter on the records: count the candidates alone, without the two joins
        total = (
            session.scalar(select(func.count()).select_from(MatchCandidate).where(*conditions)) or 0
        )
    order = (
        func.abs(MatchCandidate.score - 0.5).asc()
        if sort == "uncertainty"
        else MatchCandidate.score.desc()
    )
    rows = session.execute(base.order_by(order, MatchCandidate.id).limit(limit).offset(offset))
    page = []
    for candidate, a, b in rows:
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
