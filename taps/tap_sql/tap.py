"""tap-sql: customers, orders, tickets ... straight out of an ERP's database, as Singer."""

from __future__ import annotations

import sys
import typing as t
from typing import Any

import click
from singer_sdk import typing as th
from singer_sdk.plugin_base import SingerCommand
from singer_sdk.sql import SQLTap

from tap_sql.errors import TapSQLConfigurationError, TapSQLError
from tap_sql.stream import TapSQLStream
from tap_sql.writer import FastSingerWriter

# Column -> charset of columns whose stored bytes the tap decodes itself (e.g. a latin1
# column that really holds UTF-8, or a BLOB holding cp1252 text).
_COLUMN_CHARSETS = th.ObjectType(additional_properties=th.StringType)

_STREAM_SETTINGS = th.ObjectType(
    th.Property(
        "replication_key",
        th.StringType,
        description="Column for incremental replication (updated_at, a rowversion, an "
        "increasing id). Makes the stream INCREMENTAL.",
    ),
    th.Property(
        "key_properties",
        th.ArrayType(th.StringType),
        description="Primary key columns (needed for views without one); also the "
        "tie-breaker of incremental reads.",
    ),
    th.Property(
        "column_charsets",
        _COLUMN_CHARSETS,
        description="Column -> charset for columns the tap decodes from their stored bytes.",
    ),
)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "sqlalchemy_url",
        th.StringType,
        required=True,
        secret=True,
        description="SQLAlchemy URL of the ERP database, e.g. "
        "postgresql+psycopg://user:password@host:5432/erp, "
        "mysql+pymysql://user:password@host:3306/erp?charset=utf8mb4, "
        "sqlite:////path/erp.db",
    ),
    th.Property(
        "include_schemas",
        th.ArrayType(th.StringType),
        description="Glob patterns of schemas to discover (default: all but system "
        "schemas; on MySQL/MariaDB only the URL's database).",
    ),
    th.Property(
        "exclude_schemas", th.ArrayType(th.StringType), description="Schema globs to skip."
    ),
    th.Property(
        "include_tables",
        th.ArrayType(th.StringType),
        description="Glob patterns of tables/views ('customers', 'sales.order*') to discover "
        "(default: all).",
    ),
    th.Property(
        "exclude_tables", th.ArrayType(th.StringType), description="Table/view globs to skip."
    ),
    th.Property("include_views", th.BooleanType, default=True, description="Discover views too."),
    th.Property(
        "custom_queries",
        th.ArrayType(
            th.ObjectType(
                th.Property("name", th.StringType, required=True, description="Stream name."),
                th.Property("sql", th.StringType, required=True, description="One SELECT."),
                th.Property("key_properties", th.ArrayType(th.StringType)),
                th.Property("replication_key", th.StringType),
                th.Property("column_charsets", _COLUMN_CHARSETS),
                th.Property(
                    "schema",
                    th.ObjectType(additional_properties=th.ObjectType()),
                    description="Column -> JSON schema, overriding the discovered type.",
                ),
            )
        ),
        description="SQL queries exposed as named streams (e.g. a customer joined from "
        "five tables).",
    ),
    th.Property(
        "stream_settings",
        th.ObjectType(additional_properties=_STREAM_SETTINGS),
        description="Per table stream (by stream name): replication_key, key_properties, "
        "column_charsets.",
    ),
    th.Property(
        "chunk_size",
        th.IntegerType,
        default=10_000,
        description="Rows fetched per round trip from the server-side cursor.",
    ),
    th.Property(
        "state_every_records",
        th.IntegerType,
        default=10_000,
        description="Emit a STATE message after this many records of a stream.",
    ),
    th.Property(
        "connect_timeout",
        th.IntegerType,
        default=15,
        description="Seconds to wait for the server when connecting.",
    ),
    th.Property(
        "count_null_replication_keys",
        th.BooleanType,
        default=True,
        description="Incremental runs count rows whose replication key is NULL and warn.",
    ),
    th.Property(
        "decode_text_in_tap",
        th.BooleanType,
        default=True,
        description="MySQL/MariaDB: read text columns as stored bytes and decode them with "
        "each column's charset in the tap (bad bytes become a marked value, not a crash).",
    ),
).to_dict()


class TapSQL(SQLTap):
    """Singer tap for any SQLAlchemy database: tables, views and custom queries."""

    name = "tap-sql"
    package_name = "crmhub"  # the tap ships inside the crmhub distribution
    config_jsonschema = CONFIG_SCHEMA
    default_stream_class = TapSQLStream
    message_writer_class = FastSingerWriter

    # singer-sdk marks sync_all final; the override only adds a pre-flight check and then
    # runs the SDK's own sync_all unchanged.
    def sync_all(self) -> None:  # type: ignore[misc]
        """Check every selected stream's source first (collect, report once), then sync."""
        problems: list[str] = []
        for stream in self.streams.values():
            if not stream.selected:
                continue
            try:
                _ = t.cast("TapSQLStream", stream).read_plan
            except TapSQLError as exc:
                if not isinstance(exc, TapSQLConfigurationError) and "no longer" not in exc.message:
                    raise
                problems.append(exc.render())
        if problems:
            raise TapSQLConfigurationError(
                f"{len(problems)} selected stream(s) cannot be read: " + " | ".join(problems)
            )
        super().sync_all()

    def _handle_termination(self, signum: int, frame: Any) -> None:
        """On SIGTERM/SIGINT, put each stream's last position in the state written."""
        for stream in self.streams.values():
            if isinstance(stream, TapSQLStream):
                stream._materialize_position()
        super()._handle_termination(signum, frame)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, with our errors rendered as one line and an exit code."""
        command = super().get_singer_command()
        command.__class__ = _TapSQLCommand
        return command


class _TapSQLCommand(SingerCommand):
    """Renders a TapSQLError as one log line (no traceback) and exits with its code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except TapSQLError as exc:
            self.logger.error("%s", exc.render())
            sys.stdout.flush()
            sys.exit(exc.exit_code)
