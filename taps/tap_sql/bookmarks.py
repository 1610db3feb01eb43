"""Bookmarks: the replication key value and its tie-breaker, to and from Singer state.

Incremental reads are ordered by ``(replication key, primary key ...)`` and resume
strictly after the last emitted position::

    WHERE rk >= :bookmark AND (rk > :bookmark OR (pk ...) > (:last_pk ...))

``>=`` alone would re-read every row that shares the bookmark value; the primary key of
the last emitted row (the tie-breaker, kept in state next to the bookmark) skips exactly
the rows already emitted, so a run that was interrupted in the middle of many rows with
the same ``updated_at`` loses and repeats nothing. Rows whose replication key is NULL sort
first; while the read is still among them the bookmark is null and the tie-breaker alone
says how far it got.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import _Binary

#: State key holding the primary key values of the last emitted row.
TIEBREAKER_KEY = "replication_key_tiebreaker"


def to_state_value(value: Any) -> Any:
    """A JSON value that keeps the full precision of a bookmark or key value."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def from_state_value(value: Any, column_type: sa.types.TypeEngine[Any]) -> Any:
    """The Python value to bind for a column, from its state form."""
    if value is None:
        return None
    if isinstance(column_type, sa.DateTime):
        parsed = value if isinstance(value, datetime.datetime) else _parse_datetime(value)
        if column_type.timezone and parsed.tzinfo is None:
            return parsed.replace(tzinfo=datetime.UTC)
        if not column_type.timezone and parsed.tzinfo is not None:
            # States written by other tools carry +00:00 on naive columns.
            return parsed.astimezone(datetime.UTC).replace(tzinfo=None)
        return parsed
    if isinstance(column_type, sa.Date):
        return (
            value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value[:10])
        )
    if isinstance(column_type, sa.Time):
        return value if isinstance(value, datetime.time) else datetime.time.fromisoformat(value)
    if isinstance(column_type, sa.Integer):
        return int(value)
    if isinstance(column_type, sa.Numeric):
        if getattr(column_type, "asdecimal", True):
            return decimal.Decimal(str(value))
        return float(value)
    if isinstance(column_type, _Binary):
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return value


def _parse_datetime(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _lexicographic_after(columns: Sequence[Any], values: Sequence[Any]) -> Any:
    """``(c1, c2, ...) > (v1, v2, ...)`` spelled out (row-value comparison is not portable)."""
    first, value = columns[0], values[0]
    if len(columns) == 1:
        return first > value
    return sa.or_(
        first > value,
        sa.and_(first == value, _lexicographic_after(columns[1:], values[1:])),
    )


def resume_filter(
    replication_column: Any,
    bookmark: Any,
    key_columns: Sequence[Any],
    tiebreaker: Sequence[Any] | None,
) -> Any:
    """WHERE clause for the rows strictly after the last emitted position.

    Without a tie-breaker (no primary key, or a state written by another tool) it is
    ``rk >= bookmark``: rows sharing the bookmark value come again (never lost).
    """
    if bookmark is None:
        if tiebreaker is None:
            return None
        return sa.or_(
            replication_column.is_not(None),
            sa.and_(replication_column.is_(None), _lexicographic_after(key_columns, tiebreaker)),
        )
    if tiebreaker is None or not key_columns:
        return replication_column >= bookmark
    return sa.and_(
        replication_column >= bookmark,
        sa.or_(
            replication_column > bookmark,
            _lexicographic_after(key_columns, tiebreaker),
        ),
    )


def read_tiebreaker(
    state: Mapping[str, Any], key_properties: Sequence[str]
) -> Mapping[str, Any] | None:
    """The tie-breaker stored in state, if it matches the stream's key properties."""
    stored = state.get(TIEBREAKER_KEY)
    if not isinstance(stored, Mapping) or not key_properties:
        return None
    if list(stored) != list(key_properties):
        return None
    return stored
