"""Lineage and quarantine properties added to every stream.

Every record says where it came from (``_source_file``, ``_record_number``, ``_byte_offset``,
``_line_number``). A record that cannot be decoded is still emitted with ``_record_error``
(the reason) and ``_raw_hex`` (its bytes in hex) and every other field null, so the hub
quarantines it instead of losing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SOURCE_FILE = "_source_file"
RECORD_NUMBER = "_record_number"
BYTE_OFFSET = "_byte_offset"
LINE_NUMBER = "_line_number"
RECORD_ERROR = "_record_error"
RAW_HEX = "_raw_hex"

LINEAGE_PROPERTIES: dict[str, dict[str, Any]] = {
    SOURCE_FILE: {"type": "string", "description": "path of the source file"},
    RECORD_NUMBER: {"type": "integer", "description": "1-based record number in the file"},
    BYTE_OFFSET: {
        "type": ["integer", "null"],
        "description": "0-based byte offset of the record in the file",
    },
    LINE_NUMBER: {
        "type": ["integer", "null"],
        "description": "1-based line where the record starts (text formats)",
    },
    RECORD_ERROR: {
        "type": ["string", "null"],
        "description": "why the record could not be decoded; null on good records",
    },
    RAW_HEX: {
        "type": ["string", "null"],
        "description": "the undecodable record's bytes in hex; null on good records",
    },
}

DEFAULT_KEY_PROPERTIES = [SOURCE_FILE, RECORD_NUMBER]

#: Keep error records bounded: a runaway record (e.g. a vCard without END) is cut here.
MAX_RAW_BYTES = 64 * 1024


def raw_hex(raw: bytes) -> str:
    """Hex of ``raw``, cut at ``MAX_RAW_BYTES`` with a marker so the record stays bounded."""
    if len(raw) > MAX_RAW_BYTES:
        return raw[:MAX_RAW_BYTES].hex() + f"...(+{len(raw) - MAX_RAW_BYTES} bytes)"
    return raw.hex()


def add_lineage(
    record: dict[str, Any],
    file: str,
    number: int,
    offset: int | None,
    line: int | None = None,
) -> dict[str, Any]:
    """Set every lineage property on a good record (the error properties are null)."""
    record[SOURCE_FILE] = file
    record[RECORD_NUMBER] = number
    record[BYTE_OFFSET] = offset
    record[LINE_NUMBER] = line
    record[RECORD_ERROR] = None
    record[RAW_HEX] = None
    return record


def error_record(
    keys: Iterable[str],
    *,
    file: str,
    number: int,
    offset: int | None,
    reason: str,
    raw: bytes,
    line: int | None = None,
) -> dict[str, Any]:
    """A record that could not be decoded: fields null, reason and raw bytes kept."""
    record: dict[str, Any] = dict.fromkeys(keys)
    record[SOURCE_FILE] = file
    record[RECORD_NUMBER] = number
    record[BYTE_OFFSET] = offset
    record[LINE_NUMBER] = line
    record[RECORD_ERROR] = reason
    record[RAW_HEX] = raw_hex(raw)
    return record
