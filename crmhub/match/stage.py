"""``crmhub match``: source records -> normalized frame -> engine -> golden records, xref, queue.

The engine (``crmhub_dedupe``) sees frames and returns decisions; this module owns the
master: it loads what changed since the last run, quarantines records that fail validation,
asks :func:`crmhub_dedupe.incremental.match_incremental` where every new or changed record
belongs, and writes the answer in one transaction: stable master ids (a cluster that
already has a master keeps it; when two masters merge the older survives and the other
redirects to it), xref rows, golden records rebuilt by survivorship, review candidates with
their field-by-field explanation, and related records re-keyed to their customer's master.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from crmhub.config import Project
from crmhub.heap import collector_paused
from crmhub.match import index, indexed
from crmhub.match import related as related_module
from crmhub.match.among import among, among_chunks
from crmhub.match.engine import (
    MIN_EM_RECORDS,
    engine_settings,
    learn_from_decisions,
    load_model,
    save_model,
    train_model,
)
from crmhub.match.recompute import (
    GoldenBuilder,
    engine_record,
    start_recompute,
    survivorship_config,
)
from crmhub.store import Master
from crmhub.store.models import (
    AuditEvent,
    GoldenRecord,
    MatchCandidate,
    Quarantine,
    SourceRecord,
    Xref,
)
from crmhub.store.types import utcnow
from crmhub_dedupe.incremental import IncrementalResult
from crmhub_dedupe.matcher import IncrementalMatcher
from crmhub_dedupe.model import MatchModel
from crmhub_dedupe.normalize import normalize_frame, normalize_records, resolve_workers
from crmhub_dedupe.settings import MatchSettings
from crmhub_dedupe.survive import SurvivorshipConfig
from crmhub_dedupe.validate import validate_canonical

ProgressFn = Callable[[str], None]


@dataclass
class MatchSummary:
    """What one match run did."""

    records: int = 0
    changed: int = 0
    deleted: int = 0
    quarantined: int = 0
    flagged: int = 0
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
    model_trained: bool = False
    model: str = "stored"
    learned_from: int = 0
    engine: str = "fellegi-sunter"
    # "used": matched through the match index; "rebuilt": the whole master was loaded and the
    # index rebuilt (first run, --full, --learn, or settings/normalization changed)
    index: str = "rebuilt"
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Counts for the run row and ``--json``."""
        return dict(self.__dict__)


def new_master_id() -> str:
    """A new stable master id."""
    return "M" + uuid.uuid4().hex[:15].upper()


def _iso(value: datetime) -> str:
    return value.isoformat()


def run_match(
    project: Project,
    master: Master,
    run_id: int,
    *,
    full: bool = False,
    learn: bool = False,
    progress: ProgressFn | None = None,
) -> MatchSummary:
    """Match new and changed customer records into the master, in one transaction."""
    say = progress or (lambda _text: None)
    summary = MatchSummary()
    settings = engine_settings(project)
    priorities = {name: s.priority for name, s in project.config.sources.items()}
    rules = survivorship_config(priorities, project.config.matching.survivorship)
    with master.session() as s:
        info = None if full or learn else index.stored_index(s)
        model = None if full else load_model(s, settings)
        if (
            info is not None
            and model is not None
            and info.fingerprint == index.fingerprint(settings)
        ):
            # The neighbourhood's stored forms, member records, golden values and provenance
            # are hundreds of thousands of acyclic containers alive until the run ends; the
            # collector's walks over them cost about as much as parsing the forms.
            with collector_paused(), _builder(project, rules) as builder:
                done = _run_indexed(
                    s,
                    settings,
                    model,
                    info,
                    run_id,
                    summary,
                    say,
                    priorities,
                    rules,
                    builder=builder,
                )
            if done:
                return summary
        # Held here too: a first full match keeps a million-row frame, the engine's answer
        # and each recompute chunk alive, and the collector's full walks over them cost 4 s
        # of CPU per 100,000 records (once the source rows were released early, more often).
        with collector_paused():
            _run_full_load(
                project, s, settings, model, run_id, summary, say, priorities, rules, full, learn
            )
    return summary


def _builder(
    project: Project, rules: SurvivorshipConfig
) -> AbstractContextManager[GoldenBuilder | None]:
    """A golden-record builder on another core when ``matching.workers`` (or ``--workers``)
    asks for two or more processes by number. Not with ``auto``: on the 2-CPU bench machine
    the builder saved about 0.2 s of a 10 s run and cost 0.9 s more CPU (docs/matching)."""
    workers = project.config.matching.workers
    if workers != "auto" and resolve_workers(workers) > 1:
        return GoldenBuilder(rules)
    return nullcontext(None)


def _run_indexed(
    s: Session,
    settings: MatchSettings,
    model: MatchModel,
    info: index.IndexInfo,
    run_id: int,
    summary: MatchSummary,
    say: ProgressFn,
    priorities: dict[str, int],
    rules: SurvivorshipConfig,
    *,
    builder: GoldenBuilder | None = None,
) -> bool:
    """The incremental run through the match index; False when the index must be rebuilt.

    With a ``builder``, the touched golden records are built in that child process while this
    one writes the candidates and record states.
    """
    summary.index = "used"
    rows = indexed.pending_rows(s)
    deleted = indexed.deleted_in_master(s)
    say(f"validating {len(rows):,} new or changed customer records")
    records = [engine_record(r) for r in rows]
    checked = validate_canonical(records) if records else None
    bad = (
        ~np.asarray(checked.valid_mask, dtype=bool)
        if checked is not None
        else np.zeros(0, dtype=bool)
    )
    keep = [rec for rec, is_bad in zip(records, bad.tolist(), strict=True) if not is_bad]
    say(f"normalizing {len(keep):,} records")
    if keep:
        changes = normalize_frame(keep).frame
        if builder is not None:
            # Forked now: the modules and phone metadata the golden records need are loaded,
            # the neighbourhood (most of this run's memory) is not yet. Each changed record
            # touches about one golden record.
            builder.start(expected=len(keep))
        if tuple(changes.columns) != info.columns:
            summary.index = "rebuilt"
            return False  # the engine's normalized frame changed shape
        if not info.array_columns:
            info = replace(index.frame_info(changes, settings), main_keys=info.main_keys)
    else:
        changes = pd.DataFrame({c: pd.Series([], dtype=object) for c in info.columns})
    summary.records = indexed.live_count(s)
    summary.deleted = len(deleted)
    if checked is not None and bad.any():
        _quarantine(s, rows, checked, bad, run_id, summary)
    summary.flagged = (
        int(sum(1 for f in changes["flags"] if f)) if "flags" in changes and len(changes) else 0
    )
    summary.changed = len(changes)
    decided = indexed.decided_pairs(s)
    gone = set(deleted) | {int(rows[k].id) for k in np.flatnonzero(bad).tolist()}
    say(f"matching {len(changes):,} new or changed records against their candidates")
    result, frame, matcher = indexed.match_changes(
        s,
        changes=changes,
        gone=gone,
        decided=decided,
        settings=settings,
        model=model,
        info=info,
        run_id=run_id,
        new_master_id=new_master_id,
    )
    since = indexed.previous_match_start(s, run_id)
    touched = _write(
        s,
        result,
        {},
        deleted,
        matcher,
        frame,
        run_id,
        summary,
        priorities,
        rules,
        builder=builder,
    )
    if since is None:
        _link_related(s, run_id, summary)
    else:
        moved = set(touched) | {loser for loser, _ in result.merges} | set(result.retired)
        indexed.link_related(s, run_id, since, moved, summary)
    return True


def _run_full_load(
    project: Project,
    s: Session,
    settings: MatchSettings,
    model: MatchModel | None,
    run_id: int,
    summary: MatchSummary,
    say: ProgressFn,
    priorities: dict[str, int],
    rules: SurvivorshipConfig,
    full: bool,
    learn: bool,
) -> None:
    """Load and normalize every live customer record, match, and rebuild the match index."""
    rows = s.execute(
        select(
            SourceRecord.id,
            SourceRecord.source,
            SourceRecord.canonical,
            SourceRecord.last_seen,
            SourceRecord.match_state,
        )
        .where(
            SourceRecord.entity == "customer",
            SourceRecord.status == "ok",
            SourceRecord.deleted.is_(False),
        )
        .order_by(SourceRecord.id)
    ).all()
    xref = dict(
        s.execute(
            select(Xref.source_record_id, Xref.master_id)
            .join(SourceRecord, SourceRecord.id == Xref.source_record_id)
            .where(SourceRecord.entity == "customer")
        ).all()
    )
    deleted_ids = indexed.deleted_in_master(s)
    summary.records = len(rows)
    summary.deleted = len(deleted_ids)

    # validate: records that fail hard go to quarantine and are not matched
    say(f"validating {len(rows):,} customer records")
    records = [engine_record(r) for r in rows]
    checked = validate_canonical(records)
    bad = ~np.asarray(checked.valid_mask, dtype=bool)
    if bad.any():
        _quarantine(s, rows, checked, bad, run_id, summary)
    del checked
    keep = [rec for rec, is_bad in zip(records, bad.tolist(), strict=True) if not is_bad]
    # Of the source rows only whether each kept one is pending is needed later: the rows
    # (with their canonical dicts) and the engine records go before normalizing, which at a
    # million records is a few GiB less alive during matching, recompute and the index.
    pending = np.array(
        [
            row.match_state == "pending" or row.id not in xref
            for row, is_bad in zip(rows, bad.tolist(), strict=True)
            if not is_bad
        ],
        dtype=bool,
    )
    del rows, records

    say(f"normalizing {len(keep):,} records")
    # on several cores (matching.workers / --workers); the same frame as in one process
    frame = normalize_records(keep, workers=project.config.matching.workers).frame
    del keep
    summary.flagged = int(sum(1 for f in frame["flags"] if f)) if "flags" in frame else 0

    if model is None:
        say("estimating match weights (EM, or the default model for small data)")
        model, how = train_model(frame, settings, custom=bool(project.config.matching.engine))
        summary.model_trained = True
        summary.model = how
        if how == "default":
            summary.notes.append(
                f"{len(frame):,} records are too few to estimate weights (EM needs "
                f"{MIN_EM_RECORDS:,}); the engine's default model is used until then"
            )
    matcher = IncrementalMatcher(settings, model)
    decided = [
        (str(c.left_record_id), str(c.right_record_id), c.status == "approved")
        for c in s.scalars(
            select(MatchCandidate).where(MatchCandidate.status.in_(("approved", "rejected")))
        )
    ]
    if learn:
        model, summary.learned_from = learn_from_decisions(model, matcher, frame, decided)
        matcher = IncrementalMatcher(settings, model)
    if summary.model_trained or learn:
        save_model(s, model, run_id)

    ids = frame["record_id"].to_numpy(dtype=object)
    previous = np.array([xref.get(int(i)) for i in ids], dtype=object)
    had_master = np.array([p is not None for p in previous], dtype=bool)
    changes_mask = np.ones(len(frame), dtype=bool) if full else pending
    base = frame.loc[had_master].copy()
    base["master_id"] = previous[had_master]
    # A first load changes every record: the frame itself (the engine copies what it keeps)
    # instead of a second million-row copy alive through matching and writing.
    everything = bool(changes_mask.all()) and frame.index.equals(pd.RangeIndex(len(frame)))
    changes = frame if everything else frame.loc[changes_mask].reset_index(drop=True)
    summary.changed = int(changes_mask.sum())
    goldens: dict[str, GoldenRecord] = {}  # _persist loads the few it changes
    created = {
        mid: _iso(at)
        for mid, at in s.execute(select(GoldenRecord.master_id, GoldenRecord.created_at))
    }
    for mid in set(base["master_id"]):
        created.setdefault(mid, _iso(utcnow()))

    say(f"matching {len(changes):,} new or changed records against {len(base):,}")
    result = indexed.run_engine(base, changes, matcher, created, decided, settings, new_master_id)
    say("writing golden records")
    _write(s, result, goldens, deleted_ids, matcher, frame, run_id, summary, priorities, rules)
    # The engine's answer and its input frames are not needed for the index: at a million
    # records they are hundreds of MiB next to what the rebuild allocates.
    del result, base, changes, previous, created
    _link_related(s, run_id, summary)
    say("rebuilding the match index")
    index.rebuild(s, [frame], settings, run_id)


def _write(
    s: Session,
    result: IncrementalResult,
    goldens: dict[str, GoldenRecord],
    deleted: list[int],
    matcher: IncrementalMatcher,
    frame: pd.DataFrame,
    run_id: int,
    summary: MatchSummary,
    priorities: dict[str, int],
    rules: SurvivorshipConfig,
    *,
    builder: GoldenBuilder | None = None,
) -> set[str]:
    """Write the engine's decisions: xref, golden records, candidates; the masters touched.

    With a ``builder`` the touched golden records are built on another core
    (:func:`start_recompute`) while the candidates and record states are written.
    """
    _persist(s, result, goldens, run_id, summary)
    touched = set(result.recompute) | set(result.new_masters)
    # Deleted records leave their master; recompute retires a master left empty. They
    # are not in the frames (only live records are normalized), so the hub does this.
    for start in range(0, len(deleted), 500):
        for x in s.scalars(
            select(Xref).where(Xref.source_record_id.in_(deleted[start : start + 500]))
        ):
            touched.add(x.master_id)
            s.delete(x)
    s.flush()
    rebuild = start_recompute(s, touched, priorities, run_id=run_id, config=rules, builder=builder)
    # Work that reads and writes neither members nor golden records, done while they are
    # built (on another core, by the builder).
    _candidates(s, result.review, matcher, frame, run_id, summary)
    s.execute(
        update(SourceRecord)
        .where(SourceRecord.match_state == "pending", SourceRecord.entity == "customer")
        .values(match_state="matched")
    )
    summary.merged_records = _merged_records(s)
    counts = rebuild.finish()
    summary.golden_updated = counts["updated"] - summary.golden_created
    summary.golden_unchanged = counts["unchanged"]
    summary.golden_retired += counts["retired"]
    summary.clusters = s.scalar(select(func.count()).where(GoldenRecord.status == "active")) or 0
    return touched


def _merged_records(s: Session) -> int:
    """Customer records that share their master with another one.

    Counted on xref alone: related records are linked by rule ("rule"), and deleted records
    lost their xref earlier in this run. A join to source_record per xref row cost a second
    of CPU per million records.
    """
    sizes = (
        select(func.count().label("n"))
        .select_from(Xref)
        .where(Xref.method != "rule")
        .group_by(Xref.master_id)
        .having(func.count() > 1)
        .subquery()
    )
    return int(s.scalar(select(func.coalesce(func.sum(sizes.c.n), 0))) or 0)


def _quarantine(
    s: Session, rows: Sequence[Any], checked: Any, bad: Any, run_id: int, summary: MatchSummary
) -> None:
    issues = checked.quarantined()
    reasons: dict[int, list[dict[str, Any]]] = {}
    for issue in issues.itertuples(index=False):
        reasons.setdefault(int(issue.position), []).append(
            {"code": issue.code, "field": issue.field, "message": issue.message}
        )
        summary.quarantine_by_reason[issue.code] = (
            summary.quarantine_by_reason.get(issue.code, 0) + 1
        )
    for position in np.flatnonzero(bad).tolist():
        row = rows[position]
        s.execute(
            update(SourceRecord).where(SourceRecord.id == row.id).values(status="quarantined")
        )
        s.add(
            Quarantine(
                source=row.source,
                stream="",
                source_key=None,
                source_record_id=row.id,
                stage="validation",
                reasons=reasons.get(
                    position, [{"code": "invalid", "field": None, "message": "invalid"}]
                ),
                payload=row.canonical,
                run_id=run_id,
            )
        )
        summary.quarantined += 1


def _persist(
    s: Session,
    result: Any,
    goldens: dict[str, GoldenRecord],
    run_id: int,
    summary: MatchSummary,
) -> None:
    now = utcnow()
    # Only merged-away and retired masters are changed here (recompute rebuilds the rest).
    wanted = sorted(({loser for loser, _ in result.merges} | set(result.retired)) - set(goldens))
    for start in range(0, len(wanted), 500):
        goldens.update(
            (g.master_id, g)
            for g in s.scalars(
                select(GoldenRecord).where(GoldenRecord.master_id.in_(wanted[start : start + 500]))
            )
        )
    # New golden records in one executemany (recompute fills them in): as ORM objects, ten
    # thousand cost their unit-of-work bookkeeping and are never looked at again.
    created = [
        {"master_id": master_id, "created_at": now, "version": 0, "status": "active"}
        for master_id in dict.fromkeys(result.new_masters)
        if master_id not in goldens
    ]
    for start in range(0, len(created), 5000):
        s.execute(insert(cast(Table, GoldenRecord.__table__)), created[start : start + 5000])
    summary.golden_created += len(created)
    s.flush()
    # In chunks: a first load assigns every record, and one IN list of a million ids is
    # more than SQLite's 32,766 bound variables.
    rows = {
        x.source_record_id: x
        for chunk in among_chunks(s, [int(r) for r in result.assignments])
        for x in s.scalars(select(Xref).where(among(s, Xref.source_record_id, chunk)))
    }
    fresh: list[dict[str, Any]] = []
    for record_id, master_id in result.assignments.items():
        rid = int(record_id)
        x = rows.get(rid)
        if x is None:
            fresh.append(
                {
                    "source_record_id": rid,
                    "master_id": master_id,
                    "method": "auto",
                    "matched_at": now,
                    "run_id": run_id,
                }
            )
        elif x.master_id != master_id:
            x.master_id = master_id
            x.matched_at = now
            x.run_id = run_id
    # New xref rows in one executemany: ten thousand ORM objects cost seconds to flush.
    for start in range(0, len(fresh), 5000):
        s.execute(insert(cast(Table, Xref.__table__)), fresh[start : start + 5000])
    for loser, survivor in result.merges:
        merged = goldens.get(loser)
        if merged is None:
            continue
        golden = merged
        before = {"status": golden.status, "merged_into": golden.merged_into}
        golden.status = "merged"
        golden.merged_into = survivor
        golden.version += 1
        golden.updated_at = now
        summary.masters_merged += 1
        s.add(
            AuditEvent(
                actor="matcher",
                action="merge",
                master_id=loser,
                before=before,
                after={"status": "merged", "merged_into": survivor},
                run_id=run_id,
            )
        )
    for record_id in result.removed:
        x = s.scalar(select(Xref).where(Xref.source_record_id == int(record_id)))
        if x is not None:
            s.delete(x)
    for master_id in result.retired:
        retired = goldens.get(master_id)
        if retired is not None and retired.status == "active":
            golden = retired
            golden.status = "retired"
            golden.version += 1
            golden.updated_at = now
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


def _candidates(
    s: Session,
    review: pd.DataFrame,
    matcher: IncrementalMatcher,
    frame: pd.DataFrame,
    run_id: int,
    summary: MatchSummary,
) -> None:
    if review is None or len(review) == 0:
        return
    row_of = {rid: k for k, rid in enumerate(frame["record_id"].tolist())}
    pairs = []
    for rec in review.to_dict("records"):
        # Stored with the lower record id on the left, as steward splits store them.
        left_id, right_id = int(rec["left_id"]), int(rec["right_id"])
        masters = (str(rec["left_master_id"]), str(rec["right_master_id"]))
        if left_id > right_id:
            left_id, right_id, masters = right_id, left_id, masters[::-1]
        if str(left_id) in row_of and str(right_id) in row_of:
            pairs.append((left_id, right_id, float(rec["probability"]), masters[0], masters[1]))
    if not pairs:
        return
    left = np.array([row_of[str(p[0])] for p in pairs], dtype=np.int64)
    right = np.array([row_of[str(p[1])] for p in pairs], dtype=np.int64)
    explanations = matcher.explain(frame, left, right)
    existing = {
        (c.left_record_id, c.right_record_id): c
        for c in s.scalars(
            select(MatchCandidate).where(MatchCandidate.left_record_id.in_([p[0] for p in pairs]))
        )
    }
    for (a, b, probability, left_master, right_master), lines in zip(
        pairs, explanations, strict=True
    ):
        weight = float(sum(line["weight"] for line in lines))
        current = existing.get((a, b))
        if current is None:
            s.add(
                MatchCandidate(
                    left_record_id=a,
                    right_record_id=b,
                    left_master_id=left_master,
                    right_master_id=right_master,
                    score=probability,
                    match_weight=weight,
                    comparison=lines,
                    status="pending",
                    version=1,
                    run_id=run_id,
                )
            )
            summary.candidates += 1
        elif current.status == "pending":
            current.score = probability
            current.match_weight = weight
            current.comparison = lines
            current.left_master_id = left_master
            current.right_master_id = right_master
            current.version += 1
            summary.candidates += 1


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
    related_module.attach(s, related, customers, xrefs, run_id, summary)
