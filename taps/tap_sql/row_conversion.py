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
from itertools import repeat
from operator import add, attrgetter
from typing import Any

import msgspec

from tap_sql.text_decoding import ROW_ERROR_PROPERTY, decode_text

ValueConverter = Callable[[Any], Any]
ColumnConverter = Callable[[Sequence[Any]], Sequence[Any]]
_NONE_TYPE = type(None)
_tzinfo = attrgetter("tzinfo")


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


def _each(convert: ValueConverter) -> ColumnConverter:
    def column(values: Sequence[Any]) -> Sequence[Any]:
        return [None if v is None else convert(v) for v in values]

    return column


def _datetime_column(values: Sequence[Any]) -> Sequence[Any]:
    distinct = set(values)
    distinct.discard(None)
    if set(map(type, distinct)) == {datetime.datetime} and set(map(_tzinfo, distinct)) == {None}:
        # Timestamps repeat within a chunk (bulk loads, dates kept as midnight): each
        # distinct one is formatted once. Equal naive datetimes format alike.
        iso: dict[Any, Any] = dict(
            zip(
                distinct,
                map(add, map(datetime.datetime.isoformat, distinct), repeat("+00:00")),
                strict=True,
            )
        )
        iso[None] = None
        return list(map(iso.__getitem__, values))
    return [None if v is None else _datetime(v) for v in values]


def _decimal_column(values: Sequence[Any]) -> Sequence[Any]:
    kinds = set(map(type, values))
    if kinds <= {decimal.Decimal, _NONE_TYPE}:
        present = [v for v in values if v is not None] if _NONE_TYPE in kinds else values
        if all(map(decimal.Decimal.is_finite, present)):
            return values
    return [None if v is None else _decimal(v) for v in values]


def _text_column(codec: str) -> ColumnConverter:
    convert = _fast_text(codec)

    def column(values: Sequence[Any]) -> Sequence[Any]:
        if set(map(type, values)) <= {str, _NONE_TYPE}:
            return values
        return [None if v is None else convert(v) for v in values]

    return column


_COLUMN_CONVERTERS: dict[str, ColumnConverter] = {
    "_datetime": _datetime_column,
    "_decimal": _decimal_column,
}


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
        index = {name: i for i, name in enumerate(self.names)}
        self._columns: list[tuple[int, ColumnConverter]] = [
            (index[name], _COLUMN_CONVERTERS.get(convert.__name__) or _each(convert))
            for name, convert in self.converters
        ]
        self._columns += [(index[name], _text_column(codec)) for name, codec in self.text_codecs]
        keys = [*self.names, ROW_ERROR_PROPERTY]
        fields = [f"f{i}" for i in range(len(keys))]
        # A source column named like the row-error property would be one key of a dict
        # but two of a struct: such a stream keeps the dicts.
        self._struct: type[msgspec.Struct] | None = (
            msgspec.defstruct(
                "SQLRecord",
                [(f, Any) for f in fields],
                rename=dict(zip(fields, keys, strict=True)),
                gc=False,  # JSON-ready scalars only: nothing for the cycle collector to find
            )
            if len(set(keys)) == len(keys)
            else None
        )

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

    def chunk(self, rows: Sequence[Sequence[Any]]) -> list[Any]:
        """The records of ``rows``, converted column by column, for the fast writer only.

        Records are msgspec structs that encode exactly as the dicts of :meth:`__call__`
        (same keys, order and values), at a fraction of the cost of a dict and a Python
        call per row. A chunk with text that does not decode goes row by row.
        """
        count = len(rows)
        if not count:
            return []
        if self._struct is None:
            return [self._fast(row) for row in rows]
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        try:
            for index, convert in self._columns:
                columns[index] = convert(columns[index])
        except UnicodeDecodeError:
            return [self._fast(row) for row in rows]
        return list(map(self._struct, *columns, repeat(None, count)))

    def as_dict(self, record: Any) -> dict[str, Any]:
        """A record of :meth:`chunk` (struct or dict) as a dict."""
        if isinstance(record, dict):
            return record
        names = [*self.names, ROW_ERROR_PROPERTY]
        return dict(zip(names, msgspec.structs.astuple(record), strict=True))

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
