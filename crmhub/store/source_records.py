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
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

# SQLite allows 32766 host parameters; stay well below for the IN (...) look-ups.
_LOOKUP_CHUNK = 5000


class IncomingRecord(NamedTuple):
    """One record ready to be written; a plain tuple in this order is accepted as well."""

    source_key: str
    payload: str
    content_hash: str
    entity: str | None
    canonical: str | None
    status: str  # ok | quarantined | unmapped
    reasons: str | None  # JSON text of the list of reasons (quarantined records)


RecordRow = tuple[str, str, str, str | None, str | None, str, str | None]


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


def write_batch(
    conn: Connection,
    *,
    source: str,
    stream: str,
    records: Sequence[RecordRow],
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
    if not records:
        return counts
    # The last occurrence of a key in a batch wins, as if the records had come one by one.
    latest = {rec[0]: rec for rec in records}
    counts.repeated_in_batch = len(records) - len(latest)
    ts = _timestamp(conn, now or datetime.now(UTC))
    ph = _placeholder(conn)
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
        conn.exec_driver_sql(
            f"UPDATE source_record SET entity={ph}, payload={ph}, canonical={ph}, content_hash={ph}, "
            f"mapping_version={ph}, status={ph}, match_state='pending', deleted=FALSE, "
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
    rows: Sequence[RecordRow],
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


def _insert(
    conn: Connection,
    source: str,
    stream: str,
    rows: Sequence[RecordRow],
    mapping_version: str | None,
    ts: Any,
    run_id: int,
    ph: str,
) -> None:
    if conn.dialect.name == "sqlite":
        constants = [source, stream, mapping_version, ts, run_id]
        if all(_literal_ok(c) for c in constants):
            # The columns that are the same for the whole batch are written into the statement
            # once, so each row binds only its own values and the record tuples go in as they
            # are: ?7 (the reasons) is no column, it is only named so the tuple fits.
            src, strm, version, stamp, run = (_literal(c) for c in constants)
            conn.exec_driver_sql(
                f"INSERT INTO source_record ({_COLUMNS}) VALUES ({src}, {strm}, ?1, ?4, ?2, ?5, "
                f"?3, {version}, coalesce(?6, ?7), 'pending', 0, {stamp}, {stamp}, {run}, {run})",
                rows,
            )
            return
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


def _literal_ok(value: Any) -> bool:
    if value is None or type(value) is int:
        return True
    return isinstance(value, str) and "\x00" not in value


def _literal(value: Any) -> str:
    """An SQLite literal for a value ``_literal_ok`` accepted (quotes doubled)."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _copy_postgres(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    raw = conn.connection.driver_connection
    if raw is None:  # pragma: no cover - a closed connection cannot reach here
        raise RuntimeError("no PostgreSQL driver connection for COPY")
    with raw.cursor() as cur, cur.copy(f"COPY source_record ({_COLUMNS}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def _quarantine(
    conn: Connection,
    source: str,
    stream: str,
    rows: list[RecordRow],
    ts: Any,
    run_id: int,
    ph: str,
) -> None:
    marks = ",".join([ph] * 8)
    conn.exec_driver_sql(
        "INSERT INTO quarantine (source, stream, source_key, stage, reasons, payload, "
        f"created_at, run_id) VALUES ({marks})",
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
