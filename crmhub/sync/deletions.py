"""Records removed from a source: full-table passes and tombstones mark them deleted.

The match stage then takes deleted records out of their golden record (recomputed, or
retired when nothing is left) and publish tells each CRM according to the target's
``delete_policy``. Both detections are safe to repeat after a crash:

- Full-table: a stream whose tap keeps no replication-key bookmark re-sends every row on
  each pass. A pass may span several runs when a run is killed half-way (the tap resumes from
  its last STATE), so "seen in this pass" means seen by any ingest run of the source since
  its last successful one. Rows not seen in the pass are marked deleted, only after the
  source's ingest finished successfully.
- Tombstones: a record whose payload carries a non-empty ``_sdc_deleted_at`` (the Singer
  convention for log-based replication) is marked deleted. Such a record is written as a
  change, so it is still pending for the matcher until a sync got past this step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, func, select, type_coerce, update

from crmhub.store import Master
from crmhub.store.models import Run, SourceRecord

TOMBSTONE_FIELD = "_sdc_deleted_at"
_CHUNK = 500


@dataclass
class DeletionCounts:
    """What the deletion step marked, per source and stream."""

    full_table: dict[str, int] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Records marked deleted by this step."""
        return sum(self.full_table.values()) + sum(self.tombstones.values())

    def as_dict(self) -> dict[str, Any]:
        """For the run row and ``--json``."""
        return {
            "deleted": self.total,
            "full_table": self.full_table,
            "tombstones": self.tombstones,
            "skipped": self.skipped,
        }


def is_incremental(state: Any, stream: str) -> bool:
    """True when the tap keeps a replication-key bookmark for ``stream`` in its state."""
    if not isinstance(state, dict):
        return False
    bookmarks = state.get("bookmarks")
    if not isinstance(bookmarks, dict):
        return False
    mark = bookmarks.get(stream)
    if not isinstance(mark, dict):
        return False
    if "replication_key_value" in mark or "replication_key" in mark:
        return True
    partitions = mark.get("partitions")
    return isinstance(partitions, list) and any(
        isinstance(p, dict) and "replication_key_value" in p for p in partitions
    )


def partition_count(state: Any, stream: str) -> int:
    """How many partitions (files, contexts) the tap keeps for ``stream`` in its state."""
    if not isinstance(state, dict) or not isinstance(state.get("bookmarks"), dict):
        return 0
    mark = state["bookmarks"].get(stream)
    partitions = mark.get("partitions") if isinstance(mark, dict) else None
    return len(partitions) if isinstance(partitions, list) else 0


def pass_start(master: Master, source: str, run_id: int) -> int:
    """The first ingest run of the current pass of ``source`` (``run_id`` if none failed)."""
    with master.session() as s:
        last_ok = s.scalar(
            select(func.max(Run.id)).where(
                Run.kind == "ingest",
                Run.target == source,
                Run.status == "succeeded",
                Run.id < run_id,
            )
        )
        first = s.scalar(
            select(func.min(Run.id)).where(
                Run.kind == "ingest",
                Run.target == source,
                Run.id > (last_ok or 0),
                Run.id <= run_id,
            )
        )
    return int(first or run_id)


def mark_unseen_deleted(master: Master, source: str, stream: str, since_run_id: int) -> int:
    """Mark live records of ``source``/``stream`` not seen since ``since_run_id`` deleted."""
    with master.session() as s:
        result = s.execute(
            update(SourceRecord)
            .where(
                SourceRecord.source == source,
                SourceRecord.stream == stream,
                SourceRecord.deleted.is_(False),
                (SourceRecord.last_run_id < since_run_id) | SourceRecord.last_run_id.is_(None),
            )
            .values(deleted=True)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def mark_tombstones(master: Master, source: str) -> dict[str, int]:
    """Mark pending records whose payload has a non-empty ``_sdc_deleted_at`` deleted."""
    found: dict[str, list[int]] = {}
    # Payloads are JSON text; only those naming the field are read and decoded. Decoding
    # every pending payload took 38 s of a 1,000,000-record first load (load ~7). The text
    # test is a superset (the name may be a value, or the field null): the decoded payload
    # decides.
    payload_text = type_coerce(SourceRecord.payload, Text)
    with master.session() as s:
        rows = s.execute(
            select(SourceRecord.id, SourceRecord.stream, SourceRecord.payload).where(
                SourceRecord.source == source,
                SourceRecord.deleted.is_(False),
                SourceRecord.match_state == "pending",
                payload_text.contains(f'"{TOMBSTONE_FIELD}"', autoescape=True),
            )
        )
        for row_id, stream, payload in rows:
            data = payload if isinstance(payload, dict) else _loads(payload)
            if isinstance(data, dict) and data.get(TOMBSTONE_FIELD) not in (None, ""):
                found.setdefault(stream, []).append(row_id)
        for ids in found.values():
            for start in range(0, len(ids), _CHUNK):
                s.execute(
                    update(SourceRecord)
                    .where(SourceRecord.id.in_(ids[start : start + _CHUNK]))
                    .values(deleted=True)
                    .execution_options(synchronize_session=False)
                )
    return {stream: len(ids) for stream, ids in found.items()}


def detect_deletions(
    master: Master,
    source: str,
    ingest_counts: dict[str, Any],
    state_after: Any,
    *,
    full_table: bool = True,
    force: bool = False,
) -> DeletionCounts:
    """Run both detections for one source after its successful ingest run.

    ``force`` (``sync --full``, the tap started without state so every partition was read)
    also covers streams fed by several partitions.
    """
    counts = DeletionCounts()
    run_id = int(ingest_counts["run_id"])
    since = pass_start(master, source, run_id)
    streams = ingest_counts.get("streams") or {}
    for stream, seen in sorted(streams.items()):
        key = f"{source}/{stream}"
        if not full_table or is_incremental(state_after, stream):
            continue
        if partition_count(state_after, stream) > 1 and not force:
            # Several files or contexts feed the stream and a tap may re-read only the changed
            # ones: rows of the others were not re-sent, not deleted.
            counts.skipped.append(
                f"{key}: several partitions (files) feed this stream; deletions are detected "
                "only with `crmhub sync --full`"
            )
            continue
        if not seen.get("records"):
            # An empty pass is more often a broken tap or filter than an emptied table.
            counts.skipped.append(f"{key}: no records this pass, nothing marked deleted")
            continue
        marked = mark_unseen_deleted(master, source, stream, since)
        if marked:
            counts.full_table[key] = marked
    for stream, marked in mark_tombstones(master, source).items():
        counts.tombstones[f"{source}/{stream}"] = marked
    return counts


def _loads(payload: Any) -> Any:
    if isinstance(payload, str | bytes):
        try:
            return json.loads(payload)
        except ValueError:
            return None
    return None
