"""One stream per table, view or custom query: query building, reading and bookmarks."""

from __future__ import annotations

import datetime
import functools
import gc
import operator
import typing as t
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import CatalogEntry, RecordMessage
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from singer_sdk.sql import SQLStream

from tap_sql.bookmarks import (
    TIEBREAKER_KEY,
    from_state_value,
    read_tiebreaker,
    resume_filter,
    to_state_value,
)
from tap_sql.connector import TapSQLConnector
from tap_sql.custom_queries import mysql_column_charsets
from tap_sql.db_errors import driver_message, is_connection_failure, is_missing_table
from tap_sql.errors import TapSQLConfigurationError, TapSQLFatalError, TapSQLRetriableError
from tap_sql.row_conversion import RowConverter, is_text_column, value_converter
from tap_sql.text_decoding import ROW_ERROR_PROPERTY, codec_for_charset
from tap_sql.writer import BatchFiles, FastSingerWriter

if t.TYPE_CHECKING:
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig
    from singer_sdk.helpers.types import Context

DEFAULT_CHUNK_SIZE = 10_000
_MYSQL = ("mysql", "mariadb")
_NULLS_LAST_BY_DEFAULT = ("postgresql", "oracle")


_DATE_FORMATS = ("date", "date-time", "time")


@dataclass
class ReadPlan:
    """What one sync of a stream reads: the source, its columns and how to convert them."""

    source: sa.FromClause
    select: list[Any]
    names: list[str]
    converter: RowConverter
    replication_column: Any | None
    key_columns: list[Any]
    # Where the position (bookmark, tie-breaker) is taken from in a converted record.
    position_names: list[str]
    position_types: list[sa.types.TypeEngine[Any]]


class TapSQLStream(SQLStream):
    """A table, view or custom query, read full or incrementally with a tie-breaker."""

    connector_class = TapSQLConnector

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.STATE_MSG_FREQUENCY = int(self.config.get("state_every_records") or 10_000)
        # Last emitted (row, record); turned into state only when a STATE is written.
        self._raw_position: tuple[Any, dict[str, Any]] | None = None
        self._position_getter: Any = None
        self._position_from_record: list[str] = []
        # The SDK applies replication keys only from an input catalog; discovery (with the
        # config's stream_settings) puts them in the entry this stream was built from.
        entry = self._singer_catalog_entry
        self.replication_key = entry.replication_key or entry.metadata.root.replication_key

    @functools.cached_property
    def _singer_catalog_entry(self) -> CatalogEntry:
        """The catalog entry, parsed once (the SDK re-parses it on every key lookup)."""
        return CatalogEntry.from_dict(self.catalog_entry)

    @property
    def tap_connector(self) -> TapSQLConnector:
        """The connector, typed."""
        return t.cast("TapSQLConnector", self.connector)

    @property
    def is_sorted(self) -> bool:
        """Incremental reads are ordered by (replication key, primary key)."""
        return self.replication_method == REPLICATION_INCREMENTAL

    def get_replication_key_signpost(self, context: Context | None = None) -> Any:
        """No signpost: the ordered read plus the tie-breaker make every bookmark exact."""
        return None

    # -- what to read -------------------------------------------------------------------

    @property
    def custom_query_name(self) -> str | None:
        """The custom query behind this stream, if it is one."""
        return self.name if self.name in self.tap_connector.custom_queries else None

    def _table_source(self, conn: sa.Connection) -> tuple[sa.FromClause, dict[str, str]]:
        entry = self._singer_catalog_entry
        schema = entry.metadata.root.schema_name
        table = entry.table or self.name
        try:
            reflected = sa.inspect(conn).get_columns(table, schema=schema)
        except sa.exc.NoSuchTableError:
            where = f"{schema}.{table}" if schema else table
            raise TapSQLFatalError(
                f"stream {self.name!r}: table or view {where} no longer exists in the "
                "database (dropped or renamed since the catalog was made)",
                hint="run discovery again (tap-sql --discover) and use the new catalog, "
                "or deselect the stream",
            ) from None
        columns = [
            sa.Column(c["name"], c["type"], nullable=c.get("nullable", True)) for c in reflected
        ]
        source = sa.Table(table, sa.MetaData(), *columns, schema=schema)
        charsets: dict[str, str] = {}
        if self.tap_connector.backend in _MYSQL and self.config.get("decode_text_in_tap", True):
            charsets = mysql_column_charsets(conn, table, schema=schema)
        return source, charsets

    def _query_source(self, name: str) -> tuple[sa.FromClause, dict[str, str]]:
        query = self.tap_connector.custom_queries[name]
        probed = self.tap_connector.probe_custom_query(query)
        source = query.as_text().columns(*[sa.column(c.name, c.type) for c in probed]).subquery("q")
        return source, {c.name: c.charset for c in probed if c.charset}

    def _configured_charsets(self) -> dict[str, str]:
        name = self.custom_query_name
        if name is not None:
            return dict(self.tap_connector.custom_queries[name].column_charsets)
        return dict(self.tap_connector.stream_settings(self.name).get("column_charsets") or {})

    @functools.cached_property
    def read_plan(self) -> ReadPlan:
        """Reflect the source now (a vanished table or column fails here, before reading)."""
        with self.tap_connector.connect() as conn:
            query_name = self.custom_query_name
            if query_name is None:
                source, charsets = self._table_source(conn)
            else:
                source, charsets = self._query_source(query_name)
        return self._plan(source, charsets)

    @property
    def _lenient_dates(self) -> bool:
        return bool(self.tap_connector.backend == "sqlite")

    def _plan(self, source: sa.FromClause, server_charsets: dict[str, str]) -> ReadPlan:
        schema_props: dict[str, Any] = self.schema["properties"]
        selected = [n for n in self.get_selected_schema()["properties"] if n != ROW_ERROR_PROPERTY]
        for needed in [
            *self.primary_keys,
            *([self.replication_key] if self.replication_key else []),
        ]:
            if needed not in selected:
                selected.append(needed)
        available = {c.name: c for c in source.columns}
        missing = [n for n in selected if n not in available]
        if missing:
            raise TapSQLFatalError(
                f"stream {self.name!r}: columns {missing} are in the catalog but no longer "
                f"in the database (it has {sorted(available)})",
                hint="run discovery again and use the new catalog, or deselect those columns",
            )

        configured = self._configured_charsets()
        unknown = [c for c in configured if c not in available]
        if unknown:
            raise TapSQLConfigurationError(
                f"stream {self.name!r}: column_charsets names columns {unknown} that the "
                "stream does not have",
                hint="fix the column names in column_charsets",
            )
        singer_decimal = bool(self.config.get("use_singer_decimal", False))
        converters = []
        text_codecs: list[tuple[str, str]] = []
        select: list[Any] = []
        for name in selected:
            column = available[name]
            prop = schema_props.get(name, {})
            charset = configured.get(name) or server_charsets.get(name)
            # Text, or binary the config declares as text in some charset.
            declared_text = name in configured
            if declared_text or (is_text_column(prop) and charset):
                where = f"stream {self.name!r} column {name!r}"
                codec = codec_for_charset(charset or "utf-8", where=where)
                if codec:  # read the stored bytes; decode them here (text_decoding)
                    select.append(self._raw_bytes(column, where))
                    text_codecs.append((name, codec))
                    continue
            keyed = name in self.primary_keys or name == self.replication_key
            if self._lenient_dates and not keyed and prop.get("format") in _DATE_FORMATS:
                # SQLite keeps any text in a DATE column and SQLAlchemy's date parser raises
                # on text that is not ISO: read the text, the converter normalizes it.
                select.append(sa.type_coerce(column, sa.String).label(name))
            else:
                select.append(column)
            if is_text_column(prop):
                # SQLite / SQL_ASCII hand over bytes; custom-query columns of unknown type
                # are declared strings, so their values are turned into text.
                if self._driver_may_return_bytes or self.custom_query_name is not None:
                    text_codecs.append((name, "utf-8"))
                continue
            convert = value_converter(prop, singer_decimal=singer_decimal)
            if convert is not None:
                converters.append((name, convert))

        replication_column = available[self.replication_key] if self.replication_key else None
        key_columns = [available[k] for k in self.primary_keys]
        position_names = [
            *([self.replication_key] if self.replication_key else []),
            *self.primary_keys,
        ]
        return ReadPlan(
            source=source,
            select=select,
            names=selected,
            converter=RowConverter(selected, converters, text_codecs),
            replication_column=replication_column,
            key_columns=key_columns,
            position_names=position_names,
            position_types=[available[n].type for n in position_names],
        )

    @functools.cached_property
    def _driver_may_return_bytes(self) -> bool:
        """Whether text can arrive undecoded (SQLite bad UTF-8, PostgreSQL SQL_ASCII)."""
        backend = self.tap_connector.backend
        if backend == "postgresql":
            with self.tap_connector.connect() as conn:
                encoding = conn.exec_driver_sql("SHOW server_encoding").scalar()
            return str(encoding).upper() == "SQL_ASCII"
        return backend != "mssql" and backend != "oracle"

    def _raw_bytes(self, column: Any, where: str) -> Any:
        """The column's stored bytes, unconverted by the server or the driver."""
        if isinstance(column.type, sa.types._Binary):
            return column
        if self.tap_connector.backend in (*_MYSQL, "sqlite"):
            return sa.cast(column, sa.LargeBinary()).label(column.name)
        raise TapSQLConfigurationError(
            f"{where}: column_charsets on a text column works on MySQL/MariaDB and SQLite "
            "only (this server converts text itself and guarantees it is valid)",
            hint="declare charsets only for binary columns that hold text, or remove it",
        )

    # -- the query ----------------------------------------------------------------------

    def _resume_point(self, context: Context | None) -> tuple[Any, list[Any] | None] | None:
        """(bookmark, tie-breaker values) from state, typed for binding; None = from start."""
        if self.replication_method != REPLICATION_INCREMENTAL or not self.replication_key:
            return None
        state = self.get_context_state(context)
        if state.get("replication_key") not in (None, self.replication_key):
            self.logger.warning(
                "Stream %r: state has a bookmark on %r, the stream now replicates by %r; "
                "reading everything once",
                self.name,
                state.get("replication_key"),
                self.replication_key,
            )
            return None
        plan = self.read_plan
        bookmark = state.get("replication_key_value")
        tiebreaker = read_tiebreaker(state, self.primary_keys)
        if bookmark is None and tiebreaker is None:
            return None
        rk_type = plan.position_types[0]
        typed_bookmark = from_state_value(bookmark, rk_type)
        typed_tiebreaker = (
            None
            if tiebreaker is None
            else [
                from_state_value(tiebreaker[k], typ)
                for k, typ in zip(self.primary_keys, plan.position_types[1:], strict=True)
            ]
        )
        return typed_bookmark, typed_tiebreaker

    def build_query(self, *, context: Context | None = None) -> Any:
        """SELECT the selected columns; incremental: after the bookmark, ordered."""
        plan = self.read_plan
        query = sa.select(*plan.select).select_from(plan.source)
        if plan.replication_column is not None:
            rk = plan.replication_column
            order = [
                sa.nulls_first(rk.asc())
                if self.tap_connector.backend in _NULLS_LAST_BY_DEFAULT
                else rk.asc(),
                *[k.asc() for k in plan.key_columns],
            ]
            query = query.order_by(*order)
            resume = self._resume_point(context)
            if resume is not None:
                bookmark, tiebreaker = resume
                clause = resume_filter(rk, bookmark, plan.key_columns, tiebreaker)
                if clause is not None:
                    query = query.where(clause)
        return self.apply_query_limit(query)

    # -- reading ------------------------------------------------------------------------

    def _warn_null_replication_keys(self, conn: sa.Connection, context: Context | None) -> None:
        plan = self.read_plan
        if plan.replication_column is None or not self.config.get(
            "count_null_replication_keys", True
        ):
            return
        resume = self._resume_point(context)
        if resume is None or resume[0] is None:
            return  # a first (full) read emits the NULL-key rows too
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(plan.source)
            .where(plan.replication_column.is_(None))
        ).scalar_one()
        if count:
            self.logger.warning(
                "Stream %r: %d rows have NULL in replication key %r. They were emitted by "
                "the first full read; incremental runs cannot see their changes. Fill the "
                "column (or COALESCE it in a custom query) or run a full resync.",
                self.name,
                count,
                self.replication_key,
            )

    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Stream rows through a server-side cursor, ``chunk_size`` rows per fetch."""
        convert = self.read_plan.converter
        for rows in self.get_row_chunks(context):
            # Set by get_row_chunks once the query runs.
            incremental = self._position_getter is not None
            for row in rows:
                record = convert(row)
                if incremental:
                    self._raw_position = (row, record)
                yield record

    def get_row_chunks(self, context: Context | None) -> Iterator[Sequence[Any]]:
        """The raw result rows (in ``read_plan.names`` order), one fetch at a time."""
        if context:
            msg = f"Stream {self.name!r} does not support partitioning."
            raise NotImplementedError(msg)
        plan = self.read_plan
        chunk_size = int(self.config.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        convert = plan.converter
        positions = [plan.names.index(n) for n in plan.position_names]
        incremental = self.replication_method == REPLICATION_INCREMENTAL and bool(positions)
        # Text columns may arrive as bytes (decoded by the converter): take those from the
        # record, everything else from the raw row (full precision, native types).
        decoded = {name for name, _ in convert.text_codecs}
        from_record = [n for n in plan.position_names if n in decoded]
        self._position_getter = operator.itemgetter(*positions) if incremental else None
        self._position_from_record = from_record
        emitted = 0
        with self.tap_connector.connect() as conn:
            try:
                self._warn_null_replication_keys(conn, context)
                result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(
                    self.build_query(context=context)
                )
                fetch = _chunk_fetcher(result, chunk_size)
                while rows := fetch():
                    yield rows
                    emitted += len(rows)
            except sa.exc.DBAPIError as exc:
                raise self._read_error(exc, emitted) from None
        if convert.undecodable_rows:
            self.logger.warning(
                "Stream %r: %d rows had text that is not valid in its declared charset; "
                "they were emitted with U+FFFD markers and a %s property",
                self.name,
                convert.undecodable_rows,
                ROW_ERROR_PROPERTY,
            )

    def _read_error(self, exc: sa.exc.DBAPIError, emitted: int) -> Exception:
        message = driver_message(exc)
        after = (
            f"after {emitted} records (their STATE is valid)" if emitted else "before any record"
        )
        if is_missing_table(exc):
            return TapSQLFatalError(
                f"stream {self.name!r}: the table or view vanished {after}: {message}",
                hint="run discovery again (tap-sql --discover) and re-run",
            )
        if is_connection_failure(exc):
            return TapSQLRetriableError(
                f"stream {self.name!r}: lost the database connection {after}: {message}",
                hint="re-run with the last STATE; an incremental stream resumes where it stopped",
            )
        if self.custom_query_name is not None:
            query = self.tap_connector.custom_queries[self.custom_query_name]
            return TapSQLConfigurationError(
                f"stream {self.name!r}: {query.where} failed {after}: {message}",
                hint="fix the SQL of the custom query",
            )
        return TapSQLFatalError(
            f"stream {self.name!r}: reading failed {after}: {message}",
            hint="see the database server's log; re-run with the last STATE",
        )

    # -- messages -----------------------------------------------------------------------

    @functools.cached_property
    def _records_pass_through(self) -> bool:
        """True when no stream map or flattening changes records (the usual case)."""
        maps = self.stream_maps
        return (
            len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and not maps[0].flattening_enabled
            and maps[0].stream_alias == self.name
        )

    def _sync_records(
        self, context: Context | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        """The SDK's record loop, lean for the usual case (no partitions, children, maps).

        Same order of effects per record as the SDK (write RECORD, advance the bookmark,
        every ``state_every_records`` a STATE), with the per-record bookkeeping the SDK
        needs only for partitions and child streams left out.
        """
        writer = self._tap.message_writer
        if (
            context is not None
            or self.partitions
            or self.child_streams
            or not write_messages
            or not self._records_pass_through
            or not isinstance(writer, FastSingerWriter)
        ):
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        frequency = self.STATE_MSG_FREQUENCY
        if self.ABORT_AT_RECORD_COUNT is None and type(self).post_process is SQLStream.post_process:
            with record_counter, timer:
                record_counter.with_context({})
                timer.with_context({})
                self._write_starting_replication_value(None)
                self._sync_chunks(writer, record_counter.increment, frequency)
            self._finalize_state(self.stream_state)
            self._write_state_message()
            return
        limited = self.ABORT_AT_RECORD_COUNT is not None
        post_process = (
            None if type(self).post_process is SQLStream.post_process else self.post_process
        )
        state_manager = self.state_manager
        pending = 0
        with record_counter, timer:
            record_counter.with_context({})
            timer.with_context({})
            self._write_starting_replication_value(None)
            write = writer.record_writer(self.name, self._stream_version)
            index = 0
            for raw in self.get_records(None):
                if limited:
                    self._check_max_record_limit(current_record_index=index)
                record = raw if post_process is None else post_process(raw, None)
                if record is None:
                    continue
                write(record)
                # The bookmark needs no per-record work: get_records keeps the last
                # position and it is written into the state with the next STATE.
                state_manager.is_flushed = False
                index += 1
                if index % frequency == 0:
                    self._write_state_message()
                pending += 1
                if pending == 1000:  # the counter checks the clock on every call
                    record_counter.increment(pending)
                    pending = 0
                yield record
            record_counter.increment(pending)
        self._finalize_state(self.stream_state)
        self._write_state_message()

    def _sync_chunks(
        self, writer: FastSingerWriter, count: Callable[[int], None], frequency: int
    ) -> None:
        """Fetched rows to RECORD lines a chunk at a time, converted column by column.

        The messages are those of the row-by-row loop: a STATE after every ``frequency``
        records (a chunk is cut there), holding the position of the last record written.
        """
        write = writer.chunk_writer(self.name, self._stream_version)
        index = 0
        for records in self._converted_chunks(frequency):
            write(records)
            index += len(records)
            count(len(records))
            if index % frequency == 0:
                self._write_state_message()

    def _converted_chunks(self, cut: int) -> Iterator[list[Any]]:
        """The fetched rows converted column by column, in lists cut at every ``cut`` rows.

        Before each list is handed over, the position of its last row becomes the one the
        next STATE holds: the caller writes the list out before it writes that STATE.
        """
        convert = self.read_plan.converter
        state_manager = self.state_manager
        index = 0
        # Fetched rows are tuples of scalars without reference cycles; yet with a million
        # of them passing through, the cycle collector's passes cost a tenth of the run.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for rows in self.get_row_chunks(None):
                incremental = self._position_getter is not None  # set once the query runs
                start, size = 0, len(rows)
                while start < size:
                    end = min(size, start + cut - index % cut)
                    part = rows[start:end]
                    records = convert.chunk(part)
                    if incremental:
                        self._raw_position = (part[-1], convert.as_dict(records[-1]))
                    state_manager.is_flushed = False
                    index += end - start
                    start = end
                    yield records
        finally:
            if collecting:
                gc.enable()

    def get_batches(
        self, batch_config: BatchConfig, context: Context | None = None
    ) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        """JSONL batch files of ``batch_size`` records, converted a chunk at a time.

        The rows of :meth:`_converted_chunks`, written into files (see :class:`BatchFiles`:
        the SDK's batcher made BATCH mode eight times slower than RECORD messages). The STATE
        the SDK writes after each BATCH message holds the position of the file's last row.
        """
        encoding = batch_config.encoding
        if (
            encoding.format != "jsonl"
            or context is not None
            or self.partitions
            or self.child_streams
            or not self._records_pass_through
            or self.ABORT_AT_RECORD_COUNT is not None
            or type(self).post_process is not SQLStream.post_process
        ):
            yield from super().get_batches(batch_config, context)
            return
        files = BatchFiles(batch_config, f"{self.tap_name}--{self.name}")
        size = batch_config.batch_size or 10_000
        record_counter = self.get_record_counter()
        parts: list[bytes] = []
        pending = 0
        with record_counter:
            record_counter.with_context({})
            self._write_starting_replication_value(None)
            for records in self._converted_chunks(size):
                parts.append(files.encode(records))
                record_counter.increment(len(records))
                pending += len(records)
                if pending == size:
                    yield encoding, files.write(parts)
                    parts, pending = [], 0
            if parts:
                yield encoding, files.write(parts)
        self._finalize_state(self.stream_state)

    def _generate_record_messages(self, record: dict[str, Any]) -> Generator[RecordMessage]:
        """RECORD messages; records are JSON-ready already (row_conversion) when unmapped.

        The SDK's per-record conformance pass re-checks every value against the schema;
        our rows are converted column by column from the SQL types, and only the selected
        columns are queried, so that pass (most of the tap's CPU time) is skipped.
        """
        if not self._records_pass_through:
            yield from super()._generate_record_messages(record)
            return
        yield RecordMessage(
            stream=self.name,
            record=record,
            version=self._stream_version,
            time_extracted=datetime.datetime.now(datetime.UTC),
        )

    # -- state --------------------------------------------------------------------------

    def _increment_stream_state(
        self, latest_record: dict[str, Any], *, context: Context | None = None
    ) -> None:
        """Nothing per record: the position is kept raw and written with the next STATE."""
        if self.replication_method == REPLICATION_INCREMENTAL and self._raw_position is not None:
            self.state_manager.is_flushed = False

    def _materialize_position(self) -> None:
        """Bookmark = replication key of the last emitted row; tie-breaker = its key."""
        if self._raw_position is None or self.replication_method != REPLICATION_INCREMENTAL:
            return
        row, record = self._raw_position
        self._raw_position = None
        values = self._position_getter(row)
        if len(self.read_plan.position_names) == 1:
            values = (values,)
        named = dict(zip(self.read_plan.position_names, values, strict=True))
        for name in self._position_from_record:
            named[name] = record[name]
        state = self.get_context_state(None)
        state["replication_key"] = self.replication_key
        state["replication_key_value"] = to_state_value(named[self.replication_key or ""])
        keys = self.read_plan.position_names[1:]
        if keys:
            state[TIEBREAKER_KEY] = {name: to_state_value(named[name]) for name in keys}
        else:
            state.pop(TIEBREAKER_KEY, None)

    def _write_state_message(self) -> None:
        self._materialize_position()
        super()._write_state_message()

    def _finalize_state(self, state: dict[str, Any] | None = None) -> None:
        self._materialize_position()
        super()._finalize_state(state)


def _chunk_fetcher(result: sa.CursorResult[Any], size: int) -> Callable[[], Sequence[Any]]:
    """A function returning the next ``size`` rows of ``result`` ([] at the end).

    When SQLAlchemy has no result processor for any column (PostgreSQL and MySQL drivers
    return final Python values), the driver's row tuples are taken as they are: building
    a Row object per row costs more than converting it. Otherwise Rows, as usual.
    """
    metadata = getattr(result, "_metadata", None)
    fetchmany = getattr(result, "_fetchmany_impl", None)
    if fetchmany is not None and getattr(metadata, "_effective_processors", ()) is None:
        return functools.partial(fetchmany, size)
    partitions = result.partitions(size)
    return lambda: next(partitions, [])
