"""The publish ledger (table ``publish_record``): what each target accepted, per record.

Read by tap-crmhub (last accepted hash, retry list, remote ids) and written by the hub from
the target's results file after each run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
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
    table = PublishRecord.__table__
    assert isinstance(table, Table)  # noqa: S101 - a declarative model's table
    # Updates are grouped by their set of columns so each group is one executemany.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    by_id = update(table).where(table.c.id == bindparam("row_id"))
    for rows in groups.values():
        for row in rows:
            row["row_id"] = row.pop("id")
        _executemany(s, by_id, rows)
    if inserts:
        _executemany(s, insert(table), inserts)
    return counts


def _executemany(s: Session, statement: Insert | Update, rows: list[dict[str, Any]]) -> None:
    """Run ``statement`` once per row (all rows with the same keys), in one executemany.

    On SQLite the rows are bound as plain tuples, each value through its column type's own
    bind conversion (once per distinct value: a batch shares one time stamp): SQLAlchemy's
    per-row parameter processing cost more than SQLite's writing of 100,000 ledger rows.
    Elsewhere the statement runs through SQLAlchemy in slices of 5,000 rows.
    """
    if not rows:
        return
    conn = s.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        for start in range(0, len(rows), 5000):
            conn.execute(statement, rows[start : start + 5000])
        return
    keys = list(rows[0])
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    order = list(compiled.positiontup or [])
    if sorted(order) != sorted(keys):
        # the statement binds more (or other) parameters than the rows carry
        conn.execute(statement, rows)
        return
    convert: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = []
    for position, name in enumerate(order):
        bind = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if bind is not None:
            convert.append((position, bind, {}))
    params = []
    for row in rows:
        values = list(map(row.__getitem__, order))
        for position, process, done in convert:
            value = values[position]
            try:
                values[position] = done[value]
            except KeyError:
                values[position] = done[value] = process(value)
            except TypeError:  # an unhashable value: converted, not remembered
                values[position] = process(value)
        params.append(tuple(values))
    conn.exec_driver_sql(str(compiled), params)


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
