"""Cross-reference and golden-record exports for migration teams (CSV or JSON lines)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO, Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.store.models import GoldenRecord, SourceRecord, Xref

XREF_COLUMNS = (
    "source",
    "stream",
    "source_key",
    "entity",
    "master_id",
    "method",
    "score",
    "matched_at",
)
GOLDEN_COLUMNS = (
    "master_id",
    "status",
    "merged_into",
    "version",
    "kind",
    "created_at",
    "updated_at",
)


def xref_rows(session: Session, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
    """Every source record with the master id it belongs to, ordered by source and key."""
    query = (
        select(
            SourceRecord.source,
            SourceRecord.stream,
            SourceRecord.source_key,
            SourceRecord.entity,
            Xref.master_id,
            Xref.method,
            Xref.score,
            Xref.matched_at,
        )
        .join(Xref, Xref.source_record_id == SourceRecord.id)
        .order_by(SourceRecord.source, SourceRecord.stream, SourceRecord.source_key)
        .execution_options(yield_per=5000)
    )
    if not include_deleted:
        query = query.where(SourceRecord.deleted.is_(False))
    for row in session.execute(query):
        yield {
            "source": row.source,
            "stream": row.stream,
            "source_key": row.source_key,
            "entity": row.entity,
            "master_id": row.master_id,
            "method": row.method,
            "score": row.score,
            "matched_at": row.matched_at.isoformat(timespec="seconds"),
        }


def golden_rows(session: Session, *, status: str | None = "active") -> Iterator[dict[str, Any]]:
    """Golden records with their surviving values (and, for merged ones, their redirect)."""
    query = select(GoldenRecord).order_by(GoldenRecord.master_id).execution_options(yield_per=2000)
    if status:
        query = query.where(GoldenRecord.status == status)
    for g in session.scalars(query):
        yield {
            "master_id": g.master_id,
            "status": g.status,
            "merged_into": g.merged_into,
            "version": g.version,
            "kind": g.kind,
            "created_at": g.created_at.isoformat(timespec="seconds"),
            "updated_at": g.updated_at.isoformat(timespec="seconds"),
            "data": g.data,
        }


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    """Golden values flattened for a CSV: lists joined with ' | ', first address spread out."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "addresses" and isinstance(value, list):
            first = value[0] if value else {}
            for part, v in first.items():
                out[f"address_{part}"] = v
            out["addresses_count"] = len(value)
        elif key == "extras" and isinstance(value, dict):
            for part, v in value.items():
                out[f"extra_{part}"] = v
        elif key in ("created_at", "updated_at"):
            out[f"source_{key}"] = value  # the golden record's own timestamps keep their name
        elif isinstance(value, list):
            out[key] = " | ".join(str(v) for v in value)
        else:
            out[key] = value
    return out


GOLDEN_DATA_COLUMNS = (
    "given_name", "name_particle", "family_name", "full_name", "organization_name",
    "legal_form", "emails", "phones", "address_street", "address_house_number",
    "address_postal_code", "address_city", "address_region", "address_country",
    "addresses_count", "birth_date", "tax_ids", "website", "language",
    "consent_email", "consent_phone", "segment", "tags", "source_created_at",
    "source_updated_at",
)  # fmt: skip


def write(rows: Iterator[dict[str, Any]], out: IO[str], fmt: str, columns: tuple[str, ...]) -> int:
    """Write rows as CSV (fixed columns, flattened golden data) or JSON lines; return count."""
    count = 0
    if fmt == "jsonl":
        for row in rows:
            out.write(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
            count += 1
        return count
    has_data = "master_id" in columns and columns == GOLDEN_COLUMNS
    header = list(columns) + (list(GOLDEN_DATA_COLUMNS) if has_data else [])
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if has_data:
            row = {**row, **_flat(row.pop("data") or {})}
        writer.writerow(row)
        count += 1
    return count
