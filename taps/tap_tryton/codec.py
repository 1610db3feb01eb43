"""Tryton's JSON-RPC value encoding.

Tryton extends JSON with typed objects: ``{"__class__": "datetime", "year": ...}``, ``date``,
``time``, ``timedelta``, ``Decimal`` and ``bytes``. Requests must encode datetimes that way
(a domain on ``last_modified_at``); responses are decoded back to Python values here.
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any


def encode_value(obj: Any) -> Any:
    """``json.dumps`` default hook: a Python value Tryton understands."""
    if isinstance(obj, dt.datetime):
        return {
            "__class__": "datetime",
            "year": obj.year,
            "month": obj.month,
            "day": obj.day,
            "hour": obj.hour,
            "minute": obj.minute,
            "second": obj.second,
            "microsecond": obj.microsecond,
        }
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    if isinstance(obj, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(obj).decode("ascii")}
    raise TypeError(f"tap-tryton cannot send a {type(obj).__name__} to Tryton")


def decode_object(obj: dict[str, Any]) -> Any:
    """``json.loads`` object hook: Tryton's typed objects back to Python values."""
    kind = obj.get("__class__")
    if kind is None:
        return obj
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def to_utc_iso(value: dt.datetime) -> str:
    """Tryton's naive UTC timestamp as a fixed-width ISO-8601 string with ``+00:00``.

    Fixed width (microseconds always present) keeps string order equal to time order,
    which singer-sdk relies on when it compares bookmark values.
    """
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"


def from_iso(value: str) -> dt.datetime:
    """A bookmark or ``start_date`` string as Tryton's naive UTC datetime."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed
