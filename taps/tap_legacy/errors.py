"""Errors of tap-legacy, grouped by what the user does about them.

``LegacySourceError`` is structural: the file or its description cannot be read at all
(copybook syntax, broken DBF header, missing memo file, malformed XML, a vCard without END).
The tap stops with one line naming file, line/column or record and byte offset, and exits
non-zero.

``RecordDecodeError`` concerns one record only: the tap still emits that record in its
stream with ``_record_error`` and ``_raw_hex`` so the hub quarantines it; nothing is lost.
"""

from __future__ import annotations


class LegacyError(Exception):
    """Base of every error tap-legacy reports."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class LegacyConfigError(LegacyError):
    """The tap configuration is wrong: fix the config and re-run."""


class LegacySourceError(LegacyError):
    """A source file (or its copybook/layout) is structurally unreadable: the run stops."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        record_number: int | None = None,
        byte_offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = []
        if file is not None:
            where.append(file)
        if line is not None:
            where.append(f"line {line}" + (f", column {column}" if column is not None else ""))
        if record_number is not None:
            where.append(f"record {record_number}")
        if byte_offset is not None:
            where.append(f"byte offset {byte_offset}")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message, hint=hint)
        self.file = file
        self.line = line
        self.column = column
        self.record_number = record_number
        self.byte_offset = byte_offset


class RecordDecodeError(LegacyError):
    """One record (or one field of it) cannot be decoded; the record is emitted for quarantine.

    ``field`` is the source field name, ``offset`` the byte offset of the field inside the
    record (when it applies).
    """

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        super().__init__(message)
        self.field = field
        self.offset = offset

    def reason(self) -> str:
        """The text that goes into ``_record_error``."""
        if self.field is None:
            return self.message
        at = f" at record byte {self.offset}" if self.offset is not None else ""
        return f"field {self.field}{at}: {self.message}"
