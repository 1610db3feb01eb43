"""The stream: one file pattern (and sheet), read file by file with a bookmark per file."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform

from tap_spreadsheet.bookmarks import fingerprint
from tap_spreadsheet.discovery import StreamPlan, check_extension, open_tables
from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.layout import find_layout
from tap_spreadsheet.rows import SOURCE_FILE, ReadOptions, RowReader
from tap_spreadsheet.writer import BatchFiles, FastSingerWriter

if TYPE_CHECKING:
    from singer_sdk.helpers._batch import BaseBatchFileEncoding, BatchConfig

    from tap_spreadsheet.tap import TapSpreadsheet


class SpreadsheetStream(Stream):
    """Records of every file (and sheet) a ``files`` entry matches."""

    # Cells are converted to JSON-ready values when read; the SDK's per-record type
    # conformance would only repeat that work.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: TapSpreadsheet, plan: StreamPlan) -> None:
        self.plan = plan
        self.spreadsheet_tap = tap
        super().__init__(tap, schema=plan.schema(), name=plan.name)
        self.primary_keys = plan.primary_keys
        self._extracted_at = ""
        self._fast_path: bool | None = None

    @property
    def partitions(self) -> list[dict[str, Any]]:
        """One partition (and bookmark) per file."""
        return [{SOURCE_FILE: path} for path in self.plan.files]

    def _read_options(self, *, as_structs: bool = False) -> ReadOptions:
        configured_keys = list(self.plan.spec.primary_keys)
        return ReadOptions(
            as_structs=as_structs,
            types=self._known_types(),
            formats=self.plan.formats,
            primary_keys=self.primary_keys if configured_keys else [],
            flag_duplicates=self.spreadsheet_tap.settings.duplicate_key_action == "flag",
            trim=self.spreadsheet_tap.settings.trim_whitespace,
            stream=self.name,
        )

    def _known_types(self) -> dict[str, str]:
        """Column types of the columns the stream's schema has.

        With a catalog from an older discovery the SCHEMA message is the catalog's (the SDK
        keeps the input catalog on the stream), while the plan is read from the files as they
        are now: a column added since then would otherwise reach the records as a property
        their SCHEMA does not declare (which a strict target rejects). Left out here, it goes
        to ``_extra_cells`` by its header.
        """
        types = self.plan.types
        catalog = getattr(self, "_tap_input_catalog", None)  # set by the SDK's apply_catalog
        entry = catalog.get_stream(self.name) if catalog is not None else None
        if entry is None:
            return types
        properties = entry.schema.to_dict().get("properties") or {}
        if all(name in properties for name in types):
            return types
        return {name: kind for name, kind in types.items() if name in properties}

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Records of the file in ``context``, unless its bookmark says it is unchanged."""
        if context is None:  # pragma: no cover - partitions always give a context
            for partition in self.partitions:
                yield from self.get_records(partition)
            return
        for chunk in self.get_record_chunks(context):
            yield from chunk

    def get_record_chunks(
        self, context: Mapping[str, Any], *, as_structs: bool = False
    ) -> Iterator[list[Any]]:
        """The records of one file in lists; the bookmark is stored once all are read.

        With ``as_structs`` some records may be msgspec structs (for the fast writer only).
        """
        path: str = context[SOURCE_FILE]
        tap = self.spreadsheet_tap
        if tap.has_failed(path):
            return
        summary = tap.summary
        self._extracted_at = dt.datetime.now(dt.UTC).isoformat()
        try:
            check_extension(path)
            print_ = fingerprint(path)
            state = self.get_context_state(context)
            if print_.matches(state):
                self.logger.info("file '%s' is unchanged since the last run; skipped", path)
                summary.files_unchanged += 1
                return
            settings = tap.settings
            options = self._read_options(as_structs=as_structs)
            for table in open_tables(path, self.plan.spec, self.plan.sheet):
                layout = find_layout(
                    table, header_row=self.plan.spec.header_row, scan_rows=settings.header_scan_rows
                )
                before = summary.rows_read
                reader = RowReader(table, layout, options, summary, self.logger)
                yield from reader.chunks()
                if summary.rows_read == before:
                    where = f"file '{path}'" + (f", sheet '{table.sheet}'" if table.sheet else "")
                    self.logger.warning(
                        "%s has a header (row %d) but no data rows",
                        where,
                        layout.header_row_number,
                    )
            print_.store(state)
            summary.files_read += 1
        except SpreadsheetFileError as exc:
            tap.file_error(exc)

    def _uses_fast_path(self) -> bool:
        if self._fast_path is None:
            writer_ok = isinstance(self._tap.message_writer, FastSingerWriter)
            self._fast_path = writer_ok and self._records_as_read()
        return self._fast_path

    def _records_as_read(self) -> bool:
        """Whether records go out exactly as read: no stream map, column or version."""
        maps_ok = len(self.stream_maps) == 1 and isinstance(
            self.stream_maps[0], SameRecordTransform
        )
        mask = self.mask
        all_selected = all(
            mask.get(("properties", name), True) for name in self.schema["properties"]
        )
        # ACTIVATE_VERSION needs the version on every record: the SDK's path adds it.
        versioned = bool(self.emit_activate_version_messages)
        return maps_ok and all_selected and not versioned

    def get_batches(
        self, batch_config: BatchConfig, context: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[BaseBatchFileEncoding, list[str]]]:
        """JSONL batch files written from the record chunks, plain or gzip as configured.

        See :class:`BatchFiles` for why not the SDK's batcher (it made BATCH mode four
        times slower than RECORD messages). A batch never spans two files: the STATE the SDK writes after each BATCH message
        then holds the bookmark of every file whose records are all in the batches sent.
        """
        encoding = batch_config.encoding
        if (
            encoding.format != "jsonl"
            or self.ABORT_AT_RECORD_COUNT is not None
            or self.child_streams
            or not self._records_as_read()
        ):
            yield from super().get_batches(batch_config, context)
            return
        files = BatchFiles(batch_config, f"{self.tap_name}--{self.name}")
        size = batch_config.batch_size or 10_000
        record_counter = self.get_record_counter()
        collecting = gc.isenabled()
        gc.disable()  # see _sync_records
        try:
            with record_counter:
                for partition in [context] if context is not None else self.partitions:
                    record_counter.with_context(partition)
                    parts: list[bytes] = []
                    pending = 0
                    for chunk in self.get_record_chunks(partition, as_structs=True):
                        record_counter.increment(len(chunk))
                        while chunk:  # batch_size records per file, the last one fewer
                            room = size - pending
                            parts.append(files.encode(chunk[:room]))
                            pending += min(room, len(chunk))
                            chunk = chunk[room:]
                            if pending >= size:
                                yield encoding, files.write(parts)
                                parts, pending = [], 0
                    # the file is read whole: its bookmark is in the state from here on
                    self.state_manager.is_flushed = False
                    self._finalize_state(self.get_context_state(partition))
                    if parts:
                        yield encoding, files.write(parts)
        finally:
            if collecting:
                gc.enable()

    def _sync_records(
        self, context: Mapping[str, Any] | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        # The SDK's loop costs several microseconds per record (child contexts, stream-map
        # filter, message objects, per-record state bookkeeping), more than reading the
        # row. For the plain case -- writing to stdout, no stream maps, no deselected
        # columns, no record limit, no child streams -- records go straight to the writer;
        # state still advances per file and is written after each file. Nothing is yielded:
        # the SDK's caller only drains this generator.
        if not (
            write_messages
            and self.ABORT_AT_RECORD_COUNT is None
            and not self.child_streams
            and self._uses_fast_path()
        ):
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        writer = self._tap.message_writer
        assert isinstance(writer, FastSingerWriter)  # noqa: S101 - checked by the fast path
        write = writer.write_records
        name = self.name
        record_counter = self.get_record_counter()
        timer = self.get_sync_timer()
        contexts = [context] if context is not None else self.partitions
        # Records and their rows hold no reference cycles, yet with a million of them
        # passing through, the cyclic garbage collector's full passes cost a fifth of the
        # run; it is paused for the loop and restored after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with record_counter, timer:
                for partition in contexts:
                    record_counter.with_context(partition)
                    timer.with_context(partition)
                    count = 0
                    for chunk in self.get_record_chunks(partition, as_structs=True):
                        write(name, chunk, self._extracted_at)
                        count += len(chunk)
                    record_counter.increment(count)
                    self.state_manager.is_flushed = False
                    self._finalize_state(self.get_context_state(partition))
                    self._write_state_message()
        finally:
            if collecting:
                gc.enable()
        if context is None:
            self._finalize_state(self.stream_state)
        self._write_state_message()

    def _write_record_message(self, record: dict[str, Any]) -> None:
        # Used by the SDK's own loop (record limits in tests, child streams): the fast
        # writer still skips building a message object when no stream map is configured.
        if self._uses_fast_path():
            writer = self._tap.message_writer
            assert isinstance(writer, FastSingerWriter)  # noqa: S101 - checked above
            writer.write_record(self.name, record, self._extracted_at)
            self.state_manager.is_flushed = False
            return
        super()._write_record_message(record)
