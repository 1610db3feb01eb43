"""Physical lines of a text file with their line numbers and byte offsets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True, slots=True)
class RawLine:
    """One physical line without its line end."""

    number: int
    offset: int
    data: bytes
    raw_length: int


def raw_lines(handle: BinaryIO) -> Iterator[RawLine]:
    """Yield every line with its 1-based number and 0-based byte offset."""
    offset = 0
    for number, raw in enumerate(handle, start=1):
        yield RawLine(number, offset, raw.rstrip(b"\r\n"), len(raw))
        offset += len(raw)
