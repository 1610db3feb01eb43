"""Declarative columns: which Tryton field feeds which Singer property, with which type.

A column's ``path`` is a Tryton field name, or a dotted path through a Many2One
(``country.code``), which Tryton's ``read`` resolves server-side and answers as
``{"country.": {"code": ...}}``. A ``children`` column reads a One2Many or Many2Many as a
list of objects (``lines.quantity`` ...) in the same call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from singer_sdk import typing as th

from tap_tryton.codec import to_utc_iso

# Singer types per column kind; every value may be null (Tryton fields are optional).
_TYPES: dict[str, Any] = {
    "integer": th.IntegerType,
    "string": th.StringType,
    "boolean": th.BooleanType,
    "number": th.NumberType,
    "date": th.DateType,
    "datetime": th.DateTimeType,
    "ids": th.ArrayType(th.IntegerType),
    "strings": th.ArrayType(th.StringType),
}


@dataclass(frozen=True)
class Column:
    """One Singer property read from one Tryton field (or dotted path)."""

    name: str
    kind: str
    path: str = ""
    description: str = ""
    children: tuple[Column, ...] = field(default=())
    required: bool = False

    @property
    def source(self) -> str:
        """The Tryton field path (defaults to the property name)."""
        return self.path or self.name

    def read_fields(self) -> list[str]:
        """Field names to ask Tryton's ``search_read`` for."""
        if self.children:
            return [f"{self.source}.{child.source}" for child in self.children]
        return [self.source]

    def singer_type(self) -> th.Property[Any]:
        """The property's JSON-schema declaration."""
        if self.children:
            item = th.ObjectType(*(child.singer_type() for child in self.children))
            return th.Property(self.name, th.ArrayType(item), description=self.description)
        return th.Property(
            self.name, _TYPES[self.kind], required=self.required, description=self.description
        )

    def extract(self, raw: dict[str, Any]) -> Any:
        """This column's value from one raw Tryton row."""
        if self.children:
            items = raw.get(self.source + ".") or []
            return [{child.name: child.extract(item) for child in self.children} for item in items]
        return convert(self.kind, _follow(raw, self.source))


def _follow(raw: dict[str, Any], path: str) -> Any:
    """Walk a dotted path: ``a.b.c`` lives at ``raw["a."]["b."]["c"]``."""
    head, _, rest = path.partition(".")
    if not rest:
        return raw.get(head)
    related = raw.get(head + ".")
    if related is None:
        return None
    if isinstance(related, list):  # x2many read through a dotted path: one value each
        return [_follow(item, rest) for item in related]
    return _follow(related, rest)


def convert(kind: str, value: Any) -> Any:
    """A Tryton value as the JSON value its Singer type promises."""
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)  # SQLite answers 0/1
    if kind == "integer":
        return int(value)
    if kind == "datetime":
        return to_utc_iso(value) if isinstance(value, dt.datetime) else str(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "number":
        return value if isinstance(value, (Decimal, int)) else Decimal(str(value))
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    if kind in ("ids", "strings"):
        return list(value)
    return value


def schema_for(columns: Sequence[Column]) -> dict[str, Any]:
    """The stream's JSON schema from its columns."""
    return th.PropertiesList(*(column.singer_type() for column in columns)).to_dict()
