"""dBase III/IV and FoxPro tables (.dbf) with memo files (.dbt/.fpt).

dbfread reads the header, field descriptors and memo blocks; the record loop is ours so every
record keeps its physical number and byte offset, deleted rows are counted, and numbers come
out exact (dbfread's default parser returns floats for N and F fields).
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dbfread import DBF, FieldParser
from dbfread.exceptions import DBFNotFound, MissingMemoFile
from dbfread.memo import BinaryMemo, open_memofile

from tap_legacy.codepages import normalize_codepage
from tap_legacy.errors import LegacyConfigError, LegacySourceError
from tap_legacy.lineage import add_lineage, error_record
from tap_legacy.readers.base import SourceReader

MEMO_TYPES = {"M", "G", "P"}
VFP_VERSIONS = {0x30, 0x31, 0x32}


class ExactFieldParser(FieldParser):  # type: ignore[misc]
    """dbfread field parser that never produces floats: decimals are exact strings."""

    def parseN(self, field: Any, data: bytes) -> int | str | None:
        """Numeric: int when the field has no decimals, else an exact decimal string."""
        text = data.strip().strip(b"*").replace(b",", b".")
        if not text:
            return None
        try:
            value = Decimal(text.decode("ascii"))
        except (InvalidOperation, UnicodeDecodeError):
            raise ValueError(f"invalid number {data!r}") from None
        if not value.is_finite():
            raise ValueError(f"invalid number {data!r}")
        if field.decimal_count == 0 and field.length <= 18:
            if value != value.to_integral_value():
                raise ValueError(f"{data!r} has decimals but the field declares none")
            return int(value)
        return str(value)

    parseF = parseN  # dBase IV float fields hold decimal text too

    def parseY(self, field: Any, data: bytes) -> str:
        """Currency: 64-bit integer with four implied decimals."""
        value = struct.unpack("<q", data)[0]
        return str(Decimal(value).scaleb(-4))

    def parseB(self, field: Any, data: bytes) -> Any:
        """Visual FoxPro double (shortest exact repr as text) or dBase binary memo."""
        if self.dbversion in VFP_VERSIONS:
            return repr(struct.unpack("<d", data)[0])
        return _memo_value(self.get_memo(self._parse_memo_index(data)), self)

    def parseO(self, field: Any, data: bytes) -> str:
        """Double: shortest exact repr as text."""
        return repr(struct.unpack("<d", data)[0])

    def parseD(self, field: Any, data: bytes) -> str | None:
        """Date as ISO text."""
        value = super().parseD(field, data)
        return None if value is None else str(value.isoformat())

    def parseT(self, field: Any, data: bytes) -> str | None:
        """Timestamp as ISO text."""
        value = super().parseT(field, data)
        return None if value is None else str(value.isoformat())

    parse40 = parseT

    def parseM(self, field: Any, data: bytes) -> Any:
        """Memo text; binary memos as hex."""
        return _memo_value(self.get_memo(self._parse_memo_index(data)), self)

    parseG = parseM
    parseP = parseM


def _memo_value(memo: Any, parser: Any) -> str | None:
    if memo is None:
        return None
    if isinstance(memo, BinaryMemo):
        return bytes(memo).hex()
    return str(parser.decode_text(memo))


def _schema(field: Any, dbversion: int) -> dict[str, Any] | None:
    kind = field.type
    if kind == "0":
        return None  # _NullFlags: internal to Visual FoxPro
    if kind in ("C", "V") or kind in MEMO_TYPES:
        return {"type": ["string", "null"]}
    if kind == "N" and field.decimal_count == 0 and field.length <= 18:
        return {"type": ["integer", "null"]}
    if kind in ("N", "F", "Y", "O") or (kind == "B" and dbversion in VFP_VERSIONS):
        return {"type": ["string", "null"], "format": "x-singer.decimal"}
    if kind == "B":
        return {"type": ["string", "null"]}
    if kind == "D":
        return {"type": ["string", "null"], "format": "date"}
    if kind in ("T", "@"):
        return {"type": ["string", "null"], "format": "date-time"}
    if kind == "L":
        return {"type": ["boolean", "null"]}
    if kind in ("I", "+"):
        return {"type": ["integer", "null"]}
    return {"type": ["string", "null"]}


class DbfReader(SourceReader):
    """Reads .dbf tables; deleted rows are skipped and counted."""

    format_name = "dbf"

    def __init__(self, options: Mapping[str, Any], logger: logging.Logger) -> None:
        super().__init__(options, logger)
        codepage = self.option("codepage") or self.option("encoding")
        self.encoding = normalize_codepage(codepage) if codepage else None
        self.deleted_counts: dict[str, int] = {}
        self.schema_keys: list[str] | None = None
        self.schema_source: str | None = None

    def open_table(self, path: str) -> DBF:
        """Open the table and check its header; structural problems stop the run."""
        size = os.path.getsize(path)
        if size < 33:
            raise LegacySourceError(
                f"the DBF header is broken: the file has only {size} bytes (a header has at "
                "least 32 bytes plus the field terminator)",
                file=path,
                byte_offset=0,
            )
        try:
            table = DBF(
                path,
                encoding=self.encoding,
                parserclass=ExactFieldParser,
                ignore_missing_memofile=True,
                char_decode_errors="strict",
            )
        except DBFNotFound:
            raise LegacyConfigError(f"DBF file {path!r} does not exist") from None
        except (struct.error, ValueError, UnicodeDecodeError, LookupError) as exc:
            raise LegacySourceError(
                f"the DBF header is broken: {exc}",
                file=path,
                byte_offset=0,
                hint="the file may be truncated or not a DBF file",
            ) from None
        header = table.header
        expected_length = 1 + sum(f.length for f in table.fields)
        if header.headerlen < 33 or header.headerlen > size:
            raise LegacySourceError(
                f"the DBF header is broken: header length {header.headerlen} does not fit a "
                f"file of {size} bytes",
                file=path,
                byte_offset=8,
            )
        if header.recordlen != expected_length:
            raise LegacySourceError(
                f"the DBF header is broken: record length {header.recordlen} does not match the "
                f"field descriptors ({expected_length} bytes)",
                file=path,
                byte_offset=10,
            )
        if not table.fields:
            raise LegacySourceError("the DBF header declares no fields", file=path, byte_offset=32)
        has_memo = any(
            f.type in MEMO_TYPES or (f.type == "B" and header.dbversion not in VFP_VERSIONS)
            for f in table.fields
        )
        if has_memo and not table.memofilename:
            memo_path = self.option("memo_path")
            if memo_path and os.path.isfile(memo_path):
                table.memofilename = memo_path
            else:
                raise LegacySourceError(
                    "the table has memo fields but its memo file is missing "
                    f"(looked for {os.path.splitext(path)[0]}.fpt / .dbt"
                    + (f" and {memo_path}" if memo_path else "")
                    + ")",
                    file=path,
                    hint="copy the .fpt/.dbt file next to the .dbf, or set memo_path",
                )
        return table

    def properties(self, sample_path: str | None) -> dict[str, Any]:
        """Schema from the field descriptors of the first matching file."""
        if sample_path is None:
            return {}
        table = self.open_table(sample_path)
        self.schema_source = sample_path
        props: dict[str, Any] = {}
        for field in table.fields:
            schema = _schema(field, table.header.dbversion)
            if schema is not None:
                props[field.name.lower()] = schema
        self.schema_keys = list(props)
        return props

    def read(self, path: str) -> Iterator[dict[str, Any]]:
        """Live rows as records; deleted rows counted; unparsable rows as error records."""
        table = self.open_table(path)
        fields = [f for f in table.fields if f.type != "0"]
        layout = [(f, f.name.lower(), f.type != "0") for f in table.fields]
        keys = [f.name.lower() for f in fields]
        if self.schema_keys is not None and keys != self.schema_keys:
            raise LegacySourceError(
                f"the table's fields {keys} differ from those of {self.schema_source} "
                f"({self.schema_keys}), which gave the stream its schema",
                file=path,
                hint="give each table layout its own stream (a narrower 'path')",
            )
        header = table.header
        deleted = 0
        with contextlib.ExitStack() as stack:
            if table.memofilename:
                try:
                    memo = stack.enter_context(open_memofile(table.memofilename, header.dbversion))
                except (OSError, MissingMemoFile) as exc:
                    raise LegacySourceError(
                        f"cannot open the memo file: {exc}", file=path
                    ) from None
            else:
                memo = None
            parser = ExactFieldParser(table, memo)
            with open(path, "rb") as handle:
                handle.seek(header.headerlen)
                number = 0
                while True:
                    offset = header.headerlen + number * header.recordlen
                    raw = handle.read(header.recordlen)
                    if not raw or raw[:1] == b"\x1a":
                        break
                    number += 1
                    if len(raw) < header.recordlen:
                        yield error_record(
                            keys,
                            file=path,
                            number=number,
                            offset=offset,
                            raw=raw,
                            reason=f"truncated record: {len(raw)} of {header.recordlen} bytes "
                            "before the end of the file",
                        )
                        break
                    flag = raw[:1]
                    if flag == b"*":
                        deleted += 1
                        continue
                    if flag != b" ":
                        yield error_record(
                            keys,
                            file=path,
                            number=number,
                            offset=offset,
                            raw=raw,
                            reason=f"invalid deletion flag 0x{raw[0]:02X} (expected space or *)",
                        )
                        continue
                    record: dict[str, Any] = {}
                    position = 1
                    failure = None
                    for field, key, keep in layout:
                        data = raw[position : position + field.length]
                        try:
                            value = parser.parse(field, data)
                        except (ValueError, UnicodeDecodeError, struct.error, OSError) as exc:
                            failure = (
                                f"field {field.name} (type {field.type}, record byte {position}): "
                                f"{_explain(exc, table.encoding)}"
                            )
                            break
                        if keep:
                            record[key] = value
                        position += field.length
                    if failure is not None:
                        yield error_record(
                            keys, file=path, number=number, offset=offset, raw=raw, reason=failure
                        )
                        continue
                    yield add_lineage(record, path, number, offset)
        self.deleted_counts[path] = deleted
        self.logger.info("%s: %d deleted rows skipped", path, deleted)


def _explain(exc: Exception, encoding: str) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"byte 0x{exc.object[exc.start]:02X} is not valid in code page {encoding} "
            "(wrong code page? set 'codepage')"
        )
    return str(exc)
