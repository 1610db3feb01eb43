"""The publish ledger (table ``publish_record``): what each target accepted, per record.

Read by tap-crmhub (last accepted hash, retry list, remote ids) and written by the hub from
the target's results file after each run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from crmhub.match.among import among, among_chunks
from crmhub.publish.records import LedgerEntry
from crmhub.store.bulk import executemany_rows
from crmhub.store.models import PublishRecord
from crmhub.store.types import utcnow

ACCEPTED = "accepted"
FAILED = "failed"


def load_ledger(
    s: Session, target: str, stream: str, keys: Sequence[str] | None = None
) -> dict[str, LedgerEntry]:
    """Key -> what ``target`` last did with that record of ``stream``: every record's, or
    those of ``keys`` (read chunk by chunk)."""
    columns = select(
        PublishRecord.record_key,
        PublishRecord.content_hash,
        PublishRecord.status,
        PublishRecord.remote_id,
    ).where(PublishRecord.target == target, PublishRecord.stream == stream)
    statements = (
        [columns]
        if keys is None
        else [columns.where(among(s, PublishRecord.record_key, c)) for c in among_chunks(s, keys)]
    )
    return {
        key: LedgerEntry(h, status, remote)
        for statement in statements
        for key, h, status, remote in s.execute(statement)
    }


class Outcome(NamedTuple):
    """One line of the target's results file, as the ledger needs it."""

    stream: str
    key: str
    action: str
    remote_id: str | None
    content_hash: str | None
    error: str | None
    disposition: str | None
    at: datetime


#: the columns of a new ledger row, in the order ``record_outcomes`` builds them
_INSERT_COLUMNS = (
    "target",
    "stream",
    "record_key",
    "remote_id",
    "content_hash",
    "disposition",
    "status",
    "action",
    "error",
    "attempts",
    "pushed_at",
    "run_id",
)
#: the columns an update sets, by what the outcome was (then the row's id)
_ACCEPTED_COLUMNS = (
    "status",
    "action",
    "error",
    "attempts",
    "pushed_at",
    "run_id",
    "content_hash",
    "disposition",
    "remote_id",
)
_FAILED_COLUMNS = ("status", "action", "error", "attempts", "pushed_at", "run_id")
_FAILED_FIRST_REMOTE_COLUMNS = (*_FAILED_COLUMNS, "remote_id")


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
    keys: dict[str, list[str]] = {}
    for stream, key in latest:
        keys.setdefault(stream, []).append(key)
    for stream, stream_keys in keys.items():
        # only this batch's keys: the hub records a run batch by batch, and reading the
        # target's whole ledger for each batch grew with the square of the run
        for chunk in among_chunks(s, stream_keys):
            for row_id, key, status, attempts, remote in s.execute(
                select(
                    PublishRecord.id,
                    PublishRecord.record_key,
                    PublishRecord.status,
                    PublishRecord.attempts,
                    PublishRecord.remote_id,
                ).where(
                    PublishRecord.target == target,
                    PublishRecord.stream == stream,
                    among(s, PublishRecord.record_key, chunk),
                )
            ):
                existing[(stream, key)] = (row_id, status, attempts, remote)
    # Rows are tuples in the column order above: a dict per row, then its values picked
    # out again by name, cost more than SQLite's writing of them.
    inserts: list[tuple[Any, ...]] = []
    accepted_updates: list[tuple[Any, ...]] = []
    failed_updates: list[tuple[Any, ...]] = []
    failed_first_remote: list[tuple[Any, ...]] = []
    failed_count = 0
    for (stream, key), o in latest.items():
        before = existing.get((stream, key))
        if o.action == "error":
            failed_count += 1
            if before is None:
                inserts.append(
                    (
                        target,
                        stream,
                        key,
                        o.remote_id,
                        None,
                        None,
                        FAILED,
                        o.action,
                        o.error,
                        1,
                        o.at,
                        run_id,
                    )
                )
                continue
            attempts = before[2] + 1 if before[1] == FAILED else 1
            values = (FAILED, o.action, o.error, attempts, o.at, run_id)
            if o.remote_id and before[3] is None:
                failed_first_remote.append((*values, o.remote_id, before[0]))
            else:
                failed_updates.append((*values, before[0]))
        elif before is None:
            inserts.append(
                (
                    target,
                    stream,
                    key,
                    o.remote_id,
                    o.content_hash,
                    o.disposition,
                    ACCEPTED,
                    o.action,
                    None,
                    1,
                    o.at,
                    run_id,
                )
            )
        else:
            attempts = before[2] + 1 if before[1] == FAILED else 1
            accepted_updates.append(
                (
                    ACCEPTED,
                    o.action,
                    None,
                    attempts,
                    o.at,
                    run_id,
                    o.content_hash,
                    o.disposition,
                    o.remote_id,
                    before[0],
                )
            )
    table = PublishRecord.__table__
    assert isinstance(table, Table)  # noqa: S101 - a declarative model's table
    # one executemany per set of columns
    by_id = update(table).where(table.c.id == bindparam("row_id"))
    for columns, rows in (
        (_ACCEPTED_COLUMNS, accepted_updates),
        (_FAILED_COLUMNS, failed_updates),
        (_FAILED_FIRST_REMOTE_COLUMNS, failed_first_remote),
    ):
        executemany_rows(s, by_id, (*columns, "row_id"), rows)
    executemany_rows(s, insert(table), _INSERT_COLUMNS, inserts)
    return {ACCEPTED: len(latest) - failed_count, FAILED: failed_count}


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
