"""SQL column types -> JSON Schema, faithful to what the ERP stores.

DECIMAL stays a decimal (a JSON number written with every stored digit, or a string with
``format: x-singer.decimal`` when ``use_singer_decimal`` is on), dates and times keep their
formats, binary columns become base64 strings (``contentEncoding: base64``), JSON columns
stay JSON, UUIDs are strings.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from singer_sdk.sql.connector import SQLToJSONSchema
from sqlalchemy.types import _Binary

BINARY_SCHEMA: dict[str, Any] = {"type": ["string"], "contentEncoding": "base64"}


class ErpSQLToJSONSchema(SQLToJSONSchema):
    """The SDK's mapping plus binary, JSON, UUID, intervals and enums."""

    @functools.singledispatchmethod
    def to_jsonschema(self, column_type: sa.types.TypeEngine[Any]) -> dict[str, Any]:
        """Map a column type; unknown types become strings (their text form)."""
        return super().to_jsonschema(column_type)

    @to_jsonschema.register
    def _binary(self, column_type: _Binary) -> dict[str, Any]:
        return dict(BINARY_SCHEMA)

    @to_jsonschema.register
    def _json(self, column_type: sa.JSON) -> dict[str, Any]:
        return {"type": ["object", "array", "string", "number", "boolean"]}

    @to_jsonschema.register
    def _uuid(self, column_type: sa.Uuid) -> dict[str, Any]:  # type: ignore[type-arg]
        return {"type": ["string"], "format": "uuid"}

    @to_jsonschema.register
    def _interval(self, column_type: sa.Interval) -> dict[str, Any]:
        return {"type": ["string"], "description": "duration in ISO 8601 (PnDTnHnMnS)"}

    @to_jsonschema.register
    def _enum(self, column_type: sa.Enum) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": ["string"]}
        if column_type.enums:
            schema["enum"] = [*column_type.enums]
        return schema

    # Re-register the SDK's handlers on this dispatcher (singledispatchmethod registries
    # are per class attribute, so the subclass starts from an empty one).
    @to_jsonschema.register
    def _datetime(self, column_type: sa.DateTime) -> dict[str, Any]:
        return super().datetime_to_jsonschema(column_type)

    @to_jsonschema.register
    def _date(self, column_type: sa.Date) -> dict[str, Any]:
        return super().date_to_jsonschema(column_type)

    @to_jsonschema.register
    def _time(self, column_type: sa.Time) -> dict[str, Any]:
        return super().time_to_jsonschema(column_type)

    @to_jsonschema.register
    def _integer(self, column_type: sa.Integer) -> dict[str, Any]:
        return super().integer_to_jsonschema(column_type)

    @to_jsonschema.register
    def _numeric(self, column_type: sa.Numeric) -> dict[str, Any]:  # type: ignore[type-arg]
        return super().numeric_to_jsonschema(column_type)

    @to_jsonschema.register
    def _float(self, column_type: sa.Float) -> dict[str, Any]:  # type: ignore[type-arg]
        return super().float_to_jsonschema(column_type)

    @to_jsonschema.register
    def _string(self, column_type: sa.String) -> dict[str, Any]:
        return super().string_to_jsonschema(column_type)

    @to_jsonschema.register
    def _boolean(self, column_type: sa.Boolean) -> dict[str, Any]:
        return super().boolean_to_jsonschema(column_type)
