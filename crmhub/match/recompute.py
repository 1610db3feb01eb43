"""Recompute golden records from their members: used by matching and by steward actions."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from crmhub.errors import ConfigurationError
from crmhub.match.among import among, among_chunks
from crmhub.store.models import AuditEvent, GoldenRecord, SourceRecord, Xref
from crmhub.store.search_keys import write_search_keys
from crmhub.store.types import utcnow
from crmhub_dedupe.normalize import parse_person_name
from crmhub_dedupe.survive import SurvivorshipConfig, SurvivorshipConfigError, survive


def content_hash(values: Mapping[str, Any]) -> str:
    """A stable hash of golden values (what publish compares)."""
    return hashlib.blake2b(
        orjson.dumps(values, option=orjson.OPT_SORT_KEYS), digest_size=16
    ).hexdigest()


def member_rows(session: Session, master_ids: Iterable[str]) -> dict[str, list[Any]]:
    """Active customer source records per master id."""
    ids = list(master_ids)
    out: dict[str, list[Any]] = defaultdict(list)
    # Core rows through the session's connection: recompute flushes the session first.
    for chunk in among_chunks(session, ids):
        for row in session.connection().execute(
            select(
                Xref.master_id,
                SourceRecord.id,
                SourceRecord.source,
                SourceRecord.canonical,
                SourceRecord.last_seen,
            )
            .join(SourceRecord, SourceRecord.id == Xref.source_record_id)
            .where(
                among(session, Xref.master_id, chunk),
                SourceRecord.entity == "customer",
                SourceRecord.deleted.is_(False),
                SourceRecord.status == "ok",
            )
            .order_by(SourceRecord.id)
        ):
            out[row.master_id].append(row)
    return out


def survivorship_config(
    priorities: Mapping[str, int], settings: Mapping[str, Any] | None = None
) -> SurvivorshipConfig:
    """The project's survivorship rules; source priority defaults to the sources' order."""
    data = dict(settings or {})
    data.setdefault("source_priority", sorted(priorities, key=lambda n: (priorities[n], n)))
    try:
        return SurvivorshipConfig.from_dict(data)
    except (SurvivorshipConfigError, ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"matching.survivorship in crmhub.yml: {exc}",
            hint="see docs/matching/clusters-and-survivorship.md",
        ) from None


def engine_record(row: Any) -> dict[str, Any]:
    """A source record row as the engine takes it: canonical fields plus id, source, time.

    ``updated_at`` is the source's own timestamp when the mapping gave one, else when the
    hub last saw the record (survivorship's "most recent" needs one of them).
    """
    canonical = dict(row.canonical or {})
    canonical["record_id"] = str(row.id)
    canonical["source"] = row.source
    if not isinstance(canonical.get("updated_at"), str):
        seen: datetime = row.last_seen
        canonical["updated_at"] = seen.isoformat()
    return canonical


def _built(
    master_id: str,
    members: list[Any],
    overrides: Mapping[str, Any] | None,
    config: SurvivorshipConfig,
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Golden values, provenance and content hash of one master from its member rows."""
    built = survive(
        [engine_record(m) for m in members],
        [master_id] * len(members),
        config,
        overrides={master_id: dict(overrides)} if overrides else None,
    )[master_id]
    values = dict(built.values)
    provenance = built.provenance_dicts()
    complete_person_name(values, provenance)
    return values, provenance, content_hash(values)


_GOLDEN = cast(Table, GoldenRecord.__table__)
# Rebuilt and retired golden records are written with one executemany each (SET from the
# parameters' keys): through the ORM each of ten thousand objects cost attribute events and
# a unit-of-work entry before the same UPDATE.
_BY_ID = update(_GOLDEN).where(_GOLDEN.c.id == bindparam("golden_id"))


def recompute(
    session: Session,
    master_ids: Iterable[str],
    priorities: Mapping[str, int],
    *,
    actor: str = "matcher",
    run_id: int | None = None,
    config: SurvivorshipConfig | None = None,
) -> dict[str, int]:
    """Recompute the named golden records; one left without members is retired.

    Reads and writes the golden rows with Core statements (the caller's pending ORM changes,
    such as a steward's override or a merged-away master, are flushed first), then expires
    the session's copies of the rows it wrote, so an object the caller holds reloads them.
    """
    ids = sorted(set(master_ids))
    session.flush()
    counts = {"updated": 0, "retired": 0, "unchanged": 0}
    now = utcnow()
    rules = config or survivorship_config(priorities)
    written: set[int] = set()
    # Chunk by chunk (members, golden rows, rebuilt values, writes): a first full match
    # recomputes every golden record, and a million member rows with their rebuilt values and
    # provenance alive at once cost about 7 GiB. Chunks touch disjoint golden records, so the
    # rows written are the same as in one pass.
    for chunk in among_chunks(session, ids):
        written |= _recompute_chunk(session, chunk, counts, now, rules, actor, run_id)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, GoldenRecord) and obj.id in written:
            session.expire(obj)
    return counts


def _recompute_chunk(
    session: Session,
    ids: Sequence[str],
    counts: dict[str, int],
    now: datetime,
    rules: SurvivorshipConfig,
    actor: str,
    run_id: int | None,
) -> set[int]:
    """Recompute the golden records of ``ids`` (one chunk); the golden ids written."""
    members = member_rows(session, ids)
    goldens: dict[str, Any] = {
        g.master_id: g
        for g in session.connection().execute(
            select(
                GoldenRecord.id,
                GoldenRecord.master_id,
                GoldenRecord.overrides,
                GoldenRecord.content_hash,
                GoldenRecord.version,
                GoldenRecord.status,
            ).where(among(session, GoldenRecord.master_id, ids))
        )
    }
    rebuilt: list[dict[str, Any]] = []
    retired: list[dict[str, Any]] = []
    for master_id in ids:
        golden = goldens.get(master_id)
        if golden is None:
            continue
        rows = members.get(master_id, [])
        if not rows:
            if golden.status == "active":
                retired.append(
                    {
                        "golden_id": golden.id,
                        "status": "retired",
                        "version": golden.version + 1,
                        "updated_at": now,
                    }
                )
                counts["retired"] += 1
                session.add(
                    AuditEvent(
                        actor=actor,
                        action="retire",
                        master_id=master_id,
                        before={"status": "active"},
                        after={"status": "retired"},
                        run_id=run_id,
                    )
                )
            continue
        values, provenance, digest = _built(master_id, rows, golden.overrides, rules)
        if golden.content_hash == digest and golden.status == "active":
            counts["unchanged"] += 1
            continue
        counts["updated"] += 1
        rebuilt.append(
            {
                "golden_id": golden.id,
                "data": values,
                "provenance": provenance,
                "kind": values.get("kind"),
                "content_hash": digest,
                "version": (golden.version or 0) + 1,
                "status": "active",
                "merged_into": None,
                "updated_at": now,
            }
        )
    for params in (rebuilt, retired):
        for start in range(0, len(params), 5000):
            session.execute(_BY_ID, params[start : start + 5000])
    written = {p["golden_id"] for p in rebuilt} | {p["golden_id"] for p in retired}
    write_search_keys(session, [(p["golden_id"], p["data"]) for p in rebuilt])
    return written


def complete_person_name(values: dict[str, Any], provenance: dict[str, Any]) -> None:
    """Fill given/family name from ``full_name`` when no source had them separately.

    Legacy systems often keep one name field ("INGETRAUD BARTH"); CRMs need the parts. The
    engine's name parser finds prefix and particle; the parts keep the source's spelling
    (an all-capitals name is title-cased) and their provenance says they were derived.
    """
    full = values.get("full_name")
    if values.get("kind") == "organization" or not isinstance(full, str) or not full.strip():
        return
    if values.get("family_name"):
        return
    text = full.strip()
    if "," in text:  # "Family, Given"
        family_part, _, given_part = text.partition(",")
        text = f"{given_part.strip()} {family_part.strip()}"
    words = text.split()
    if text.isupper():
        words = [w.capitalize() for w in words]
    parsed = parse_person_name(full)
    prefix_words = len(parsed.prefix.split()) if parsed.prefix else 0
    particle_words = len(parsed.particle.split()) if parsed.particle else 0
    words = words[prefix_words:]
    if not words:
        return
    family = words[-1]
    particle = words[-1 - particle_words : -1] if particle_words else []
    given = words[: len(words) - 1 - len(particle)]
    derived = {"rule": "derived from full_name", "chosen": [{"value": full}]}
    values["family_name"] = family
    provenance["family_name"] = derived
    if given and not values.get("given_name"):
        values["given_name"] = " ".join(given)
        provenance["given_name"] = derived
    if particle and not values.get("name_particle"):
        values["name_particle"] = " ".join(particle).lower()
        provenance["name_particle"] = derived
