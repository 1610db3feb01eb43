"""Record framing of mainframe files: fixed-length records, or variable records with an RDW.

A record descriptor word (RDW) is 4 bytes: a big-endian 2-byte length that includes the RDW
itself, then two zero bytes. Files transferred with ``RDW`` keep it; ``rdw_blocked`` files also
keep the 4-byte block descriptor word (BDW) in front of each block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from tap_legacy.errors import LegacySourceError

CHUNK = 1 << 20


def fixed_records(
    stream: BinaryIO, record_length: int, file: str, partial: str = "fail"
) -> Iterator[tuple[int, bytes]]:
    """Yield (byte offset, record) for fixed-length records read in 1 MiB chunks.

    A trailing partial record raises ``LegacySourceError`` (``partial="fail"``), or is yielded
    as it is (``partial="quarantine"``) so the caller emits it as an error record.
    """
    offset = 0
    carry = b""
    chunk_records = max(1, CHUNK // record_length)
    while True:
        chunk = stream.read(chunk_records * record_length)
        if not chunk:
            break
        data = carry + chunk if carry else chunk
        usable = len(data) - len(data) % record_length
        for start in range(0, usable, record_length):
            yield offset + start, data[start : start + record_length]
        offset += usable
        carry = data[usable:]
    if carry:
        number = offset // record_length + 1
        if partial == "quarantine":
            yield offset, carry
            return
        raise LegacySourceError(
            f"the file length ({offset + len(carry)} bytes) is not a multiple of the record "
            f"length {record_length}: the last record has only {len(carry)} bytes",
            file=file,
            record_number=number,
            byte_offset=offset,
            hint="check the copybook against the file (record length), whether the file has "
            "RDWs (record_format: rdw) or line ends; or set partial_record: quarantine",
        )


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            break
        data += more
    return data


def rdw_records(
    stream: BinaryIO, file: str, blocked: bool = False, partial: str = "fail"
) -> Iterator[tuple[int, bytes]]:
    """Yield (byte offset of the RDW, record data without the RDW) for variable records."""
    offset = 0
    number = 0
    block_end = -1
    while True:
        if blocked and offset >= block_end:
            bdw = _read_exact(stream, 4)
            if not bdw:
                return
            if len(bdw) < 4:
                raise LegacySourceError(
                    "truncated block descriptor word",
                    file=file,
                    record_number=number + 1,
                    byte_offset=offset,
                )
            block_end = offset + int.from_bytes(bdw[:2], "big")
            if bdw[0] & 0x80:
                raise LegacySourceError(
                    "extended (large) block descriptor words are not supported",
                    file=file,
                    record_number=number + 1,
                    byte_offset=offset,
                )
            offset += 4
        rdw = _read_exact(stream, 4)
        if not rdw:
            return
        number += 1
        length = int.from_bytes(rdw[:2], "big") if len(rdw) == 4 else 0
        if len(rdw) < 4 or length < 4 or rdw[2:4] != b"\x00\x00":
            raise LegacySourceError(
                f"invalid record descriptor word {rdw.hex(' ').upper()} (expected a length of at "
                "least 4 followed by two zero bytes)",
                file=file,
                record_number=number,
                byte_offset=offset,
                hint="is the file really variable-length with RDWs? try record_format: fixed",
            )
        data = _read_exact(stream, length - 4)
        if len(data) < length - 4:
            if partial == "quarantine":
                yield offset, rdw + data
                return
            raise LegacySourceError(
                f"the record descriptor word announces {length} bytes but the file ends after "
                f"{len(data) + 4}",
                file=file,
                record_number=number,
                byte_offset=offset,
                hint="the file is truncated; or set partial_record: quarantine",
            )
        yield offset, data
        offset += length


def rdw_encode(records: list[bytes]) -> bytes:
    """Prefix every record with its RDW (test fixtures and the demo generator)."""
    return b"".join((len(r) + 4).to_bytes(2, "big") + b"\x00\x00" + r for r in records)
