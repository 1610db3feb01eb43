"""Custom SQL queries as named streams: settings, and finding out their columns and types.

A query runs as a subquery, ``SELECT ... FROM (<sql>) AS q``, so the tap can add the
incremental filter and ordering around it. Its column types are learned from the database
itself: SQLite and PostgreSQL reflect a temporary view of the query, MySQL/MariaDB a
temporary empty table (which also tells each column's charset). Other engines fall back to
the column names of an empty result, typed as strings unless the query's ``schema`` says
otherwise.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tap_sql.db_errors import driver_message, is_connection_failure
from tap_sql.errors import TapSQLConfigurationError, TapSQLError


@dataclass(frozen=True)
class CustomQuery:
    """One entry of the ``custom_queries`` setting."""

    name: str
    sql: str
    index: int
    key_properties: tuple[str, ...] = ()
    replication_key: str | None = None
    column_charsets: Mapping[str, str] = field(default_factory=dict)
    schema: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """Where the query sits in the config, for messages."""
        return f"custom_queries[{self.index}] ({self.name!r})"

    def as_text(self) -> sa.TextClause:
        """The query as a text clause (no bind parameters: colons are literal)."""
        return sa.text(self.sql.replace(":", r"\:"))


def parse_custom_queries(raw: Sequence[Mapping[str, Any]] | None) -> list[CustomQuery]:
    """Validate the ``custom_queries`` setting; collect every problem, raise once."""
    problems: list[str] = []
    queries: list[CustomQuery] = []
    seen: set[str] = set()
    for index, item in enumerate(raw or ()):
        name = str(item.get("name") or "").strip()
        sql = str(item.get("sql") or "").strip().rstrip(";").strip()
        if not name:
            problems.append(f"custom_queries[{index}]: 'name' is missing")
        elif name in seen:
            problems.append(f"custom_queries[{index}]: name {name!r} is used twice")
        if not sql:
            problems.append(f"custom_queries[{index}] ({name!r}): 'sql' is empty")
        seen.add(name)
        queries.append(
            CustomQuery(
                name=name,
                sql=sql,
                index=index,
                key_properties=tuple(item.get("key_properties") or ()),
                replication_key=item.get("replication_key") or None,
                column_charsets=dict(item.get("column_charsets") or {}),
                schema=dict(item.get("schema") or {}),
            )
        )
    if problems:
        raise TapSQLConfigurationError(
            "invalid custom_queries: " + "; ".join(problems),
            hint="each custom query needs a unique 'name' and a non-empty 'sql'",
        )
    return queries


@dataclass(frozen=True)
class ProbedColumn:
    """A result column of a custom query: its name, SQL type and (MySQL) charset."""

    name: str
    type: sa.types.TypeEngine[Any]
    nullable: bool = True
    charset: str | None = None


def _probe_name() -> str:
    return f"tap_sql_probe_{uuid.uuid4().hex[:12]}"


def _reflect_probe(conn: sa.Connection, name: str, schema: str | None) -> list[ProbedColumn]:
    inspector = sa.inspect(conn)
    return [
        ProbedColumn(col["name"], col["type"], bool(col.get("nullable", True)))
        for col in inspector.get_columns(name, schema=schema)
    ]


def mysql_column_charsets(
    conn: sa.Connection, table: str, *, schema: str | None = None
) -> dict[str, str]:
    """Charset of each text column of a MySQL/MariaDB table (temporary tables too)."""
    preparer = conn.dialect.identifier_preparer
    name = preparer.quote(table)
    if schema:
        name = f"{preparer.quote_schema(schema)}.{name}"
    rows = conn.exec_driver_sql(f"SHOW FULL COLUMNS FROM {name}")
    charsets: dict[str, str] = {}
    for row in rows:
        mapping = row._mapping
        collation = mapping["Collation"]
        if isinstance(collation, bytes):
            collation = collation.decode()
        if collation:
            charsets[str(mapping["Field"])] = str(collation).split("_", 1)[0]
    return charsets


_PERMISSION = re.compile(r"denied|permission|privilege|read-only|readonly", re.IGNORECASE)


def _probe_with_temporary_object(
    conn: sa.Connection, query: CustomQuery, backend: str
) -> list[ProbedColumn]:
    name = _probe_name()
    preparer = conn.dialect.identifier_preparer
    if backend in ("sqlite", "postgresql"):
        conn.exec_driver_sql(f"CREATE TEMPORARY VIEW {preparer.quote(name)} AS {query.sql}")
        columns = _reflect_probe(conn, name, "temp" if backend == "sqlite" else None)
        conn.exec_driver_sql(f"DROP VIEW {preparer.quote(name)}")
        return columns
    if backend in ("mysql", "mariadb"):
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {preparer.quote(name)} AS "
            f"SELECT * FROM ({query.sql}) AS q LIMIT 0"
        )
        charsets = mysql_column_charsets(conn, name)
        columns = [
            ProbedColumn(c.name, c.type, c.nullable, charsets.get(c.name))
            for c in _reflect_probe(conn, name, None)
        ]
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE {preparer.quote(name)}")
        return columns
    return _probe_names_only(conn, query)


def _probe_names_only(conn: sa.Connection, query: CustomQuery) -> list[ProbedColumn]:
    """Column names of an empty result; types unknown (strings unless ``schema`` says)."""
    result = conn.execute(
        sa.select(sa.text("*"))
        .select_from(query.as_text().columns().subquery("q"))
        .where(sa.false())
    )
    columns = [ProbedColumn(key, sa.String()) for key in list(result.keys())]
    result.close()
    return columns


def probe_columns(conn: sa.Connection, query: CustomQuery) -> list[ProbedColumn]:
    """Find the result columns of ``query`` and their types without reading its rows."""
    backend = conn.dialect.name
    try:
        try:
            with conn.begin():
                columns = _probe_with_temporary_object(conn, query, backend)
        except sa.exc.DBAPIError as exc:
            # A read-only user may not create temporary objects: learn the names only.
            if not _PERMISSION.search(driver_message(exc)):
                raise
            with conn.begin():
                columns = _probe_names_only(conn, query)
    except TapSQLError:
        raise
    except sa.exc.DBAPIError as exc:
        if is_connection_failure(exc):
            raise
        raise TapSQLConfigurationError(
            f"{query.where}: the query failed: {driver_message(exc)}",
            hint="fix the SQL of this custom query; it must be one SELECT statement, "
            "which tap-sql runs as SELECT ... FROM (<your sql>) AS q",
        ) from None
    if not columns:
        raise TapSQLConfigurationError(
            f"{query.where}: the query returns no columns", hint="select at least one column"
        )
    duplicates = sorted({c.name for c in columns if [d.name for d in columns].count(c.name) > 1})
    if duplicates:
        raise TapSQLConfigurationError(
            f"{query.where}: the query returns duplicate column names {duplicates}",
            hint="give every selected column a unique alias (AS ...)",
        )
    return columns
