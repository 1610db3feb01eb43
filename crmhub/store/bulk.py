"""Many rows into one statement, bound as tuples: SQLAlchemy's per-row parameter handling
bypassed where the driver can take the rows as they are (SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from sqlalchemy import Insert, Update
from sqlalchemy.orm import Session


def executemany_rows(
    s: Session,
    statement: Insert | Update,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """Run ``statement`` once per row (each a tuple of the values of ``columns``), in one
    executemany.

    On SQLite the rows are bound as they are, each value through its column type's own
    bind conversion (once per distinct value: a batch shares one time stamp): SQLAlchemy's
    per-row parameter processing cost more than SQLite's writing of 100,000 ledger rows
    (and than the match index's inserts of a hundred thousand keys).
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
