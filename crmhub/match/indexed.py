"""An incremental ``crmhub match`` through the match index: work in proportion to the change.

Only new and changed records are validated and normalized. Their blocking keys find the
candidate master records through the indexed ``match_key`` table; the masters of those
candidates (and of the changed records, and of steward decisions that involve them) are
loaded with all their live members' stored forms, never the whole master.
:func:`crmhub_dedupe.incremental.match_incremental` then decides over that neighbourhood
exactly as over the whole master (its rules only ever look at the masters a new record
touches), scoring with the master's term counts. Everything is written in the caller's
transaction, the index included, so a crash leaves master and index as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crmhub.match import index
from crmhub.match.among import among, among_chunks
from crmhub.match.recompute import engine_record
from crmhub.match.related import attach
from crmhub.store.models import AuditEvent, GoldenRecord, MatchCandidate, Run, SourceRecord, Xref
from crmhub.store.types import utcnow
from crmhub_dedupe.incremental import (
    CreatedFn,
    IncrementalResult,
    Thresholds,
    match_incremental,
)
from crmhub_dedupe.model import MatchModel
from crmhub_dedupe.normalize import normalize_frame
from crmhub_dedupe.settings import MatchSettings

RELATED = ("order", "interaction", "ticket")


class IndexOutdated(Exception):
    """The stored forms do not have the columns the engine makes now: rebuild the index."""


def live_count(s: Session) -> int:
    """Customer records not deleted, counted on indexes only (no table scan)."""
    known = s.scalar(
        select(func.count())
        .select_from(SourceRecord)
        .where(
            SourceRecord.match_state.in_(("pending", "matched")),
            SourceRecord.entity == "customer",
        )
    )
    deleted = s.scalar(
        select(func.count())
        .select_from(SourceRecord)
        .where(SourceRecord.deleted.is_(True), SourceRecord.entity == "customer")
    )
    return int(known or 0) - int(deleted or 0)


def deleted_in_master(s: Session) -> list[int]:
    """Deleted customer records that still have an xref."""
    return [
        int(rid)
        for (rid,) in s.execute(
            select(SourceRecord.id)
            .join(Xref, Xref.source_record_id == SourceRecord.id)
            .where(SourceRecord.deleted.is_(True), SourceRecord.entity == "customer")
        )
    ]


def pending_rows(s: Session) -> list[Any]:
    """New and changed live customer records (through the (match_state, entity) index)."""
    return list(
        s.execute(
            select(
                SourceRecord.id,
                SourceRecord.source,
                SourceRecord.canonical,
                SourceRecord.last_seen,
                SourceRecord.match_state,
            )
            .where(
                SourceRecord.match_state == "pending",
                SourceRecord.entity == "customer",
                SourceRecord.status == "ok",
                SourceRecord.deleted.is_(False),
            )
            .order_by(SourceRecord.id)
        ).all()
    )


def _normalized(rows: Sequence[Any], columns: Sequence[str]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return normalize_frame([engine_record(r) for r in rows]).frame


def _term_values(frames: Sequence[pd.DataFrame], columns: Sequence[str]) -> dict[str, set[str]]:
    """Per term column, the distinct non-empty stripped texts over ``frames``."""
    out: dict[str, set[str]] = {}
    for column in columns:
        distinct: set[Any] = set()
        for frame in frames:
            if column in frame.columns:
                distinct.update(frame[column].tolist())
        if any(column in frame.columns for frame in frames):
            # each distinct value once: names and cities repeat across the neighbourhood
            out[column] = {t for v in distinct if isinstance(v, str) and (t := v.strip())}
    return out


def neighbourhood(
    s: Session,
    changes: pd.DataFrame,
    gone: set[int],
    decided: Sequence[tuple[str, str, bool]],
    settings: MatchSettings,
    info: index.IndexInfo,
    keys: pd.DataFrame,
) -> tuple[pd.DataFrame, list[int]]:
    """The master records a run must see: candidates' masters with all their live members.

    Returns the base frame (normalized columns plus ``master_id``) and the ids of members
    that had no stored form (normalized now from their source record; the caller indexes
    them).
    """
    change_ids = {int(r) for r in changes["record_id"].tolist()}
    candidates = index.candidate_ids(s, keys, settings, change_ids | gone)
    decided_ids = {int(x) for a, b, _ in decided for x in (a, b)}
    master_of = index.masters_of(s, candidates | change_ids | decided_ids)
    masters = {master_of[c] for c in candidates | change_ids if c in master_of}
    for a, b, approved in decided:
        ma, mb = master_of.get(int(a)), master_of.get(int(b))
        involved = int(a) in change_ids or int(b) in change_ids
        if involved or (approved and ma != mb) or (not approved and ma == mb):
            masters.update(m for m in (ma, mb) if m is not None)
    members = index.live_members(s, masters)
    for rid in gone:
        members.pop(rid, None)
    # Changed records leave their master: only their id and old master id are needed.
    stored = index.stored_forms(s, [m for m in members if m not in change_ids])
    missing = sorted(m for m in members if m not in change_ids and m not in stored)
    parts = [index.frame_from_forms([stored[m] for m in sorted(stored)], info)]
    if missing:
        rows = s.execute(
            select(
                SourceRecord.id,
                SourceRecord.source,
                SourceRecord.canonical,
                SourceRecord.last_seen,
                SourceRecord.match_state,
            ).where(SourceRecord.id.in_(missing))
        ).all()
        parts.append(_normalized(rows, info.columns))
    leaving = sorted(m for m in members if m in change_ids)
    if leaving:
        stub = pd.DataFrame({c: [None] * len(leaving) for c in info.columns}, dtype=object)
        stub["record_id"] = [str(r) for r in leaving]
        parts.append(stub)
    base = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    base = base[list(info.columns)]
    base["master_id"] = [members[int(r)] for r in base["record_id"].tolist()]
    return base, missing


def run_engine(
    base: pd.DataFrame,
    changes: pd.DataFrame,
    matcher: Any,
    created: dict[str, str] | CreatedFn,
    decided: Sequence[tuple[str, str, bool]],
    settings: MatchSettings,
    new_master_id: Callable[[], str],
) -> IncrementalResult:
    """The engine's incremental match of ``changes`` against ``base``, steward decisions
    as must- and cannot-links; the same call for the full and the indexed pass."""
    return match_incremental(
        base.reset_index(drop=True),
        changes,
        block=matcher.block,
        score=matcher.score,
        master_created=created,
        approved=[(a, b) for a, b, ok in decided if ok],
        rejected=[(a, b) for a, b, ok in decided if not ok],
        thresholds=Thresholds(settings.thresholds.auto_merge, settings.thresholds.review),
        new_master_id=new_master_id,
    )


def match_changes(
    s: Session,
    *,
    changes: pd.DataFrame,
    gone: set[int],
    decided: Sequence[tuple[str, str, bool]],
    settings: MatchSettings,
    model: MatchModel,
    info: index.IndexInfo,
    run_id: int,
    new_master_id: Callable[[], str],
) -> tuple[IncrementalResult, pd.DataFrame, index.IndexedMatcher]:
    """Match ``changes`` against their neighbourhood and bring the index up to date.

    Returns the engine's decisions, the rows of the review pairs (for their explanations)
    and the matcher.
    """
    keys = index.blocking_keys(changes, settings)
    base, missing = neighbourhood(s, changes, gone, decided, settings, info, keys)
    change_ids = [int(r) for r in changes["record_id"].tolist()]
    # Term counts: the changed and departed records' old values out, the new values in.
    old = index.stored_forms(s, [*change_ids, *gone])
    minus = index.term_counts(index.frame_from_forms(list(old.values()), info), settings)
    fresh = base[base["record_id"].isin([str(m) for m in missing])].drop(columns="master_id")
    plus = index.term_counts(pd.concat([changes, fresh], ignore_index=True), settings)
    index.change_terms(s, plus, minus)
    columns = index.term_columns(settings)
    staying = base[~base["record_id"].isin([str(r) for r in change_ids])]
    values = _term_values([staying, changes], columns)
    terms = index.stored_terms(s, columns, values)

    now = utcnow().isoformat()

    def created(master_ids: Sequence[str]) -> dict[str, str]:
        # Asked by the engine only for the masters whose age picks a merge's survivor (a
        # few), instead of read for the tens of thousands of masters of the neighbourhood.
        out: dict[str, str] = {}
        for chunk in among_chunks(s, list(master_ids)):
            out.update(
                (mid, at.isoformat())
                for mid, at in s.execute(
                    select(GoldenRecord.master_id, GoldenRecord.created_at).where(
                        among(s, GoldenRecord.master_id, chunk)
                    )
                )
            )
        for mid in master_ids:
            out.setdefault(mid, now)
        return out

    matcher = index.IndexedMatcher(settings, model, terms)
    result = run_engine(base, changes, matcher, created, decided, settings, new_master_id)

    # The index rows are written now, before xref and golden records: written later (while
    # the golden records are built elsewhere) the same rows cost 9,000 more WAL frame
    # writes and 20,000 more page reads on the 1M/10k copy (strace), more than the overlap
    # saved.
    index.drop_records(s, sorted(gone))
    index.write_records(s, changes, info, settings, run_id, keys)
    if missing:
        index.write_records(s, fresh.reset_index(drop=True), info, settings, run_id)
    index.keep_current(s, info, run_id)
    # Explanations need only the records of the review pairs: over those few rows the column
    # encodings are cheap, and the weights do not depend on the frame (term counts come from
    # the index), so the lines equal those over the whole neighbourhood.
    review_ids = set(result.review["left_id"].tolist()) | set(result.review["right_id"].tolist())
    frame = pd.concat([staying.drop(columns="master_id"), changes], ignore_index=True)
    frame = frame[frame["record_id"].isin(review_ids)].reset_index(drop=True)
    return result, frame, matcher


def previous_match_start(s: Session, run_id: int) -> datetime | None:
    """When the last successful match before this run started."""
    return s.scalar(
        select(func.max(Run.started_at)).where(
            Run.kind == "match", Run.status == "succeeded", Run.id != run_id
        )
    )


def link_related(s: Session, run_id: int, since: datetime, touched: set[str], summary: Any) -> None:
    """Re-link the related records that may have moved: pending or unlinked ones, and those
    of masters this run or a steward (since ``since``) changed. Same rules as the full pass.
    """
    steward: set[str] = set(
        s.scalars(
            select(AuditEvent.master_id).where(
                AuditEvent.at >= since,
                AuditEvent.master_id.is_not(None),
                AuditEvent.actor != "matcher",  # the matcher's runs re-linked their own moves
            )
        )
    )
    masters = sorted(m for m in touched | steward if m is not None)
    related: dict[int, Any] = {}
    for row in s.execute(
        select(SourceRecord.id, SourceRecord.source, SourceRecord.canonical).where(
            SourceRecord.match_state == "pending",
            SourceRecord.entity.in_(RELATED),
            SourceRecord.status == "ok",
            SourceRecord.deleted.is_(False),
        )
    ):
        related[row.id] = row
    for start in range(0, len(masters), 900):
        for row in s.execute(
            select(SourceRecord.id, SourceRecord.source, SourceRecord.canonical)
            .join(Xref, Xref.source_record_id == SourceRecord.id)
            .where(
                Xref.master_id.in_(masters[start : start + 900]),
                SourceRecord.entity.in_(RELATED),
                SourceRecord.status == "ok",
                SourceRecord.deleted.is_(False),
            )
        ):
            related[row.id] = row
    if not related:
        return
    wanted: dict[str, set[str]] = {}
    for row in related.values():
        key = (row.canonical or {}).get("customer_key")
        if key is not None:
            wanted.setdefault(row.source, set()).add(str(key))
    customers: dict[tuple[str, str], str] = {}
    for source, keys in wanted.items():
        ordered = sorted(keys)
        for start in range(0, len(ordered), 900):
            for src, key, master_id in s.execute(
                select(SourceRecord.source, SourceRecord.source_key, Xref.master_id)
                .join(Xref, Xref.source_record_id == SourceRecord.id)
                .where(
                    SourceRecord.source == source,
                    SourceRecord.source_key.in_(ordered[start : start + 900]),
                    SourceRecord.entity == "customer",
                )
            ):
                customers[(src, key)] = master_id
    xrefs = {
        x.source_record_id: x
        for start in range(0, len(related), 900)
        for x in s.scalars(
            select(Xref).where(Xref.source_record_id.in_(sorted(related)[start : start + 900]))
        )
    }
    linked_ids = attach(s, related.values(), customers, xrefs, run_id, summary)
    # Linked related records leave the pending list; orphans stay, for when their customer
    # arrives.
    for start in range(0, len(linked_ids), 900):
        s.execute(
            update(SourceRecord)
            .where(SourceRecord.id.in_(linked_ids[start : start + 900]))
            .values(match_state="matched")
        )


def decided_pairs(s: Session) -> list[tuple[str, str, bool]]:
    """Steward decisions: (left record id, right record id, approved)."""
    return [
        (str(a), str(b), status == "approved")
        for a, b, status in s.execute(
            select(
                MatchCandidate.left_record_id,
                MatchCandidate.right_record_id,
                MatchCandidate.status,
            ).where(MatchCandidate.status.in_(("approved", "rejected")))
        )
    ]
