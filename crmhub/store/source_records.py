"""Bulk writes of source records: the hot path of ``crmhub ingest``.

Records arrive pre-encoded (payload and canonical JSON text, content hash). One batch is
written in the caller's transaction: a key look-up tells new, changed and unchanged records
apart, new ones are inserted in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL),
changed ones updated, unchanged ones only marked as seen. Re-sending a record therefore never
duplicates it: the source key is unique per stream and the content hash says whether anything
changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

# SQLite allows 32766 host parameters; stay well below for the IN (...) look-ups.
_LOOKUP_CHUNK = 5000


# A JSON text as stored: a str, or (SQLite only) its UTF-8 bytes, which the statements cast to
# TEXT as they are; the ingest writer splits its batch buffer into bytearrays and binds them
# so, without decoding every record into a str that the driver encodes again.
JsonText = str | bytearray


class IncomingRecord(NamedTuple):
    """One record ready to be written; a plain tuple in this order is accepted as well.

    An empty ``entity``, ``canonical`` or ``reasons`` means none, like None (the ingest
    writer sends empty values: binding None costs the SQLite driver an adapter look-up).
    """

    source_key: str
    payload: JsonText
    content_hash: str
    entity: str | None
    canonical: JsonText | None
    status: str  # ok | quarantined | unmapped
    reasons: str | None  # JSON text of the list of reasons (quarantined records)


RecordRow = tuple[str, JsonText, str, str | None, JsonText | None, str, str | None]


class RecordColumns(NamedTuple):
    """A batch's records column by column, the fields of ``RecordRow`` in the same order.

    What the ingest writer has; a first load on SQLite is inserted from the columns without
    ever building a tuple per record (3,000 instructions a record: the row tuples, then the
    statement's parameters picked out of them again).
    """

    keys: Sequence[str]
    payloads: Sequence[JsonText]
    hashes: Sequence[str]
    entities: Sequence[str | None]
    canonicals: Sequence[JsonText | None]
    statuses: Sequence[str]
    reasons: Sequence[str | None]

    @classmethod
    def of(cls, rows: Sequence[RecordRow]) -> RecordColumns:
        """The columns of ``rows``."""
        return cls(*zip(*rows, strict=True)) if rows else cls([], [], [], [], [], [], [])

    def rows(self) -> list[RecordRow]:
        """The records as row tuples."""
        return list(zip(*self, strict=True))


@dataclass
class BatchCounts:
    """What one batch did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    repeated_in_batch: int = 0
    quarantine_resolved: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchCounts) -> None:
        """Add ``other`` into this one."""
        self.new += other.new
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.repeated_in_batch += other.repeated_in_batch
        self.quarantine_resolved += other.quarantine_resolved

    def as_dict(self) -> dict[str, int]:
        """Counts for the run record and ``--json`` output."""
        return {
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "repeated_in_batch": self.repeated_in_batch,
            "quarantine_resolved": self.quarantine_resolved,
        }


def _timestamp(conn: Connection, now: datetime) -> Any:
    # SQLAlchemy stores SQLite datetimes as naive UTC text in this format; match it exactly so
    # ORM reads of rows written here round-trip.
    if conn.dialect.name == "sqlite":
        return now.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return now


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _stored_text(conn: Connection, param: str, *, optional: bool = False) -> str:
    """SQL storing a JSON text parameter (see JsonText); ``optional``: empty means NULL."""
    if conn.dialect.name == "sqlite":
        param = f"CAST({param} AS TEXT)"
    return f"nullif({param}, '')" if optional else param


def write_batch(
    conn: Connection,
    *,
    source: str,
    stream: str,
    records: Sequence[RecordRow] | RecordColumns,
    run_id: int,
    mapping_version: str | None,
    now: datetime | None = None,
    optimistic: bool = False,
) -> BatchCounts:
    """Write one batch of one stream in the caller's transaction.

    ``optimistic``: the caller expects every key to be new (the stream's previous batch had
    no stored key). On SQLite the rows are then inserted without the key look-up (about
    2 µs per record); the unique key refuses any that exist, and the batch is undone and
    written the usual way.
    """
    counts = BatchCounts()
    count = len(records.keys) if isinstance(records, RecordColumns) else len(records)
    if not count:
        return counts
    ts = _timestamp(conn, now or datetime.now(UTC))
    ph = _placeholder(conn)
    if isinstance(records, RecordColumns):
        if (
            optimistic
            and conn.dialect.name == "sqlite"
            and len(set(records.keys)) == count
            and _insert_new_only(conn, source, stream, records, mapping_version, ts, run_id, ph)
        ):
            # As below, with rows built only for the quarantined records.
            counts.new = count
            keys, payloads, reasons = records.keys, records.payloads, records.reasons
            quarantined: list[RecordRow] = [
                (keys[i], payloads[i], "", None, None, status, reasons[i])
                for i, status in enumerate(records.statuses)
                if status == "quarantined" and reasons[i]
            ]
            counts.quarantined = len(quarantined)
            if quarantined:
                _quarantine(conn, source, stream, quarantined, ts, run_id, ph)
            return counts
        records = records.rows()
    # The last occurrence of a key in a batch wins, as if the records had come one by one.
    latest = {rec[0]: rec for rec in records}
    counts.repeated_in_batch = len(records) - len(latest)
    if optimistic and conn.dialect.name == "sqlite":
        rows = records if len(latest) == len(records) else list(latest.values())
        if _insert_new_only(conn, source, stream, rows, mapping_version, ts, run_id, ph):
            counts.new = len(rows)
            quarantined = [r for r in rows if r[5] == "quarantined" and r[6]]
            counts.quarantined = len(quarantined)
            if quarantined:
                _quarantine(conn, source, stream, quarantined, ts, run_id, ph)
            return counts
    existing = _lookup(conn, source, stream, list(latest), ph)

    inserts: list[RecordRow] = []
    changed: list[RecordRow] = []
    updates: list[tuple[Any, ...]] = []
    seen_ids: list[int] = []
    resolved_keys: list[str] = []
    for key, rec in latest.items():
        old = existing.get(key)
        if old is None:
            inserts.append(rec)
            continue
        row_id, old_hash, old_version, old_status, old_deleted = old
        _key, payload, content_hash, entity, canonical, status, _reasons = rec
        if old_hash == content_hash and old_version == mapping_version and not old_deleted:
            seen_ids.append(row_id)
            continue
        changed.append(rec)
        updates.append(
            (entity, payload, canonical, content_hash, mapping_version, status, ts, run_id, row_id)
        )
        if old_status == "quarantined" and status != "quarantined":
            resolved_keys.append(key)
    counts.new = len(inserts)
    counts.changed = len(updates)
    counts.unchanged = len(seen_ids)

    if len(inserts) == len(records):
        _insert(conn, source, stream, records, mapping_version, ts, run_id, ph)
    elif inserts:
        _insert(conn, source, stream, inserts, mapping_version, ts, run_id, ph)
    if updates:
        payload, canonical = _stored_text(conn, ph), _stored_text(conn, ph, optional=True)
        conn.exec_driver_sql(
            f"UPDATE source_record SET entity=nullif({ph}, ''), payload={payload}, "
            f"canonical={canonical}, content_hash={ph}, mapping_version={ph}, status={ph}, "
            "match_state='pending', deleted=FALSE, "
            f"last_seen={ph}, last_run_id={ph} WHERE id={ph}",
            updates,
        )
    for start in range(0, len(seen_ids), _LOOKUP_CHUNK):
        chunk = seen_ids[start : start + _LOOKUP_CHUNK]
        marks = ",".join([ph] * len(chunk))
        conn.exec_driver_sql(
            f"UPDATE source_record SET last_seen={ph}, last_run_id={ph} WHERE id IN ({marks})",
            (ts, run_id, *chunk),
        )
    # Only records written now get a quarantine row; an unchanged one already has its row.
    quarantined = [r for r in (*inserts, *changed) if r[5] == "quarantined" and r[6]]
    counts.quarantined = len(quarantined)
    if quarantined:
        _quarantine(conn, source, stream, quarantined, ts, run_id, ph)
    if resolved_keys:
        counts.quarantine_resolved = _resolve(conn, source, stream, resolved_keys, ts, ph)
    return counts


def _insert_new_only(
    conn: Connection,
    source: str,
    stream: str,
    rows: Sequence[RecordRow] | RecordColumns,
    mapping_version: str | None,
    ts: Any,
    run_id: int,
    ph: str,
) -> bool:
    """Insert rows whose keys are all new; False (and nothing left behind) if one exists.

    SQLite backs out only the failing row of an ``executemany``, not the rows before it,
    and a savepoint cannot be used here (the driver starts its transaction lazily, so a
    first SAVEPOINT would become the transaction and its release a commit). The rows are
    removed instead: an INTEGER PRIMARY KEY without AUTOINCREMENT gives new rows ids above
    the largest, and of those only this insert writes this stream with this run and this
    batch's timestamp (the read of the largest id may precede this transaction's lock, so
    another writer's rows can sit above it too; the other conditions leave them alone).
    """
    before = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM source_record").scalar()
    try:
        _insert(conn, source, stream, rows, mapping_version, ts, run_id, ph)
    except IntegrityError:
        conn.exec_driver_sql(
            f"DELETE FROM source_record WHERE id > {ph} AND source = {ph} AND stream = {ph} "
            f"AND run_id = {ph} AND first_seen = {ph}",
            (before, source, stream, run_id, ts),
        )
        return False
    return True


def _lookup(
    conn: Connection, source: str, stream: str, keys: list[str], ph: str
) -> dict[str, tuple[int, str, str | None, str, bool]]:
    found: dict[str, tuple[int, str, str | None, str, bool]] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        marks = ",".join([ph] * len(chunk))
        rows = conn.exec_driver_sql(
            "SELECT source_key, id, content_hash, mapping_version, status, deleted "
            f"FROM source_record WHERE source={ph} AND stream={ph} AND source_key IN ({marks})",
            (source, stream, *chunk),
        )
        for key, row_id, chash, version, status, deleted in rows:
            found[key] = (row_id, chash, version, status, bool(deleted))
    return found


_COLUMNS = (
    "source, stream, source_key, entity, payload, canonical, content_hash, mapping_version, "
    "status, match_state, deleted, first_seen, last_seen, run_id, last_run_id"
)

# Rows per SQLite INSERT statement. Executed row by row (executemany), each row is a whole
# statement: its cursors on the table and the three indexes opened and closed, its registers
# freed, its end processed -- 11,000 of the 63,000 instructions a row cost. With many rows in
# one statement that is paid once per chunk. The statement text depends only on this number
# (the batch's constants are parameters), so SQLite compiles it once per connection.
# 200 rows bind at most 1,206 parameters, far below SQLite's smallest limit (32,766 since
# 3.32); in a micro-benchmark 100, 200, 500 and 2,000 rows cost 43.8k, 43.9k, 44.7k and
# 54.7k instructions per row.
_SQLITE_ROWS_PER_INSERT = 200
# ?1 source, ?2 stream, ?3 mapping version, ?4 timestamp, ?5 run id, ?6 entity (when the
# rows share one, as a batch of one stream does; else each row binds its own)
_SQLITE_CONSTANTS = 6
# What each row binds: key, payload, hash, canonical, status (and entity when not shared).
# The reasons are not bound: no column holds them, and every bound value costs about 800
# instructions.
_SHARED_ENTITY = (0, 1, 2, 4, 5)
_OWN_ENTITY = (0, 1, 2, 4, 5, 3)


def _sqlite_values(row: int, own_entity: bool) -> str:
    """The VALUES tuple of the ``row``-th record in a multi-row SQLite INSERT."""
    width = 6 if own_entity else 5
    b = _SQLITE_CONSTANTS + 1 + row * width
    entity = f"?{b + 5}" if own_entity else "?6"
    return (
        f"(?1, ?2, ?{b}, nullif({entity}, ''), CAST(?{b + 1} AS TEXT), "
        f"nullif(CAST(?{b + 3} AS TEXT), ''), ?{b + 2}, ?3, ?{b + 4}, "
        "'pending', 0, ?4, ?4, ?5, ?5)"
    )


@lru_cache(maxsize=8)
def _sqlite_insert(rows: int, own_entity: bool) -> str:
    values = ", ".join(_sqlite_values(row, own_entity) for row in range(rows))
    return f"INSERT INTO source_record ({_COLUMNS}) VALUES {values}"


def _insert(
    conn: Connection,
    source: str,
    stream: str,
    rows: Sequence[RecordRow] | RecordColumns,
    mapping_version: str | None,
    ts: Any,
    run_id: int,
    ph: str,
) -> None:
    if conn.dialect.name == "sqlite":
        columns = rows if isinstance(rows, RecordColumns) else RecordColumns.of(rows)
        _insert_sqlite(conn, (source, stream, mapping_version, ts, run_id), columns)
        return
    if isinstance(rows, RecordColumns):
        rows = rows.rows()
    values = [
        (
            source,
            stream,
            key,
            entity,
            payload,
            canonical,
            content_hash,
            mapping_version,
            status,
            "pending",
            False,
            ts,
            ts,
            run_id,
            run_id,
        )
        for key, payload, content_hash, entity, canonical, status, _reasons in rows
    ]
    if conn.dialect.name == "postgresql":
        _copy_postgres(conn, values)
        return
    marks = ",".join([ph] * 15)
    conn.exec_driver_sql(f"INSERT INTO source_record ({_COLUMNS}) VALUES ({marks})", values)


def _insert_sqlite(conn: Connection, constants: tuple[Any, ...], columns: RecordColumns) -> None:
    """Insert records with one multi-row statement per ``_SQLITE_ROWS_PER_INSERT``."""
    entities = set(columns.entities)
    own_entity = len(entities) > 1
    head = (*constants, None if own_entity else entities.pop())
    order = _OWN_ENTITY if own_entity else _SHARED_ENTITY
    width = len(order)
    count = len(columns.keys)
    for start in range(0, count, _SQLITE_ROWS_PER_INSERT):
        stop = min(start + _SQLITE_ROWS_PER_INSERT, count)
        # Laid out column by column (extended slice assignment), no tuple per record.
        params: list[Any] = [None] * (len(head) + width * (stop - start))
        params[: len(head)] = head
        for slot, column in enumerate(order):
            params[len(head) + slot :: width] = columns[column][start:stop]
        # A tuple: a list would be taken for a list of parameter sets.
        conn.exec_driver_sql(_sqlite_insert(stop - start, own_entity), tuple(params))


def _copy_postgres(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a closed connection cannot reach here
        raise RuntimeError("no PostgreSQL driver connection for COPY")
    import psycopg  # the PostgreSQL driver, present whenever this runs

    statement = f"COPY source_record ({_COLUMNS}) FROM STDIN"
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except psycopg.Error as exc:
        # COPY runs on the driver's connection, below SQLAlchemy: wrapped here, its errors
        # (a key longer than the column, a trigger's exception) reach the callers that turn
        # SQLAlchemy errors into one clear message, instead of escaping as a traceback
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _quarantine(
    conn: Connection,
    source: str,
    stream: str,
    rows: list[RecordRow],
    ts: Any,
    run_id: int,
    ph: str,
) -> None:
    conn.exec_driver_sql(
        "INSERT INTO quarantine (source, stream, source_key, stage, reasons, payload, "
        f"created_at, run_id) VALUES ({ph}, {ph}, {ph}, {ph}, {ph}, {_stored_text(conn, ph)}, "
        f"{ph}, {ph})",
        [(source, stream, r[0], "mapping", r[6], r[1], ts, run_id) for r in rows],
    )


def _resolve(conn: Connection, source: str, stream: str, keys: list[str], ts: Any, ph: str) -> int:
    total = 0
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        marks = ",".join([ph] * len(chunk))
        result = conn.exec_driver_sql(
            f"UPDATE quarantine SET resolved_at={ph} WHERE source={ph} AND stream={ph} "
            f"AND resolved_at IS NULL AND source_key IN ({marks})",
            (ts, source, stream, *chunk),
        )
        total += result.rowcount or 0
    return total
