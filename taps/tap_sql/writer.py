"""A fast Singer message writer: msgspec encoding, buffered RECORD lines.

singer-sdk's default writer turns every message into a dict with ``dataclasses.asdict``
(a deep copy of each record) and flushes stdout after every line. This writer encodes the
record dict as it is, with msgspec (DECIMAL values keep every digit as JSON numbers), and
flushes only after SCHEMA, STATE and other control messages: a STATE line therefore always
reaches the target after the records it covers.
"""

from __future__ import annotations

import datetime
import gzip
import sys
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.encoding.simple import Message, RecordMessage

if TYPE_CHECKING:
    from singer_sdk.helpers._batch import BatchConfig


def _encode_other(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep="T")
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_encode_other, decimal_format="number")


class FastSingerWriter(GenericSingerWriter[bytes, Message]):
    """Writes Singer messages as JSON lines to stdout, RECORDs without a flush each."""

    def serialize_message(self, message: Message) -> bytes:
        """One JSON line (with its newline) for the message."""
        if isinstance(message, RecordMessage):
            body: dict[str, Any] = {
                "type": "RECORD",
                "stream": message.stream,
                "record": message.record,
            }
            if message.version is not None:
                body["version"] = message.version
            if message.time_extracted is not None:
                body["time_extracted"] = message.time_extracted
            return _encoder.encode(body) + b"\n"
        return _encoder.encode(message.to_dict()) + b"\n"

    def record_writer(self, stream: str, version: int | None) -> Callable[[dict[str, Any]], None]:
        """A function writing one RECORD line of ``stream`` (the hot path, no message object)."""
        out = getattr(sys.stdout, "buffer", None)
        encode = _encoder.encode
        now = datetime.datetime.now
        utc = datetime.UTC

        if out is None:  # stdout replaced by a text stream (test runners)

            def write_text(record: dict[str, Any]) -> None:
                body: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
                if version is not None:
                    body["version"] = version
                body["time_extracted"] = now(utc)
                sys.stdout.write(encode(body).decode("utf-8") + "\n")

            return write_text

        write = out.write
        if version is None:

            def write_line(record: dict[str, Any]) -> None:
                write(
                    encode(
                        {
                            "type": "RECORD",
                            "stream": stream,
                            "record": record,
                            "time_extracted": now(utc),
                        }
                    )
                    + b"\n"
                )

            return write_line

        def write_versioned(record: dict[str, Any]) -> None:
            body: dict[str, Any] = {
                "type": "RECORD",
                "stream": stream,
                "record": record,
                "version": version,
            }
            body["time_extracted"] = now(utc)
            write(encode(body) + b"\n")

        return write_versioned

    def chunk_writer(self, stream: str, version: int | None) -> Callable[[list[Any]], None]:
        """A function writing RECORD lines of ``stream`` for a list of records at once.

        The records (dicts or msgspec structs) are encoded as JSON lines in one call and
        the envelope is put around each by replacing the line breaks between them, safe
        because encoded JSON holds no raw line break. A chunk shares one time_extracted:
        its rows were fetched together.
        """
        out = getattr(sys.stdout, "buffer", None)
        encode = _encoder.encode
        encode_lines = _encoder.encode_lines
        now = datetime.datetime.now
        utc = datetime.UTC
        prefix = b'{"type":"RECORD","stream":' + encode(stream) + b',"record":'
        versioned = b"" if version is None else b',"version":' + encode(version)

        def write_chunk(records: list[Any]) -> None:
            if not records:
                return
            suffix = versioned + b',"time_extracted":' + encode(now(utc)) + b"}"
            # Each line break becomes "suffix, line break, prefix": the last one leaves a
            # prefix too many at the end, cut off by the view instead of copying again.
            data = encode_lines(records).replace(b"\n", suffix + b"\n" + prefix)
            body = memoryview(data)[: len(data) - len(prefix)]
            if out is None:  # stdout replaced by a text stream (test runners)
                sys.stdout.write((prefix + body).decode("utf-8"))
            else:
                out.write(prefix)
                out.write(body)

        return write_chunk

    def write_message(self, message: Message) -> None:
        """Write the message; flush unless it is a RECORD."""
        line = self.serialize_message(message)
        out = getattr(sys.stdout, "buffer", None)
        if out is None:  # stdout replaced by a text stream (test runners)
            sys.stdout.write(line.decode("utf-8"))
            sys.stdout.flush()
            return
        out.write(line)
        if not isinstance(message, RecordMessage):
            out.flush()


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
        return _encoder.encode_lines(records)

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
