"""JSON schemas of tap-crmhub's streams (the target-crm input contract)."""

from __future__ import annotations

from typing import Any

from crmhub.mapping.canonical import ADDRESS_FIELDS
from crmhub.publish.records import CUSTOMER_FIELDS, RELATED_FIELDS

_STRING: dict[str, Any] = {"type": ["string", "null"]}
_STRINGS: dict[str, Any] = {"type": ["array", "null"], "items": {"type": "string"}}
_BOOLEAN: dict[str, Any] = {"type": ["boolean", "null"]}
_ADDRESS: dict[str, Any] = {
    "type": "object",
    "properties": {f: _STRING for f in sorted(ADDRESS_FIELDS)},
}
_CUSTOMER_TYPES: dict[str, dict[str, Any]] = {
    "emails": _STRINGS,
    "phones": _STRINGS,
    "tax_ids": _STRINGS,
    "tags": _STRINGS,
    "addresses": {"type": ["array", "null"], "items": _ADDRESS},
    "consent_email": _BOOLEAN,
    "consent_phone": _BOOLEAN,
}
_RELATED_TYPES: dict[str, dict[str, Any]] = {
    "lines": {"type": ["array", "null"], "items": {"type": "object"}},
}


def customers_schema() -> dict[str, Any]:
    """Schema of the `customers` stream: one golden record each, key `master_id`."""
    return {
        "type": "object",
        "properties": {
            "master_id": {"type": "string"},
            "version": {"type": ["integer", "null"]},
            "content_hash": {"type": "string"},
            "kind": {"type": ["string", "null"], "enum": ["person", "organization", None]},
            **{f: _CUSTOMER_TYPES.get(f, _STRING) for f in CUSTOMER_FIELDS},
            "organization_master_id": _STRING,
            "merged_into": _STRING,
            "retired": {"type": "boolean"},
            "remote_id": _STRING,
        },
        "required": ["master_id", "content_hash"],
    }


def related_schema(stream: str) -> dict[str, Any]:
    """Schema of `orders`, `interactions` or `tickets`: key `record_id`, parent `master_id`."""
    return {
        "type": "object",
        "properties": {
            "record_id": {"type": "string"},
            "master_id": {"type": "string"},
            "content_hash": {"type": "string"},
            **{f: _RELATED_TYPES.get(f, _STRING) for f in RELATED_FIELDS[stream]},
            "retired": {"type": "boolean"},
            "remote_id": _STRING,
        },
        "required": ["record_id", "master_id", "content_hash"],
    }
