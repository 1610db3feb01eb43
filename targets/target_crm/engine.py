"""The publish engine: one batch of Singer records in, CRM outcomes out.

Per batch: decide what each record needs (upsert, merge, archive, delete, or nothing),
skip what the CRM already holds (same content hash, known remote id), map the rest, hand
them to the profile (or, in a dry run, only look them up), then write results, errors and
counts. Records are never dropped: each gets exactly one outcome.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from target_crm.errors import BatchError, ProtocolError, RecordError
from target_crm.mapping import CRMMapping, RowBuilder
from target_crm.profiles.base import ParentRef, Profile, WorkItem
from target_crm.results import (
    ACCEPTED,
    ErrorWriter,
    Ledger,
    Outcome,
    ResultsWriter,
    RunReport,
    now_iso,
)
from target_crm.settings import Settings

#: "not looked up yet" in the per-batch row builder cache (None is an answer there)
_UNSET: Any = object()


class Engine:
    """Holds the run-wide pieces (profile, ledger, writers) and pushes batches."""

    def __init__(
        self,
        settings: Settings,
        mapping: CRMMapping,
        profile: Profile,
        logger: logging.Logger,
        on_failure: Callable[[int], None],
    ) -> None:
        self.settings = settings
        self.mapping = mapping
        self.profile = profile
        self.logger = logger
        self.on_failure = on_failure
        self._ledger: Ledger | None = None
        self._written_before_ledger = 0
        # a dry run changes nothing, so it records nothing the hub would take as accepted
        self.results = ResultsWriter(None if settings.dry_run else settings.results_path)
        self.errors = ErrorWriter(None if settings.dry_run else settings.error_file)
        self.report = RunReport(profile.name, settings.dry_run, settings.sample_size)

    @property
    def ledger(self) -> Ledger:
        """What earlier runs pushed (their results file), read when the first batch comes:
        a run that receives no record (nothing changed since the last publish) never reads
        it. The customers it holds are where related records find their parents."""
        if self._ledger is None:
            ledger = Ledger.from_results(self.settings.results_path)
            self._written_before_ledger = self.results.written
            self.profile.parents.fallback = lambda key: _live_customer(ledger, key)
            self._ledger = ledger
        return self._ledger

    # -- building work items -------------------------------------------------------------

    def _intent(self, stream: str, record: dict[str, Any]) -> str | None:
        """upsert, merge, archive or delete; None for a retired record the policy ignores."""
        if stream == "customers" and record.get("merged_into"):
            return "merge"
        if record.get("retired"):
            policy = self.settings.delete_policy
            return None if policy == "ignore" else policy
        return "upsert"

    def build(
        self, stream: str, records: list[tuple[int, dict[str, Any]]]
    ) -> tuple[list[WorkItem], list[Outcome], dict[str, str | None]]:
        """Work items to send, outcomes already decided (skips, bad records), error fields."""
        sm = self.mapping.streams.get(stream)
        items: list[WorkItem] = []
        done: list[Outcome] = []
        fields: dict[str, str | None] = {}
        if sm is None:
            for seq, rec in records:
                done.append(
                    Outcome(
                        stream,
                        str(rec.get(self._key_field(stream)) or ""),
                        "error",
                        rec.get("remote_id"),
                        rec.get("content_hash"),
                        f"profile {self.profile.name} has no mapping for stream {stream!r} in "
                        f"{self.mapping.path}; add one (the record is kept for the next run)",
                        seq=seq,
                    )
                )
            return items, done, fields
        # looked up once per batch, not per record
        profile = self.profile
        remote_ids = profile.remote_ids
        kind_alias = profile.kind_alias
        dry_run = self.settings.dry_run
        intent_of = self._intent
        key_field = self._key_field(stream)
        ledger = self.ledger
        ledger.prefetch(stream, [k for _, rec in records if type(k := rec.get(key_field)) is str])
        entry_of = ledger.get
        parent_field = "organization_master_id" if stream == "customers" else "master_id"
        only = next(iter(sm.objects.values())) if len(sm.objects) == 1 else None
        #: id of an object mapping -> the profile's row builder for it (None: a payload)
        builders: dict[int, RowBuilder | None] = {}
        for seq, rec in records:
            key = rec.get(key_field)
            if type(key) is not str:
                key = str(key or "")
            chash = rec.get("content_hash")
            if not key:
                done.append(
                    Outcome(
                        stream,
                        key,
                        "error",
                        None,
                        chash,
                        f"record in stream {stream} has no {key_field}; the hub must send one",
                        seq=seq,
                    )
                )
                continue
            intent = intent_of(stream, rec)
            entry = entry_of(stream, key)
            remote = rec.get("remote_id") or (entry.remote_id if entry else None)
            if not remote_ids and entry is not None:
                remote = key  # the key is the id in files and SQL tables
            try:
                om = only if only is not None else sm.for_record(rec, kind_alias)
            except RecordError as exc:
                done.append(Outcome(stream, key, "error", remote, chash, str(exc), seq=seq))
                fields[key] = exc.field
                continue
            item = WorkItem(
                stream,
                key,
                rec,
                intent or "upsert",
                om,
                remote_id=str(remote) if remote else None,
                content_hash=chash,
                seq=seq,
                parent_key=rec.get(parent_field),
                survivor_key=rec.get("merged_into"),
            )
            if intent is None:
                done.append(item.outcome("skip"))  # retired, and the policy is ignore
                continue
            if (
                entry is not None
                and chash is not None
                and entry.content_hash == chash
                and entry.disposition == item.disposition
                and (remote or not remote_ids)
            ):
                # the CRM already holds exactly this version: no write call at all
                done.append(item.outcome("skip"))
                continue
            if intent == "upsert":
                try:
                    if dry_run:
                        item.payload = self._payload(item)
                    else:
                        build = builders.get(id(om), _UNSET)
                        if build is _UNSET:
                            build = builders[id(om)] = profile.row_builder(om)
                        if build is None:
                            item.payload = self._payload(item)
                        else:
                            item.row = build(rec, key)
                except RecordError as exc:
                    done.append(item.outcome("error", error=str(exc)))
                    fields[key] = exc.field
                    continue
            items.append(item)
        return items, done, fields

    @staticmethod
    def _key_field(stream: str) -> str:
        return "master_id" if stream == "customers" else "record_id"

    def _payload(self, item: WorkItem) -> dict[str, Any]:
        if self.profile.remote_ids:
            return item.om.apply(item.record, item.key)
        return item.om.apply_all(item.record, item.key)

    # -- pushing -------------------------------------------------------------------------

    def push(self, stream: str, records: list[tuple[int, dict[str, Any]]]) -> list[Outcome]:
        """Push one batch of one stream; write results, errors and counts."""
        items, outcomes, fields = self.build(stream, records)
        upserts = [i for i in items if i.intent == "upsert"]
        if stream == "customers":
            # companies first, so persons in the same batch can point at them
            upserts.sort(key=lambda i: 0 if i.om.name == "organization" else 1)
        merges = [i for i in items if i.intent == "merge"]
        retires = [i for i in items if i.intent in ("archive", "delete")]
        outcomes += self._guard(upserts, self._upsert)
        for item in merges:
            outcomes += self._guard([item], self._merge)
        outcomes += self._guard(retires, self._retire)
        self._record(outcomes, fields)
        return outcomes

    def _guard(
        self, items: list[WorkItem], step: Callable[[list[WorkItem]], list[Outcome]]
    ) -> list[Outcome]:
        """Run a step; a failed request turns into error outcomes for its records."""
        if not items:
            return []
        try:
            return step(items)
        except (BatchError, ProtocolError) as exc:
            return [i.outcome("error", error=str(exc)) for i in items]

    def _upsert(self, items: list[WorkItem]) -> list[Outcome]:
        if self.settings.dry_run:
            return self.profile.plan_upsert(items)
        return self.profile.upsert(items)

    def _retire(self, items: list[WorkItem]) -> list[Outcome]:
        known: list[WorkItem] = []
        out: list[Outcome] = []
        for it in items:
            if not it.remote_id and self.profile.remote_ids:
                found = self.profile.lookup(it.om.object, it.om.external_id, [it.key])
                it.remote_id = found.get(it.key)
            if not it.remote_id and self.profile.remote_ids:
                out.append(it.outcome("skip"))  # never reached the CRM: nothing to retire
            else:
                known.append(it)
        if self.settings.dry_run:
            return out + [it.outcome(it.intent) for it in known]
        return out + self.profile.retire(known) if known else out

    def _merge(self, items: list[WorkItem]) -> list[Outcome]:
        item = items[0]
        assert item.survivor_key is not None  # noqa: S101 - set for every merge item
        loser = item.remote_id
        if not loser and self.profile.remote_ids:
            loser = self.profile.lookup(item.om.object, item.om.external_id, [item.key]).get(
                item.key
            )
        elif not self.profile.remote_ids:
            loser = item.key
        survivor = self.profile.resolve_parent(item.survivor_key)
        if survivor is None or (self.profile.remote_ids and not survivor.remote_id):
            return [
                item.outcome(
                    "error",
                    error=f"cannot merge {item.key} into {item.survivor_key}: the surviving "
                    f"record is not in {self.profile.name} yet; it is retried on the next run",
                )
            ]
        if not loser:
            # the merged-away record never reached the CRM: nothing to merge, nothing lost
            self.profile.parents.put(item.key, survivor.object, survivor.remote_id)
            return [item.outcome("skip", remote_id=survivor.remote_id)]
        item.remote_id = loser
        if self.settings.dry_run:
            return [item.outcome("merge" if self.profile.has_merge else "archive")]
        if self.profile.has_merge:
            outcome = self.profile.merge(item, loser, survivor)
        else:
            archived = self.profile.reparent(item, loser, survivor)
            item.intent = "archive"
            outcome = item.outcome("archive") if archived else self.profile.retire([item])[0]
            item.intent = "merge"
            outcome.disposition = "merged"
        if outcome.action in ACCEPTED:
            self.profile.parents.put(item.key, survivor.object, survivor.remote_id)
        return [outcome]

    def _record(self, outcomes: list[Outcome], fields: dict[str, str | None]) -> None:
        # one results line per outcome, written to the results file
        at = now_iso()
        lines = [o.line(at) for o in outcomes]
        if not self.settings.dry_run:
            put = self.profile.parents.put
            for o in outcomes:
                if o.stream == "customers" and o.action in ("create", "update"):
                    put(o.key, o.object, o.remote_id)
            self.ledger.record_outcomes(outcomes)  # errors change nothing it knows
        for o in outcomes:
            if o.action == "error":
                self.on_failure(o.seq)
                self.logger.warning("record %s/%s failed: %s", o.stream, o.key, _mask(o.error))
        self.results.write_lines(lines)
        self.errors.write(outcomes, fields)
        self.report.add(outcomes)

    def close(self) -> None:
        """Close the writers, then the ledger (its index learns this run's records)."""
        self.results.close()
        self.errors.close()
        if self._ledger is not None:
            self._ledger.close(self.results.written - self._written_before_ledger)


def _live_customer(ledger: Ledger, key: str) -> ParentRef | None:
    """Where an earlier run put a customer that is still live in the CRM (this run's
    customers are put into the parent index as they are pushed)."""
    entry = ledger.earlier("customers", key)
    if entry is None or entry.disposition != "live" or not entry.object:
        return None
    return ParentRef(entry.object, entry.remote_id)


def _mask(text: str | None) -> str:
    from target_crm.results import mask_pii

    return mask_pii(text or "")


__all__ = ["Engine", "ParentRef"]
