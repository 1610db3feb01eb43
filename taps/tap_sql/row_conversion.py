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
from typing import Any

from tap_sql.text_decoding import ROW_ERROR_PROPERTY, decode_text

ValueConverter = Callable[[Any], Any]


def _base64(value: Any) -> str:
    return base64.b64encode(bytes(value)).decode("ascii")


# Expressions the generated row function uses instead of calling the converter for the
# common case (a Python call per value is most of the cost); the converter handles the rest.
_INLINE: dict[str, str] = {
    "_datetime": (
        "({v}.isoformat() + '+00:00' if {v}.__class__ is _dt and {v}.tzinfo is None else {f}({v}))"
    ),
    "_decimal": "({v} if {v}.__class__ is _dec and {v}.is_finite() else {f}({v}))",
}


def _datetime(value: Any) -> Any:
    if value.__class__ is datetime.datetime:
        if value.tzinfo is None:  # singer-sdk convention: naive values are UTC
            return value.isoformat() + "+00:00"
        return value.isoformat()
    return _date(value)


def _date(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, str):
        # Text read from a date column (SQLite): ISO text is normalized; anything else is
        # kept as written, so the hub's mapping or quarantine can say what is wrong with it.
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        if len(value) <= 10:
            return parsed.date().isoformat()
        return _datetime(parsed)
    return value


def _decimal(value: Any) -> Any:
    # NaN / Infinity (PostgreSQL numeric, floats) have no JSON form.
    if value.__class__ is decimal.Decimal:
        return value if value.is_finite() else None
    if value.__class__ is float:
        return value if math.isfinite(value) else None
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
        return None  # the msgspec writer and the SDK's conformance both write ISO 8601
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


def _fast_text(codec: str) -> ValueConverter:
    errors = "tap_sql_mysql_latin1" if codec == "cp1252" else "strict"

    def convert(value: Any) -> Any:
        if value.__class__ is str:
            return value
        if isinstance(value, bytes | bytearray | memoryview):
            # UnicodeDecodeError sends the row to the slow path, which marks the value.
            return bytes(value).decode(codec, errors)
        return str(value)

    return convert


class RowConverter:
    """Turns a result row (a tuple in ``names`` order) into a record dict.

    The per-row function is generated once per stream (as ``collections.namedtuple``
    does): one tuple unpacking and one dict display with only the needed converter calls,
    several times faster than a loop over columns, which matters at tens of millions of
    rows. A row whose text does not decode goes through the careful path, which marks it.
    """

    def __init__(
        self,
        names: Sequence[str],
        converters: Sequence[tuple[str, ValueConverter]],
        text_codecs: Sequence[tuple[str, str]],
    ) -> None:
        self.names = list(names)
        self.converters = list(converters)
        self.text_codecs = list(text_codecs)
        self.undecodable_rows = 0
        self._fast = self._compile()

    def _compile(self) -> Callable[[Sequence[Any]], dict[str, Any]]:
        namespace: dict[str, Any] = {
            "_careful": self._careful,
            "_dt": datetime.datetime,
            "_dec": decimal.Decimal,
        }
        by_name: dict[str, str] = {}
        inline: dict[str, str] = {}
        for name, convert in self.converters:
            key = f"_c{len(namespace)}"
            namespace[key] = convert
            by_name[name] = key
            if convert.__name__ in _INLINE:
                inline[name] = _INLINE[convert.__name__]
        for name, codec in self.text_codecs:
            key = f"_c{len(namespace)}"
            namespace[key] = _fast_text(codec)
            by_name[name] = key
        variables = [f"v{i}" for i in range(len(self.names))]
        items = []
        for i, name in enumerate(self.names):
            value = variables[i]
            if name in inline:
                expression = inline[name].format(v=value, f=by_name[name])
                value = f"(None if {value} is None else {expression})"
            elif name in by_name:
                value = f"(None if {value} is None else {by_name[name]}({value}))"
            items.append(f"{name!r}: {value}")
        items.append(f"{ROW_ERROR_PROPERTY!r}: None")
        unpack = ", ".join(variables) + ("," if len(variables) == 1 else "")
        source = (
            "def convert(row):\n"
            f"    {unpack} = row\n"
            "    try:\n"
            f"        return {{{', '.join(items)}}}\n"
            "    except UnicodeDecodeError:\n"
            "        return _careful(row)\n"
        )
        # Only column names (repr-quoted) and generated identifiers reach the source.
        exec(source, namespace)  # noqa: S102
        return namespace["convert"]  # type: ignore[no-any-return]

    def __call__(self, row: Sequence[Any]) -> dict[str, Any]:
        """Convert one row; never raises on a bad value."""
        return self._fast(row)

    def _careful(self, row: Sequence[Any]) -> dict[str, Any]:
        record = dict(zip(self.names, row, strict=True))
        for name, convert in self.converters:
            value = record[name]
            if value is not None:
                record[name] = convert(value)
        errors: list[str] = []
        for name, codec in self.text_codecs:
            value = record[name]
            if value is None or value.__class__ is str:
                continue
            if isinstance(value, bytes | bytearray | memoryview):
                decoded = decode_text(bytes(value), codec, column=name)
                record[name] = decoded.text
                if decoded.error is not None:
                    errors.append(decoded.error)
            else:
                record[name] = str(value)
        record[ROW_ERROR_PROPERTY] = "; ".join(errors) if errors else None
        if errors:
            self.undecodable_rows += 1
        return record
