"""The records tap-crmhub sends: golden records and related records as the target contract
describes them (docs/targets/target-crm.md, "Input contract"), each with its content hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.mapping.canonical import FIELDS
from crmhub.match.among import among, among_chunks
from crmhub.store.models import GoldenRecord, SourceRecord, Xref

CUSTOMER_FIELDS: tuple[str, ...] = tuple(sorted(FIELDS["customer"] - {"kind"}))
RELATED_ENTITIES: dict[str, str] = {
    "orders": "order",
    "interactions": "interaction",
    "tickets": "ticket",
}
RELATED_FIELDS: dict[str, tuple[str, ...]] = {
    stream: tuple(sorted(FIELDS[entity] - {"customer_key"}))
    for stream, entity in RELATED_ENTITIES.items()
}
# Fields that describe where a record stands in the CRM, not its content: not hashed.
_UNHASHED = frozenset({"content_hash", "remote_id", "version"})


def content_hash(record: Mapping[str, Any]) -> str:
    """A stable hash of what would be written to the CRM (key order does not matter)."""
    return _hash_body({k: v for k, v in record.items() if k not in _UNHASHED})


def _hash_body(body: Mapping[str, Any]) -> str:
    """The hash of a record that holds none of the unhashed fields."""
    raw = orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class LedgerEntry:
    """What a target last did with one record: the hash it accepted, or a failure."""

    content_hash: str | None
    status: str
    remote_id: str | None


def _survivor(master_id: str, redirects: Mapping[str, str]) -> str:
    """Follow merged-away masters to the one that survives (guarding against loops)."""
    seen = {master_id}
    while master_id in redirects:
        master_id = redirects[master_id]
        if master_id in seen:
            break
        seen.add(master_id)
    return master_id


def redirects_of(s: Session) -> dict[str, str]:
    """Merged-away master id -> the master it was merged into."""
    # A merged-away master has status "merged" (merges set both, recompute and undo clear
    # both): the status index finds the few among a million, where `merged_into` alone
    # read the whole table (0.75 s of a publish that had 10,000 records to check).
    rows = s.execute(
        select(GoldenRecord.master_id, GoldenRecord.merged_into).where(
            GoldenRecord.status == "merged", GoldenRecord.merged_into.is_not(None)
        )
    )
    return {loser: str(survivor) for loser, survivor in rows}


def customer_records(
    s: Session,
    master_ids: Sequence[str] | None = None,
    redirects: Mapping[str, str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Golden records as `customers` records (without remote_id), hashed, in the order of
    the master: every one, or those of ``master_ids``."""
    if redirects is None:
        redirects = redirects_of(s)
    columns = select(
        GoldenRecord.id,
        GoldenRecord.master_id,
        GoldenRecord.kind,
        GoldenRecord.data,
        GoldenRecord.version,
        GoldenRecord.status,
        GoldenRecord.merged_into,
    )
    # Core rows, not ORM rows: the ORM's per-row bookkeeping cost more than building the
    # record; the session's connection keeps the read in its transaction.
    conn = s.connection()
    rows: Iterable[Any]
    if master_ids is None:
        rows = conn.execute(columns.order_by(GoldenRecord.id))
    else:
        rows = sorted(
            (
                row
                for chunk in among_chunks(s, master_ids)
                for row in conn.execute(columns.where(among(s, GoldenRecord.master_id, chunk)))
            ),
            key=lambda row: row[0],
        )
    fields = CUSTOMER_FIELDS
    for _, master_id, kind, data, version, status, merged_into in rows:
        data = data or {}
        get = data.get
        organization = get("organization_master_id")
        # built without `version` first: that is exactly the hashed body (see content_hash)
        record: dict[str, Any] = {
            "master_id": master_id,
            "kind": kind or get("kind"),
            **{f: get(f) for f in fields},
            "organization_master_id": (
                _survivor(str(organization), redirects) if organization else None
            ),
            "merged_into": _survivor(merged_into, redirects) if merged_into else None,
            "retired": status == "retired",
        }
        record["content_hash"] = _hash_body(record)
        record["version"] = version
        yield record


def related_records(s: Session, stream: str) -> Iterator[dict[str, Any]]:
    """Source records of one related entity, re-keyed to their customer's surviving master.

    Records not linked to a customer (their customer key names no known customer) cannot
    have a parent in the CRM and are left out; `crmhub match` reports them as orphans.
    """
    entity = RELATED_ENTITIES[stream]
    fields = RELATED_FIELDS[stream]
    redirects = redirects_of(s)
    rows = s.connection().execute(
        select(
            SourceRecord.source,
            SourceRecord.stream,
            SourceRecord.source_key,
            SourceRecord.canonical,
            SourceRecord.deleted,
            Xref.master_id,
        )
        .join(Xref, Xref.source_record_id == SourceRecord.id)
        .where(SourceRecord.entity == entity, SourceRecord.status == "ok")
        .order_by(SourceRecord.id)
    )
    for source, source_stream, source_key, canonical, deleted, master_id in rows:
        canonical = canonical or {}
        record: dict[str, Any] = {
            "record_id": related_record_id(source, source_stream, source_key),
            "master_id": _survivor(master_id, redirects),
            **{f: canonical.get(f) for f in fields},
            "retired": bool(deleted),
        }
        record["content_hash"] = _hash_body(record)
        yield record


def related_record_id(source: str, stream: str, source_key: str) -> str:
    """The key of a related record in every target: ``source:stream:source_key``."""
    return f"{source}:{stream}:{source_key}"


def should_send(
    record: Mapping[str, Any], entry: LedgerEntry | None, *, only_changed: bool
) -> bool:
    """Send when asked for everything, when it failed last time, or when it changed.

    A retired or merged-away record the target never received has nothing to do in the
    CRM; it is still sent once so the target reports it (as a skip) and the ledger knows it.
    """
    if not only_changed or entry is None:
        return True
    if entry.status != "accepted":
        return True
    return bool(entry.content_hash != record["content_hash"])
