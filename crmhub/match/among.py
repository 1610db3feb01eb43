"""One IN condition over many values, bound as a single parameter where the database allows.

Kept free of pandas and the engine: steward actions reach it through recompute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import BigInteger, ColumnElement, Text, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

# Values per statement of :func:`among`: one bound parameter carries them on SQLite and
# PostgreSQL, so a chunk only bounds the size of that parameter.
_AMONG_CHUNK = 20_000


def among_chunks(session: Session, values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """``values`` cut into the chunks one :func:`among` condition may take."""
    name = session.get_bind().dialect.name
    return _split(values, _AMONG_CHUNK if name in ("sqlite", "postgresql") else 900)


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values as ONE parameter where the database allows it.

    An expanded IN list binds and processes every value as its own parameter; for the
    thousands of ids a match run reads (neighbourhood, members, golden records) that cost
    more CPU than the queries. SQLite gets a JSON array read through ``json_each``,
    PostgreSQL an array compared with ``= ANY``; others keep the IN list. Integer and
    string values only (ids, master ids, keys).
    """
    items = list(values)
    if not items:
        # SQLAlchemy's empty IN: false on every database, whatever the column's type
        return cast(ColumnElement[bool], column.in_(items))
    name = session.get_bind().dialect.name
    if name == "sqlite":
        table = func.json_each(orjson.dumps(items).decode()).table_valued("value")
        return cast(ColumnElement[bool], column.in_(select(table.c.value)))
    if name == "postgresql":
        element = BigInteger() if all(isinstance(v, int) for v in items) else Text()
        return cast(
            ColumnElement[bool],
            column == any_(bindparam(None, items, type_=postgresql.ARRAY(element))),
        )
    return cast(ColumnElement[bool], column.in_(items))


def _split(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
