"""One generic stream class: any reader's records, lineage added, written on a fast path."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from singer_sdk import Stream
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel

from tap_legacy.errors import LegacySourceError
from tap_legacy.files import resolve_paths
from tap_legacy.lineage import DEFAULT_KEY_PROPERTIES, LINEAGE_PROPERTIES
from tap_legacy.readers.base import SourceReader
from tap_legacy.writer import BufferedMsgSpecWriter

if TYPE_CHECKING:
    from singer_sdk import Tap

_encoder = msgspec.json.Encoder(enc_hook=str)
#: undecodable records logged one by one per file; after that they are only counted
WARN_LIMIT = 20


class LegacyStream(Stream):
    """A stream of one configured source: files matching ``path`` read by one reader."""

    # Readers build records of exactly the declared types (decimals as strings), so the
    # SDK's per-record type conformance would only cost time.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, stream_config: dict[str, Any], reader: SourceReader) -> None:
        self.stream_config = stream_config
        self.reader = reader
        self.paths = resolve_paths(stream_config["path"], stream_config["name"])
        properties = dict(reader.properties(self.paths[0] if self.paths else None))
        properties.update(LINEAGE_PROPERTIES)
        schema = {"type": "object", "properties": properties}
        super().__init__(tap, schema=schema, name=stream_config["name"])
        self.primary_keys = stream_config.get("key_properties") or list(DEFAULT_KEY_PROPERTIES)
        self._record_prefix = b""
        self._record_suffix = b""
        self._fast: bool | None = None

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Every record of every matching file, in file order."""
        paths = resolve_paths(self.stream_config["path"], self.name)
        if not paths:
            self.logger.warning(
                "stream %s: no file matches %s", self.name, self.stream_config["path"]
            )
        for path in paths:
            yield from self._read_file(path)

    def _read_file(self, path: str) -> Iterator[dict[str, Any]]:
        self.logger.info("stream %s: reading %s", self.name, path)
        errors = 0
        count = 0
        try:
            for record in self.reader.read(path):
                count += 1
                errors += self._note_error(path, record, errors)
                yield record
        except OSError as exc:
            raise LegacySourceError(
                f"cannot read the file: {exc.strerror or exc}",
                file=path,
                hint="check the path and permissions",
            ) from None
        self.logger.info(
            "stream %s: %s: %d records, %d could not be decoded (emitted with _record_error)",
            self.name,
            path,
            count,
            errors,
        )

    def _note_error(self, path: str, record: dict[str, Any], errors: int) -> int:
        """Log an undecodable record (the first few per file); 1 if it is one, else 0."""
        if not record.get("_record_error"):
            return 0
        if errors < WARN_LIMIT:
            self.logger.warning(
                "%s record %s: %s", path, record["_record_number"], record["_record_error"]
            )
        elif errors == WARN_LIMIT:
            self.logger.warning("%s: more undecodable records; only counting now", path)
        return 1

    def _sync_records(
        self, context: Mapping[str, Any] | None = None, *, write_messages: bool = True
    ) -> Generator[dict[str, Any], Any, Any]:
        """Sync loop; the plain full-table case skips per-record SDK bookkeeping it does not need.

        Files are read in full every run (no replication key, no partitions, no child
        streams), so per-record state tracking has nothing to track. Records, periodic STATE
        messages, the record counter and the dry-run limit behave as in the SDK loop.
        """
        plain = (
            context is None
            and write_messages
            and not self.replication_key
            and not self.partitions
            and not self.child_streams
            and self.selected
        )
        if not plain:
            yield from super()._sync_records(context, write_messages=write_messages)
            return
        counter = self.get_record_counter()
        timer = self.get_sync_timer()
        pending = 0
        self._prepare_record_lines()
        writer = self._tap.message_writer
        if self._fast and isinstance(writer, BufferedMsgSpecWriter):
            write_line, encode = writer.write_record_line, _encoder.encode
            prefix, suffix = self._record_prefix, self._record_suffix
        else:
            write_line = None
        limit = self.ABORT_AT_RECORD_COUNT
        frequency = self.STATE_MSG_FREQUENCY
        with counter, timer:
            self._write_starting_replication_value(None)
            for index, record in enumerate(self.get_records(None)):
                if limit is not None:
                    self._check_max_record_limit(current_record_index=index)
                if write_line is not None:
                    write_line(prefix + encode(record) + suffix)
                else:
                    self._write_record_message(record)
                pending += 1
                if pending == frequency:
                    counter.increment(pending)
                    pending = 0
                    self.state_manager.is_flushed = False
                    self._write_state_message()
                yield record
            counter.increment(pending)
        self.state_manager.is_flushed = False
        self._finalize_state(self.stream_state)
        self._write_state_message()

    def _prepare_record_lines(self) -> None:
        """Decide once whether records may bypass the SDK, and build the line's fixed parts."""
        if self._fast is not None:
            return
        self._fast = self._fast_path_possible()
        extracted = utc_now().isoformat()
        self._record_prefix = (
            b'{"type":"RECORD","stream":' + _encoder.encode(self.name) + b',"record":'
        )
        self._record_suffix = b',"time_extracted":' + _encoder.encode(extracted) + b"}\n"
        if self._stream_version is not None:
            self._record_suffix = (
                b',"version":' + _encoder.encode(self._stream_version) + self._record_suffix
            )

    def _fast_path_possible(self) -> bool:
        """True when records go out unchanged: every property selected, no stream maps."""
        writer = getattr(self._tap, "message_writer", None)
        if not isinstance(writer, BufferedMsgSpecWriter):
            return False
        maps = self.stream_maps
        if len(maps) != 1 or type(maps[0]).__name__ != "SameRecordTransform":
            return False
        if getattr(maps[0], "flattening_enabled", False):
            return False
        mask = self.mask
        return all(mask.get(("properties", name), True) for name in self.schema["properties"])

    def _write_record_message(self, record: dict[str, Any]) -> None:
        """Write one RECORD message; bypasses per-record SDK overhead when nothing changes it."""
        self._prepare_record_lines()
        writer = self._tap.message_writer
        if not self._fast or not isinstance(writer, BufferedMsgSpecWriter):
            super()._write_record_message(record)
            return
        writer.write_record_line(
            self._record_prefix + _encoder.encode(record) + self._record_suffix
        )
        self.state_manager.is_flushed = False
