"""Connection and discovery for any SQLAlchemy URL.

Discovery turns the selected schemas' tables and views, and every custom query, into
catalog entries: columns with faithful JSON types, primary keys (or the first unique
index), the columns usable as replication keys, and the per-stream settings of the config
(replication key, key properties).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql import SQLConnector
from sqlalchemy.engine import reflection

from tap_sql.custom_queries import (
    CustomQuery,
    ProbedColumn,
    parse_custom_queries,
    probe_columns,
)
from tap_sql.db_errors import connection_error, driver_message, safe_url
from tap_sql.errors import TapSQLConfigurationError, TapSQLError, TapSQLFatalError
from tap_sql.filters import DiscoveryFilter
from tap_sql.text_decoding import ROW_ERROR_PROPERTY, sqlite_text_factory
from tap_sql.type_mapping import ErpSQLToJSONSchema

DEFAULT_CONNECT_TIMEOUT = 15

# Column types whose values only grow with each change: fit as replication keys.
_ORDERABLE_FORMATS = {"date-time", "date"}


def _orderable(schema: Mapping[str, Any]) -> bool:
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    # A rowversion (binary) also works but is not offered: few binary columns are one.
    return "integer" in types or schema.get("format") in _ORDERABLE_FORMATS


class TapSQLConnector(SQLConnector):
    """SQLAlchemy connector with clear connection errors, filters and custom queries."""

    sql_to_jsonschema_converter = ErpSQLToJSONSchema

    # -- engine and connections ---------------------------------------------------------

    @functools.cached_property
    def backend(self) -> str:
        """The database backend name of the URL (``postgresql``, ``mysql``, ``sqlite`` ...)."""
        return self._parsed_url.get_backend_name()

    @functools.cached_property
    def _parsed_url(self) -> sa.URL:
        raw = self.config.get("sqlalchemy_url")
        if not raw:
            raise TapSQLConfigurationError(
                "setting 'sqlalchemy_url' is missing",
                hint="set it to a SQLAlchemy URL such as "
                "postgresql+psycopg://user:password@host:5432/erp",
            )
        try:
            return sa.make_url(str(raw))
        except sa.exc.ArgumentError:
            raise TapSQLConfigurationError(
                f"setting 'sqlalchemy_url' is not a SQLAlchemy URL: {safe_url(str(raw))}",
                hint="use dialect+driver://user:password@host:port/database",
            ) from None

    def create_engine(self) -> sa.Engine:
        """Create the engine with a connect timeout and, for SQLite, tolerant text decoding."""
        url = self._parsed_url
        timeout = int(self.config.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT)
        connect_args: dict[str, Any] = {}
        if self.backend in ("postgresql", "mysql", "mariadb"):
            connect_args["connect_timeout"] = timeout
        if self.backend == "sqlite":
            database = url.database or ""
            in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
            if not in_memory and not url.query.get("uri") and not os.path.exists(database):
                # sqlite3 would silently create an empty database and discover nothing.
                raise TapSQLConfigurationError(
                    f"SQLite database file {database!r} does not exist",
                    hint="check the path in sqlalchemy_url (sqlite:///relative/path.db or "
                    "sqlite:////absolute/path.db)",
                )
        try:
            engine = sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        except (sa.exc.NoSuchModuleError, ImportError) as exc:
            raise TapSQLConfigurationError(
                f"no SQLAlchemy dialect or driver for {safe_url(url)}: {exc}",
                hint="install the driver package (psycopg, pymysql, pyodbc, oracledb ...) "
                "into the tap's environment",
            ) from None
        if self.backend == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_on_connect)
        return engine

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection; failures to connect become one clear error."""
        try:
            conn = self._engine.connect()
        except TapSQLError:
            raise
        except sa.exc.DBAPIError as exc:
            raise connection_error(exc, self._parsed_url) from None
        with conn:
            yield conn

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        with self.connect() as conn:
            yield conn.execution_options(stream_results=True)

    # -- settings -----------------------------------------------------------------------

    @functools.cached_property
    def custom_queries(self) -> dict[str, CustomQuery]:
        """The configured custom queries by stream name."""
        return {q.name: q for q in parse_custom_queries(self.config.get("custom_queries"))}

    def stream_settings(self, stream_id: str) -> Mapping[str, Any]:
        """The ``stream_settings`` entry of one stream (empty when none)."""
        settings = self.config.get("stream_settings") or {}
        return settings.get(stream_id) or {}

    @functools.cached_property
    def _probed(self) -> dict[str, list[ProbedColumn]]:
        return {}

    def probe_custom_query(self, query: CustomQuery) -> list[ProbedColumn]:
        """Columns and types of a custom query (cached for the run)."""
        if query.name not in self._probed:
            with self.connect() as conn:
                self._probed[query.name] = probe_columns(conn, query)
        return self._probed[query.name]

    # -- discovery ----------------------------------------------------------------------

    def discover_catalog_entries(
        self,
        *,
        exclude_schemas: Any = (),
        reflect_indices: bool = True,
    ) -> list[dict[str, Any]]:
        """Catalog entries of the filtered tables and views, then of the custom queries."""
        flt = DiscoveryFilter.from_config(self.config)
        result: list[dict[str, Any]] = []
        with self.connect() as conn:
            try:
                inspected = sa.inspect(conn)
                default_schema = inspected.default_schema_name
                schemas = [
                    s
                    for s in inspected.get_schema_names()
                    if s not in exclude_schemas
                    and flt.schema_included(s, default_schema=default_schema, backend=self.backend)
                ]
                kinds = [(reflection.ObjectKind.TABLE, False)]
                if flt.include_views:
                    kinds.append((reflection.ObjectKind.ANY_VIEW, True))
                for schema in schemas:
                    pks = inspected.get_multi_pk_constraint(schema=schema)
                    indices = inspected.get_multi_indexes(schema=schema) if reflect_indices else {}
                    for kind, is_view in kinds:
                        columns = inspected.get_multi_columns(schema=schema, kind=kind)
                        for (_, table), reflected in sorted(columns.items(), key=lambda i: i[0][1]):
                            if not flt.table_included(schema, table):
                                continue
                            entry = self.discover_catalog_entry(
                                self._engine,
                                inspected,
                                schema,
                                table,
                                is_view,
                                reflected_columns=reflected,
                                reflected_pk=pks.get((schema, table)),
                                reflected_indices=indices.get((schema, table), []),
                            ).to_dict()
                            stream_id = table if schema == default_schema else f"{schema}-{table}"
                            result.append(self._finish_entry(entry, stream_id))
            except sa.exc.DBAPIError as exc:
                raise TapSQLFatalError(
                    f"discovery failed on {safe_url(self._parsed_url)}: {driver_message(exc)}",
                    hint="check that the user may read the catalog (information_schema) "
                    "of the selected schemas",
                ) from None

        table_ids = {e["tap_stream_id"] for e in result}
        for query in self.custom_queries.values():
            if query.name in table_ids:
                raise TapSQLConfigurationError(
                    f"{query.where}: name {query.name!r} is already the stream of a table",
                    hint="rename the custom query or exclude the table",
                )
            result.append(self._custom_query_entry(query))
        return result

    def _custom_query_entry(self, query: CustomQuery) -> dict[str, Any]:
        columns = self.probe_custom_query(query)
        reflected: list[Any] = [
            {"name": c.name, "type": c.type, "nullable": c.nullable} for c in columns
        ]
        entry = self.discover_catalog_entry(
            self._engine,
            sa.inspect(self._engine),
            None,
            query.name,
            True,
            reflected_columns=reflected,
            reflected_pk={"constrained_columns": list(query.key_properties), "name": None},
            reflected_indices=[],
        ).to_dict()
        properties = entry["schema"]["properties"]
        for column, override in query.schema.items():
            if column not in properties:
                raise TapSQLConfigurationError(
                    f"{query.where}: 'schema' names column {column!r}, which the query "
                    f"does not return (it returns {sorted(properties)})",
                    hint="fix the column name in the custom query's schema",
                )
            properties[column] = dict(override)
        settings = {
            "key_properties": list(query.key_properties),
            "replication_key": query.replication_key,
        }
        return self._finish_entry(entry, query.name, settings=settings, where=query.where)

    def _finish_entry(
        self,
        entry: dict[str, Any],
        stream_id: str,
        *,
        settings: Mapping[str, Any] | None = None,
        where: str | None = None,
    ) -> dict[str, Any]:
        """Name the stream, add ``_row_error``, replication keys and per-stream settings."""
        entry["tap_stream_id"] = entry["stream"] = stream_id
        properties: dict[str, Any] = entry["schema"]["properties"]
        if settings is None:
            settings = self.stream_settings(stream_id)
            where = f"stream_settings[{stream_id!r}]"
        if ROW_ERROR_PROPERTY in properties:
            # The tap's own property would overwrite the column's values: refuse, loudly.
            raise TapSQLConfigurationError(
                f"stream {stream_id!r} has a column named {ROW_ERROR_PROPERTY!r}, which tap-sql "
                "reserves for rows it cannot read whole",
                hint=f"read the table through a custom query that renames the column "
                f"(SELECT ..., {ROW_ERROR_PROPERTY} AS source_row_error FROM ...) or exclude it",
            )
        columns = list(properties)

        # Nullable string: null when the row is clean (see text_decoding).
        properties[ROW_ERROR_PROPERTY] = {"type": ["string", "null"]}
        metadata: list[dict[str, Any]] = entry["metadata"]
        metadata.append(
            {
                "breadcrumb": ["properties", ROW_ERROR_PROPERTY],
                "metadata": {"inclusion": "automatic"},
            }
        )
        root = next(m for m in metadata if not m["breadcrumb"])["metadata"]
        # Everything the include/exclude filters let through is synced unless a catalog
        # deselects it (database taps often default to nothing; the hub runs without one).
        for item in metadata:
            item["metadata"].setdefault("selected-by-default", True)
        root["valid-replication-keys"] = [c for c in columns if _orderable(properties[c])]

        key_properties = list(settings.get("key_properties") or entry.get("key_properties") or [])
        unknown = [k for k in key_properties if k not in properties]
        if unknown:
            raise TapSQLConfigurationError(
                f"{where}: key_properties {unknown} are not columns of stream {stream_id!r} "
                f"(columns: {columns})",
                hint="name existing columns as key properties",
            )
        entry["key_properties"] = key_properties
        root["table-key-properties"] = key_properties
        for item in metadata:
            if item["breadcrumb"] and item["breadcrumb"][-1] in key_properties:
                item["metadata"]["inclusion"] = "automatic"

        replication_key = settings.get("replication_key")
        if replication_key:
            if replication_key not in columns:
                raise TapSQLConfigurationError(
                    f"{where}: replication_key {replication_key!r} is not a column of stream "
                    f"{stream_id!r} (columns: {columns})",
                    hint="name an existing column, e.g. updated_at, a rowversion or an "
                    "increasing id",
                )
            entry["replication_key"] = replication_key
            entry["replication_method"] = "INCREMENTAL"
            root["replication-key"] = replication_key
            root["replication-method"] = "INCREMENTAL"
            for item in metadata:
                if item["breadcrumb"] and item["breadcrumb"][-1] == replication_key:
                    item["metadata"]["inclusion"] = "automatic"
        return entry


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Undecodable TEXT must not abort the cursor; see text_decoding.UndecodedText.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.text_factory = sqlite_text_factory
