"""Builds the Singer input tap-crmhub sends (the input contract), for tests and benchmarks."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

STRING = {"type": ["string", "null"]}
CUSTOMER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "master_id": {"type": "string"},
        "version": {"type": ["integer", "null"]},
        "content_hash": {"type": ["string", "null"]},
        "kind": {"type": ["string", "null"]},
        **{
            f: STRING
            for f in (
                "given_name",
                "family_name",
                "name_particle",
                "name_prefix",
                "name_suffix",
                "full_name",
                "organization_name",
                "legal_form",
                "birth_date",
                "website",
                "language",
                "segment",
                "created_at",
                "updated_at",
                "organization_master_id",
                "merged_into",
                "remote_id",
            )
        },
        "emails": {"type": ["array", "null"], "items": {"type": "string"}},
        "phones": {"type": ["array", "null"], "items": {"type": "string"}},
        "tax_ids": {"type": ["array", "null"], "items": {"type": "string"}},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "addresses": {"type": ["array", "null"], "items": {"type": "object"}},
        "consent_email": {"type": ["boolean", "null"]},
        "consent_phone": {"type": ["boolean", "null"]},
        "retired": {"type": ["boolean", "null"]},
    },
}
RELATED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "record_id": {"type": "string"},
        "master_id": {"type": "string"},
        "content_hash": {"type": ["string", "null"]},
        "remote_id": STRING,
        "retired": {"type": ["boolean", "null"]},
        **{
            f: STRING
            for f in (
                "order_number",
                "order_date",
                "status",
                "currency",
                "total_amount",
                "channel",
                "occurred_at",
                "subject",
                "body",
                "direction",
                "ticket_number",
                "opened_at",
                "closed_at",
                "priority",
            )
        },
        "lines": {"type": ["array", "null"], "items": {"type": "object"}},
    },
}


def content_hash(record: dict[str, Any]) -> str:
    """Hash of the record's content, as the hub computes it (any stable hash will do)."""
    body = {k: v for k, v in record.items() if k not in ("content_hash", "remote_id")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]


def person(i: int, **over: Any) -> dict[str, Any]:
    """A person golden record."""
    names = [
        ("Jan Willem", "Berg", "van den"),
        ("Priya", "Sharma", None),
        ("Jürgen", "Müller", None),
        ("Emily", "Clarke", None),
        ("राहुल", "शर्मा", None),
    ]
    given, family, particle = names[i % len(names)]
    rec: dict[str, Any] = {
        "master_id": f"M{i:07d}",
        "version": 1,
        "kind": "person",
        "given_name": given,
        "family_name": family,
        "name_particle": particle,
        "emails": [f"person{i}@example.org"],
        "phones": [f"+3161234{i % 10000:04d}"],
        "addresses": [
            {
                "street": "Keizersgracht",
                "house_number": str(i % 300 + 1),
                "postal_code": "1015 CJ",
                "city": "Amsterdam",
                "country": "NL",
                "type": "home",
            }
        ],
        "language": ["nl", "en", "de", "hi"][i % 4],
        "consent_email": i % 2 == 0,
        "segment": "retail",
        "tags": ["vip"] if i % 7 == 0 else [],
        "created_at": "2024-01-02T03:04:05Z",
        "updated_at": "2025-06-01T00:00:00Z",
        "organization_master_id": None,
        "merged_into": None,
        "retired": False,
        "remote_id": None,
    }
    rec.update(over)
    rec["content_hash"] = over.get("content_hash") or content_hash(rec)
    return rec


def organization(i: int, **over: Any) -> dict[str, Any]:
    """An organization golden record."""
    forms = ["B.V.", "GmbH", "Pvt. Ltd.", "Ltd"]
    rec: dict[str, Any] = {
        "master_id": f"O{i:07d}",
        "version": 1,
        "kind": "organization",
        "organization_name": f"Acme {i} {forms[i % 4]}",
        "legal_form": forms[i % 4],
        "emails": [f"info{i}@acme.example"],
        "phones": ["+31201234567"],
        "addresses": [
            {
                "street": "Damrak",
                "house_number": "1",
                "postal_code": "1012 LG",
                "city": "Amsterdam",
                "country": "NL",
                "type": "billing",
            }
        ],
        "website": f"https://acme{i}.example",
        "tax_ids": ["NL123456789B01"],
        "created_at": "2024-01-02T03:04:05Z",
        "updated_at": "2025-06-01T00:00:00Z",
        "organization_master_id": None,
        "merged_into": None,
        "retired": False,
        "remote_id": None,
    }
    rec.update(over)
    rec["content_hash"] = over.get("content_hash") or content_hash(rec)
    return rec


def ticket(i: int, master_id: str, **over: Any) -> dict[str, Any]:
    """A ticket of a customer."""
    rec = {
        "record_id": f"T{i:07d}",
        "master_id": master_id,
        "ticket_number": f"TK-{i}",
        "opened_at": "2025-01-01T10:00:00Z",
        "status": "open",
        "priority": "high",
        "subject": f"Printer {i} is on fire",
        "remote_id": None,
        "retired": False,
    }
    rec.update(over)
    rec["content_hash"] = over.get("content_hash") or content_hash(rec)
    return rec


def order(i: int, master_id: str, **over: Any) -> dict[str, Any]:
    """An order of a customer."""
    rec = {
        "record_id": f"R{i:07d}",
        "master_id": master_id,
        "order_number": f"SO-{i}",
        "order_date": "2025-02-03",
        "status": "paid",
        "currency": "EUR",
        "total_amount": f"{i % 1000}.50",
        "lines": [{"sku": "A1", "qty": 2}],
        "remote_id": None,
        "retired": False,
    }
    rec.update(over)
    rec["content_hash"] = over.get("content_hash") or content_hash(rec)
    return rec


def messages(streams: dict[str, Iterable[dict[str, Any]]], state_every: int = 0) -> Iterator[str]:
    """Singer lines: SCHEMA then RECORDs per stream, STATE every ``state_every`` records."""
    n = 0
    for stream, records in streams.items():
        schema = CUSTOMER_SCHEMA if stream == "customers" else RELATED_SCHEMA
        key = "master_id" if stream == "customers" else "record_id"
        yield json.dumps(
            {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": [key]}
        )
        for rec in records:
            n += 1
            yield json.dumps({"type": "RECORD", "stream": stream, "record": rec})
            if state_every and n % state_every == 0:
                yield json.dumps({"type": "STATE", "value": {"bookmarks": {"n": n}}})
    yield json.dumps({"type": "STATE", "value": {"bookmarks": {"n": n, "done": True}}})


def singer_text(streams: dict[str, Iterable[dict[str, Any]]], state_every: int = 0) -> str:
    """All Singer lines as one text."""
    return "\n".join(messages(streams, state_every)) + "\n"


def run_target(config: dict[str, Any], text: str) -> tuple[list[dict[str, Any]], int]:
    """Run target-crm in-process on Singer text; return (emitted STATE values, exit code)."""
    import contextlib

    from target_crm.target import TargetCRM

    out = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out):
        try:
            TargetCRM(config=config, validate_config=True).run(io.StringIO(text))
        except SystemExit as exc:
            code = 1 if exc.code not in (0, None) else 0
    states = [
        json.loads(line)["value"] if line.startswith('{"type"') else json.loads(line)
        for line in out.getvalue().splitlines()
        if line.strip()
    ]
    return states, code


def read_results(path: Any) -> list[dict[str, Any]]:
    """Lines of a results file."""
    from pathlib import Path

    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
