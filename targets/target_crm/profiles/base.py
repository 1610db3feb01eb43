"""What every CRM profile provides, and the work items the engine hands it."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from target_crm.errors import RecordError
from target_crm.mapping import CRMMapping, ObjectMapping, RowBuilder
from target_crm.results import Outcome
from target_crm.settings import Settings

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


_DISPOSITIONS = {"upsert": "live", "merge": "merged"}


@dataclass(slots=True)
class WorkItem:
    """One record on its way to the CRM: what to do, where, with which payload."""

    stream: str
    key: str
    record: dict[str, Any]
    intent: str  # upsert | merge | archive | delete
    om: ObjectMapping
    payload: dict[str, Any] = field(default_factory=dict)
    #: the row a row-writing profile (SQL on SQLite, CSV) builds instead of ``payload``
    row: tuple[Any, ...] | None = None
    remote_id: str | None = None
    content_hash: str | None = None
    parent_key: str | None = None
    survivor_key: str | None = None
    seq: int = 0

    @property
    def disposition(self) -> str:
        """live, merged or retired: the state the CRM record ends in."""
        return _DISPOSITIONS.get(self.intent, "retired")

    def outcome(
        self, action: str, remote_id: str | None = None, error: str | None = None
    ) -> Outcome:
        """The outcome of this item."""
        return Outcome(
            stream=self.stream,
            key=self.key,
            action=action,
            remote_id=remote_id if remote_id is not None else self.remote_id,
            content_hash=self.content_hash,
            error=error,
            object=self.om.object,
            payload=self.payload if self.row is None else None,
            disposition=self.disposition,
            seq=self.seq,
            item=self,
        )

    def sample_payload(self) -> dict[str, Any]:
        """The payload as a dict, for the few records a run report shows (row-writing
        profiles build no dict per record)."""
        if self.payload or self.row is None:
            return self.payload
        try:
            return self.om.apply_all(self.record, self.key)
        except RecordError:
            return {}


@dataclass(slots=True)
class ParentRef:
    """Where a customer lives in the CRM."""

    object: str
    remote_id: str | None


class ParentIndex:
    """master id -> CRM object and remote id, from earlier results and this run."""

    def __init__(self) -> None:
        self._refs: dict[str, ParentRef | None] = {}
        #: where customers of earlier runs are (the ledger), asked once per customer
        self.fallback: Callable[[str], ParentRef | None] | None = None

    def put(self, master_id: str, object_name: str | None, remote_id: str | None) -> None:
        """Remember where a customer is."""
        if object_name:
            self._refs[master_id] = ParentRef(object_name, remote_id)

    def get(self, master_id: str) -> ParentRef | None:
        """Where a customer is, if known."""
        try:
            return self._refs[master_id]
        except KeyError:
            pass
        ref = self.fallback(master_id) if self.fallback is not None else None
        return self._refs.setdefault(master_id, ref)

    def forget(self, master_id: str) -> None:
        """Drop a customer (merged away or deleted): not where earlier runs put it either."""
        self._refs[master_id] = None


class Profile(ABC):
    """A CRM profile: how records reach one kind of CRM."""

    name: str = ""
    #: whether the CRM has a merge operation (else: archive + re-parent)
    has_merge: bool = False
    #: whether the CRM gives records ids of its own (else the key is the id)
    remote_ids: bool = True
    default_batch_size: int = 1000
    #: push in a background worker while the next batch is read (network-bound CRMs)
    pipelined: bool = False

    def __init__(self, settings: Settings, mapping: CRMMapping, logger: logging.Logger) -> None:
        self.settings = settings
        self.mapping = mapping
        self.logger = logger
        self.parents = ParentIndex()
        #: customer kind -> mapping entry to use instead (Salesforce Person Accounts)
        self.kind_alias: dict[str, str] = {}

    def known_fields(self, object_name: str) -> set[str] | None:
        """Fields the profile knows on an object; None when any name is fine."""
        return None

    def row_builder(self, om: ObjectMapping) -> RowBuilder | None:
        """The function ``(record, key) -> row`` that builds the row an upsert of a record
        of ``om`` writes, straight from the record (raising RecordError like the payload
        would); None when the profile works from the payload dict instead. Row-writing
        profiles skip the dict per record; the engine asks once per batch."""
        return None

    def open(self) -> None:  # noqa: B027
        """Check credentials and prepare (read calls only)."""

    def close(self) -> None:  # noqa: B027
        """Release connections and files."""

    def customer_objects(self) -> list[str]:
        """The CRM objects customers are written to."""
        sm = self.mapping.streams.get("customers")
        return sorted({om.object for om in sm.objects.values()}) if sm else []

    @abstractmethod
    def lookup(self, object_name: str, external_id: str, keys: list[str]) -> dict[str, str]:
        """Find existing records by external id: key -> remote id (a read call)."""

    @abstractmethod
    def upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Create or update records (all of one stream); one outcome per item."""

    @abstractmethod
    def retire(self, items: list[WorkItem]) -> list[Outcome]:
        """Archive or delete records (intent says which); one outcome per item."""

    def merge(self, item: WorkItem, loser: str, survivor: ParentRef) -> Outcome:
        """Merge ``loser`` into ``survivor`` in the CRM (profiles with ``has_merge``)."""
        raise NotImplementedError(f"{self.name} has no merge operation")

    def reparent(self, item: WorkItem, loser: str | None, survivor: ParentRef) -> bool:
        """Point records related to ``loser`` at ``survivor`` (profiles without merge).

        Returns True when this also archived the loser (nothing left to do).
        """
        return False

    def resolve_parent(self, master_id: str) -> ParentRef | None:
        """Where a customer is: from the index, else by looking it up in the CRM."""
        ref = self.parents.get(master_id)
        if ref is not None and (ref.remote_id or not self.remote_ids):
            return ref
        sm = self.mapping.streams.get("customers")
        if sm is None:
            return None
        for om in {o.object: o for o in sm.objects.values()}.values():
            found = self.lookup(om.object, om.external_id, [master_id])
            if master_id in found:
                self.parents.put(master_id, om.object, found[master_id])
                return self.parents.get(master_id)
        return None

    def plan_upsert(self, items: list[WorkItem]) -> list[Outcome]:
        """Dry run: would each item be created or updated? Uses read calls only."""
        out: list[Outcome] = []
        by_object: dict[tuple[str, str], list[WorkItem]] = {}
        for it in items:
            if it.remote_id:
                out.append(it.outcome("update"))
            else:
                by_object.setdefault((it.om.object, it.om.external_id), []).append(it)
        for (obj, ext), group in by_object.items():
            found: dict[str, str] = {}
            for part in chunks(group, 100):
                found.update(self.lookup(obj, ext, [i.key for i in part]))
            for it in group:
                rid = found.get(it.key)
                out.append(it.outcome("update" if rid else "create", remote_id=rid))
        return out
