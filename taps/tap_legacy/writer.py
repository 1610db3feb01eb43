"""A buffered msgspec Singer writer.

singer-sdk's ``MsgSpecWriter`` flushes stdout after every message; at a million records that
flush dominates. This writer buffers RECORD lines and flushes on any other message (SCHEMA,
STATE, ...) and when the buffer passes 256 KiB, so a STATE message never overtakes the
records it covers. ``write_record_line`` lets the stream hand over an already encoded line.
"""

from __future__ import annotations

import sys
from typing import Any

from singer_sdk.contrib.msgspec import MsgSpecWriter

FLUSH_AT = 256 * 1024


class BufferedMsgSpecWriter(MsgSpecWriter):
    """msgspec JSON lines, buffered between non-RECORD messages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._buffer = bytearray()

    def write_record_line(self, line: bytes | bytearray) -> None:
        """Append one encoded RECORD line (ending in a newline)."""
        self._buffer += line
        if len(self._buffer) >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Write out buffered lines."""
        if self._buffer:
            out = sys.stdout.buffer
            out.write(self._buffer)
            self._buffer.clear()
        sys.stdout.flush()

    def write_message(self, message: Any) -> None:
        """Buffer RECORD messages; flush before and after every other message."""
        line = self.format_message(message)
        if getattr(message, "type", None) == "RECORD":
            self.write_record_line(line)
            return
        self._buffer += line
        self.flush()
