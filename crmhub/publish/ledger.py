"""The publish ledger (table ``publish_record``): what each target accepted, per record.

Read by tap-crmhub (last accepted hash, retry list, remote ids) and written by the hub from
the target's results file after each run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Insert, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from crmhub.match.among import among, among_chunks
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
        _executemany(s, by_id, (*columns, "row_id"), rows)
    _executemany(s, insert(table), _INSERT_COLUMNS, inserts)
    return {ACCEPTED: len(latest) - failed_count, FAILED: failed_count}


def _executemany(
    s: Session,
    statement: Insert | Update,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """Run ``statement`` once per row (each a tuple of the values of ``columns``), in one
    executemany.

    On SQLite the rows are bound as they are, each value through its column type's own
    bind conversion (once per distinct value: a batch shares one time stamp): SQLAlchemy's
    per-row parameter processing cost more than SQLite's writing of 100,000 ledger rows.
    Elsewhere the statement runs through SQLAlchemy in slices of 5,000 rows.
    """
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    order = list(compiled.positiontup or [])
    if dialect.name != "sqlite" or sorted(order) != sorted(columns):
        # other databases, or a statement that binds more (or other) parameters than the
        # rows carry: SQLAlchemy's own path, by name
        named = [dict(zip(columns, row, strict=True)) for row in rows]
        for start in range(0, len(named), 5000):
            conn.execute(statement, named[start : start + 5000])
        return
    if order != list(columns):
        pick = itemgetter(*[columns.index(name) for name in order])
        rows = [pick(row) for row in rows]
    convert: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = []
    for position, name in enumerate(order):
        bind = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if bind is not None:
            convert.append((position, bind, {}))
    if convert:
        params = []
        for row in rows:
            values = list(row)
            for position, process, done in convert:
                value = values[position]
                try:
                    values[position] = done[value]
                except KeyError:
                    values[position] = done[value] = process(value)
                except TypeError:  # an unhashable value: converted, not remembered
                    values[position] = process(value)
            params.append(tuple(values))
        rows = params
    conn.exec_driver_sql(str(compiled), rows)


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
