"""Whether a target has anything to receive, without starting ``tap-crmhub | target``.

Starting the two plugin processes costs seconds even when nothing changed, so sync asks the
master first. A target needs a publish when any of these holds since the start of its last
successful (non-dry) publish run: a golden record changed (steward decisions included), an
ingest run wrote new or changed records (related streams such as orders change without
their customer), a record was marked deleted; or when it has records on its retry list, or
was never published. Anything unclear means "publish": skipping is only an optimisation.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crmhub.publish.changes import last_publish, not_accepted_count
from crmhub.store import Master
from crmhub.store.models import GoldenRecord, Run, SourceRecord, Xref


def _wrote_records(counts: dict[str, Any]) -> bool:
    return bool(counts.get("new") or counts.get("changed") or counts.get("deleted"))


def publish_reason(master: Master, target: str) -> str | None:
    """Why ``target`` needs a publish now, or None when it has nothing to receive."""
    last = last_publish(master, target)
    if last is None:
        return "never published"
    with master.session() as s:
        failed = not_accepted_count(s, target)
        if failed:
            return f"{failed:,} records on the retry list"
        changed = s.scalar(
            select(func.count())
            .select_from(GoldenRecord)
            .where(GoldenRecord.updated_at >= last.started_at)
        )
        if changed:
            return f"{changed:,} golden records changed"
        for run in s.scalars(select(Run).where(Run.id > last.id, Run.kind.in_(("ingest", "sync")))):
            counts = run.counts or {}
            if run.kind == "ingest" and _wrote_records(counts):
                return f"ingest run {run.id} wrote records"
            if run.kind == "sync":
                for step in counts.get("steps", []):
                    if step.get("step") == "deletions" and step.get("counts", {}).get("deleted"):
                        return f"sync run {run.id} marked records deleted"
    return None


def match_reason(master: Master) -> str | None:
    """Why the match stage has work, or None (it loads the whole master, so an idle run
    matters): customer records pending, deleted ones still in a golden record, or an ingest
    run that wrote records (orders and other related records) since the last match."""
    with master.session() as s:
        pending = s.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .where(
                SourceRecord.entity == "customer",
                SourceRecord.match_state == "pending",
                SourceRecord.deleted.is_(False),
            )
        )
        if pending:
            return f"{pending:,} new or changed customer records"
        deleted = s.scalar(
            select(func.count())
            .select_from(SourceRecord)
            .join(Xref, Xref.source_record_id == SourceRecord.id)
            .where(SourceRecord.deleted.is_(True))
        )
        if deleted:
            return f"{deleted:,} deleted records still in golden records"
        last = s.scalar(
            select(func.max(Run.id)).where(Run.kind == "match", Run.status == "succeeded")
        )
        if last is None:
            return "never matched"
        for run in s.scalars(select(Run).where(Run.id > last, Run.kind == "ingest")):
            if _wrote_records(run.counts or {}):
                return f"ingest run {run.id} wrote records"
    return None
