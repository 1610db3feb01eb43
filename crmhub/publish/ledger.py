"""The publish ledger (table ``publish_record``): what each target accepted, per record.

Read by tap-crmhub (last accepted hash, retry list, remote ids) and written by the hub from
the target's results file after each run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from crmhub.publish.records import LedgerEntry
from crmhub.store.models import PublishRecord
from crmhub.store.types import utcnow

ACCEPTED = "accepted"
FAILED = "failed"


def load_ledger(s: Session, target: str, stream: str) -> dict[str, LedgerEntry]:
    """Key -> what ``target`` last did with that record of ``stream``."""
    rows = s.execute(
        select(
            PublishRecord.record_key,
            PublishRecord.content_hash,
            PublishRecord.status,
            PublishRecord.remote_id,
        ).where(PublishRecord.target == target, PublishRecord.stream == stream)
    )
    return {key: LedgerEntry(h, status, remote) for key, h, status, remote in rows}


@dataclass(frozen=True)
class Outcome:
    """One line of the target's results file, as the ledger needs it."""

    stream: str
    key: str
    action: str
    remote_id: str | None
    content_hash: str | None
    error: str | None
    disposition: str | None
    at: datetime


def record_outcomes(
    s: Session, target: str, outcomes: Iterable[Outcome], run_id: int | None
) -> dict[str, int]:
    """Write each outcome into the ledger; return how many were accepted and failed.

    An accepted record stores its hash and remote id. A failed record keeps the hash that
    was accepted before (so it is still "changed") and joins the retry list with its error.
    The last outcome of a key wins (a target reports each record once per run anyway).
    """
    latest: dict[tuple[str, str], Outcome] = {}
    for outcome in outcomes:
        latest[(outcome.stream, outcome.key)] = outcome
    existing: dict[tuple[str, str], tuple[int, str, int, str | None]] = {}
    streams = {stream for stream, _ in latest}
    for stream in streams:
        for row_id, key, status, attempts, remote in s.execute(
            select(
                PublishRecord.id,
                PublishRecord.record_key,
                PublishRecord.status,
                PublishRecord.attempts,
                PublishRecord.remote_id,
            ).where(PublishRecord.target == target, PublishRecord.stream == stream)
        ):
            existing[(stream, key)] = (row_id, status, attempts, remote)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    counts = {ACCEPTED: 0, FAILED: 0}
    for (stream, key), o in latest.items():
        failed = o.action == "error"
        counts[FAILED if failed else ACCEPTED] += 1
        before = existing.get((stream, key))
        attempts = 1
        if before is not None and before[1] == FAILED:
            attempts = before[2] + 1
        values: dict[str, Any] = {
            "status": FAILED if failed else ACCEPTED,
            "action": o.action,
            "error": o.error if failed else None,
            "attempts": attempts,
            "pushed_at": o.at,
            "run_id": run_id,
        }
        if not failed:
            values["content_hash"] = o.content_hash
            values["disposition"] = o.disposition
            values["remote_id"] = o.remote_id
        elif o.remote_id and before is not None and before[3] is None:
            values["remote_id"] = o.remote_id
        if before is None:
            inserts.append(
                {
                    "target": target,
                    "stream": stream,
                    "record_key": key,
                    "remote_id": o.remote_id,
                    "content_hash": None if failed else o.content_hash,
                    "disposition": None if failed else o.disposition,
                    **values,
                }
            )
        else:
            updates.append({"id": before[0], **values})
    # Updates are grouped by their set of columns so each group is one executemany.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for rows in groups.values():
        s.execute(update(PublishRecord), rows)
    if inserts:
        # the table's own insert (Core executemany): the ORM's bulk insert spent more time
        # collecting rows per mapper than the database spent writing them
        table = PublishRecord.__table__
        assert isinstance(table, Table)  # noqa: S101 - a declarative model's table
        for start in range(0, len(inserts), 5000):
            s.execute(insert(table), inserts[start : start + 5000])
    return counts


def retry_list(s: Session, target: str) -> list[PublishRecord]:
    """Records ``target`` failed to accept last time: they are sent again next run."""
    return list(
        s.scalars(
            select(PublishRecord)
            .where(PublishRecord.target == target, PublishRecord.status == FAILED)
            .order_by(PublishRecord.stream, PublishRecord.record_key)
        )
    )


def ledger_counts(s: Session, target: str) -> Mapping[str, int]:
    """How many records ``target`` holds per status."""
    rows = s.execute(
        select(PublishRecord.status, func.count())
        .where(PublishRecord.target == target)
        .group_by(PublishRecord.status)
    )
    return {status: int(count) for status, count in rows}


def now() -> datetime:
    """The time stamp used for outcomes that carry none."""
    return utcnow()
