"""Database rows -> JSON-ready Singer records, column by column.

Only the columns that need it get a converter, so a row of plain strings and integers
costs one ``dict(zip(...))``: binary -> base64, DECIMAL -> decimal (or its string with
``use_singer_decimal``), dates and times -> ISO 8601, text read as raw bytes -> decoded
with the column's charset (bad bytes -> U+FFFD and a ``_row_error``).
"""

from __future__ import annotations

import base64
import datetime
import decimal
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tap_sql.text_decoding import ROW_ERROR_PROPERTY, decode_text

ValueConverter = Callable[[Any], Any]


def _base64(value: Any) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


def _datetime(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # singer-sdk convention: naive values are UTC
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat(timespec="microseconds")
    return _date(value)


def _date(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def _decimal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal | float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _decimal_string(value: Any) -> Any:
    value = _decimal(value)
    return None if value is None else str(value)


def _duration(value: Any) -> Any:
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
        sign = "-" if seconds < 0 else ""
        days, rest = divmod(abs(seconds), 86400)
        return f"{sign}P{int(days)}DT{rest:g}S"
    return value


def _text_of(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def value_converter(schema: dict[str, Any], *, singer_decimal: bool) -> ValueConverter | None:
    """The converter a column of this JSON schema needs, or None."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if schema.get("contentEncoding") == "base64":
        return _base64
    fmt = schema.get("format")
    if fmt == "date-time":
        return _datetime
    if fmt in ("date", "time"):
        return _date
    if fmt == "x-singer.decimal":
        return _decimal_string if singer_decimal else _decimal
    if "number" in types and "object" not in types:
        return _decimal
    if fmt == "uuid":
        return _text_of
    if schema.get("description", "").startswith("duration"):
        return _duration
    return None


def is_text_column(schema: dict[str, Any]) -> bool:
    """Plain text columns: the ones whose raw bytes may need decoding."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    return (
        types in (["string"], ["string", "null"], ["null", "string"])
        and "format" not in schema
        and "contentEncoding" not in schema
    )


@dataclass
class RowConverter:
    """Turns a result row (a tuple in ``names`` order) into a record dict."""

    names: Sequence[str]
    converters: Sequence[tuple[str, ValueConverter]]
    text_codecs: Sequence[tuple[str, str]]
    undecodable_rows: int = 0

    def __call__(self, row: Sequence[Any]) -> dict[str, Any]:
        """Convert one row; never raises on a bad value."""
        record = dict(zip(self.names, row, strict=True))
        for name, convert in self.converters:
            value = record[name]
            if value is not None:
                record[name] = convert(value)
        errors: list[str] | None = None
        for name, codec in self.text_codecs:
            value = record[name]
            if value is not None and value.__class__ is not str:
                if isinstance(value, bytes | bytearray | memoryview):
                    decoded = decode_text(bytes(value), codec, column=name)
                    record[name] = decoded.text
                    if decoded.error is not None:
                        errors = [*(errors or []), decoded.error]
                else:
                    record[name] = str(value)
        record[ROW_ERROR_PROPERTY] = "; ".join(errors) if errors else None
        if errors:
            self.undecodable_rows += 1
        return record
