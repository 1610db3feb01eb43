"""A fast Singer message writer: msgspec JSON, no per-record copy, no per-record flush.

singer-sdk's default writer turns every message into a dict with ``dataclasses.asdict``
(a deep copy of the record) and flushes stdout after each line; that caps a tap at a few
ten thousand records per second. Here RECORD messages are encoded straight from the record
dict and written to the buffered stdout; any other message (SCHEMA, STATE, ...) flushes, so
a STATE message never reaches the target before the records it covers. Records are
held back in a buffer of a few hundred kilobytes and written out before any other message.
"""

from __future__ import annotations

import datetime as dt
import gzip
import sys
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage

if TYPE_CHECKING:
    from singer_sdk.helpers._batch import BatchConfig


def _enc_hook(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


# Records are written in chunks of this size: with PYTHONUNBUFFERED (common in containers
# and orchestrators) every write would otherwise be a system call.
_CHUNK = 256 * 1024
ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="number")


class FastSingerWriter(GenericSingerWriter[bytes, Message]):
    """Writes Singer messages as JSON lines with msgspec."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._framing_key: tuple[str, str] | None = None
        self._prefix = b""
        self._suffix = b""
        self._between = b""

    def flush(self) -> None:
        """Write out the records held back so far."""
        if self._pending:
            _write(self._pending, flush=True)
            self._pending.clear()

    def serialize_message(self, message: Message) -> bytes:
        """One JSON line (without the newline) for ``message``."""
        if isinstance(message, RecordMessage):
            payload: dict[str, Any] = {
                "type": "RECORD",
                "stream": message.stream,
                "record": message.record,
            }
            if message.version is not None:
                payload["version"] = message.version
            if message.time_extracted is not None:
                payload["time_extracted"] = message.time_extracted
            return ENCODER.encode(payload)
        return ENCODER.encode(message.to_dict())

    def write_record(self, stream: str, record: dict[str, Any], time_extracted: str) -> None:
        """Write a RECORD message without building a message object first."""
        self.write_records(stream, [record], time_extracted)

    def write_records(self, stream: str, records: list[Any], time_extracted: str) -> None:
        """Write RECORD messages for ``records`` (dicts or msgspec structs).

        The records are encoded as JSON lines in one call; the envelope around each is put
        in by replacing the line breaks between them, which is safe because encoded JSON
        holds no raw line break.
        """
        if not records:
            return
        key = (stream, time_extracted)
        if key != self._framing_key:
            self._framing_key = key
            self._prefix = b'{"type":"RECORD","stream":' + ENCODER.encode(stream) + b',"record":'
            self._suffix = b',"time_extracted":' + ENCODER.encode(time_extracted) + b"}"
            self._between = self._suffix + b"\n" + self._prefix
        # Each line break becomes "suffix, line break, prefix": the last one leaves a prefix
        # too many at the end, cut off by the view instead of copying again.
        data = ENCODER.encode_lines(records).replace(b"\n", self._between)
        pending = self._pending
        pending += self._prefix
        pending += memoryview(data)[: len(data) - len(self._prefix)]
        if len(pending) >= _CHUNK:
            _write(pending, flush=False)
            pending.clear()

    def write_message(self, message: Message) -> None:
        """Write any Singer message; everything but RECORD flushes stdout."""
        self.flush()
        line = self.serialize_message(message) + b"\n"
        _write(line, flush=not isinstance(message, RecordMessage))


def _write(data: bytes | bytearray, *, flush: bool) -> None:
    stream = sys.stdout
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        raw.write(data)
        if flush:
            raw.flush()
    else:  # stdout replaced by a text buffer (tests, embedding)
        stream.write(bytes(data).decode("utf-8"))
        if flush:
            stream.flush()


# Batch files are written once and read once, by the target, soon after: gzip's fastest
# level keeps them about as small as the default while costing a fraction of its CPU.
_GZIP_LEVEL = 1


class BatchFiles:
    """The JSONL batch files of one stream's sync: plain or gzip, as the config says.

    The SDK's own batcher serializes record by record and always gzips, whatever the
    configured compression; here a chunk of records is encoded in one call, as for RECORD
    messages, and the files are named for what they hold (``.jsonl`` or ``.jsonl.gz``).
    """

    def __init__(self, config: BatchConfig, name: str) -> None:
        self.storage = config.storage
        self.compress = config.encoding.compression == "gzip"
        self.name = f"{self.storage.prefix or ''}{name}-{uuid.uuid4()}"
        self.number = 0

    @staticmethod
    def encode(records: list[Any]) -> bytes:
        """JSON lines of records (dicts or msgspec structs)."""
        return ENCODER.encode_lines(records)

    def write(self, parts: list[bytes]) -> list[str]:
        """Write encoded lines into the next file; its manifest (one URL)."""
        self.number += 1
        filename = f"{self.name}-{self.number}.jsonl" + (".gz" if self.compress else "")
        with self.storage.open(filename, "wb") as handle:
            if self.compress:
                with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=_GZIP_LEVEL) as packed:
                    packed.writelines(parts)
            else:
                handle.writelines(parts)
        return [self.storage.get_url(filename)]
