"""Re-apply the current mappings to what the master already holds (``crmhub ingest --remap``).

A fixed mapping must fix the records it quarantined, also for incremental taps that will
never send those records again. The stored raw payloads are mapped anew and written through
the same batch writer as an ingest: a record whose canonical form changes is queued for
matching again, a quarantined record that now maps leaves quarantine (its quarantine row is
marked resolved), one that still fails keeps its reasons.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select

from crmhub.config import Project
from crmhub.errors import UnknownSourceError
from crmhub.mapping import CompiledMapping, load_mapping
from crmhub.store import Master
from crmhub.store.models import SourceRecord
from crmhub.store.source_records import BatchCounts, IncomingRecord, write_batch
from crmhub.store.types import utcnow

BATCH = 5000


def remap_source(project: Project, master: Master, source: str, run_id: int) -> dict[str, Any]:
    """Re-map every stored record of ``source``'s mapped streams; return counts per stream."""
    config = project.config.sources.get(source)
    if config is None:
        raise UnknownSourceError(f"unknown source {source!r}")
    out: dict[str, Any] = {}
    for stream, spec in config.streams.items():
        if spec.mapping is None:
            continue
        loaded = load_mapping(
            spec.mapping, base=project.root, name=f"sources.{source}.streams.{stream}"
        )
        mapping = CompiledMapping(loaded, [])
        counts = BatchCounts()
        last_id = 0
        while True:
            with master.session() as s:
                rows = s.execute(
                    select(
                        SourceRecord.id,
                        SourceRecord.source_key,
                        SourceRecord.payload,
                        SourceRecord.content_hash,
                    )
                    .where(
                        SourceRecord.source == source,
                        SourceRecord.stream == stream,
                        SourceRecord.deleted.is_(False),
                        SourceRecord.id > last_id,
                    )
                    .order_by(SourceRecord.id)
                    .limit(BATCH)
                ).all()
                if not rows:
                    break
                last_id = rows[-1].id
                batch = []
                for row in rows:
                    payload = row.payload if isinstance(row.payload, dict) else {}
                    canonical, reasons = mapping.apply(payload)
                    text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
                    if canonical is None:
                        batch.append(
                            IncomingRecord(
                                row.source_key,
                                text,
                                row.content_hash,
                                mapping.entity,
                                None,
                                "quarantined",
                                orjson.dumps(reasons).decode() if reasons else None,
                            )
                        )
                    else:
                        encoded = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS).decode()
                        batch.append(
                            IncomingRecord(
                                row.source_key,
                                text,
                                row.content_hash,
                                mapping.entity,
                                encoded,
                                "ok",
                                None,
                            )
                        )
                counts.add(
                    write_batch(
                        s.connection(),
                        source=source,
                        stream=stream,
                        records=batch,
                        run_id=run_id,
                        mapping_version=mapping.version,
                        now=utcnow(),
                    )
                )
        out[stream] = counts.as_dict()
    return out
