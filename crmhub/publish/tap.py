"""tap-crmhub: the customer master as a standard Singer tap.

Streams `customers` (golden records) and `orders`, `interactions`, `tickets` (source records
re-keyed to their customer's surviving master). With ``only_changed`` (the default) a record
whose content hash equals the one ``target`` last accepted is not sent; records that target
failed to accept last time (the retry list) always are. The hub runs this as a process
(`crmhub publish`); any Singer target can read it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib import RecordMessage
from sqlalchemy import inspect

from crmhub.errors import ConfigurationError, CrmhubError
from crmhub.publish.changes import ChangedCustomers, changed_customers
from crmhub.publish.ledger import load_ledger
from crmhub.publish.records import (
    RELATED_ENTITIES,
    LedgerEntry,
    customer_records,
    redirects_of,
    related_records,
    should_send,
)
from crmhub.publish.schemas import customers_schema, related_schema
from crmhub.store.engine import Master, display_url


class PipeWriter(MsgSpecWriter):
    """msgspec Singer writer that sends RECORD lines in blocks of about 64 KiB.

    A write and flush per record was a system call per record (stdout is unbuffered under
    PYTHONUNBUFFERED, as the hub's environment often is); the target reads lines, not
    writes. Every other message (SCHEMA, STATE, ...) first sends the records before it, so
    a STATE never overtakes its records. Records still held when the tap dies were never
    read by the target, so the hub sends them again next run.
    """

    _BLOCK = 1 << 16

    def __init__(self) -> None:
        super().__init__()
        self._pending = bytearray()

    def flush_records(self) -> None:
        """Send the records held so far."""
        if self._pending:
            out = sys.stdout.buffer
            out.write(self._pending)
            out.flush()
            self._pending.clear()

    def write_message(self, message: Any) -> None:
        """Write one message (a record through the block, anything else at once)."""
        if isinstance(message, RecordMessage):
            self._hold(message.to_dict())
            return
        self.flush_records()
        out = sys.stdout.buffer
        out.write(self.format_message(message))
        out.flush()

    def write_record(self, stream: str, record: dict[str, Any], version: int | None) -> None:
        """Write one RECORD message built straight from the record (no message object)."""
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = utc_now()
        self._hold(message)

    def _hold(self, message: dict[str, Any]) -> None:
        pending = self._pending
        encoder.encode_into(message, pending, len(pending))
        pending.extend(b"\n")
        if len(pending) >= self._BLOCK:
            self.flush_records()


class MasterStream(Stream):
    """A stream read from the master, filtered by the target's publish ledger."""

    # Records are built from typed master rows already; conforming nested values again
    # per record would cost more than the rest of the tap.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    key_field: ClassVar[str] = ""

    def __init__(self, tap: TapCrmhub, name: str, schema: dict[str, Any]) -> None:
        super().__init__(tap, schema=schema, name=name)
        self.primary_keys = [self.key_field]
        self._crmhub_tap = tap
        self.sent = 0
        self.unchanged = 0
        self._plain: bool | None = None

    def _plain_records(self) -> bool:
        """Whether records go out exactly as built: no stream map, no flattening and no
        property deselected in the catalog (then singer-sdk's per-record selection walk and
        message objects change nothing and are skipped)."""
        if self._plain is None:
            maps = self.stream_maps
            self._plain = (
                len(maps) == 1
                and type(maps[0]) is SameRecordTransform
                and maps[0].stream_alias == self.name
                and not maps[0].flattening_enabled
                and all(self.mask.values())
                and isinstance(self._tap.message_writer, PipeWriter)
            )
        return self._plain

    def _process_record(
        self,
        record: dict[str, Any],
        child_context: Mapping[str, Any] | None = None,
        partition_context: Mapping[str, Any] | None = None,
    ) -> None:
        # without child streams or partitions singer-sdk's step only copied each record
        if self.child_streams or partition_context:
            super()._process_record(record, child_context, partition_context)

    def _write_record_message(self, record: dict[str, Any]) -> None:
        if not self._plain_records():
            super()._write_record_message(record)
            return
        writer = self._tap.message_writer
        assert isinstance(writer, PipeWriter)  # noqa: S101 - checked by _plain_records
        writer.write_record(self.name, record, self._stream_version)
        self.state_manager.is_flushed = False

    def build(self, s: Any, plan: ChangedCustomers | None) -> Iterable[dict[str, Any]]:
        """The records to compare with the ledger (with their content hash): every record of
        the stream, or those ``plan`` names."""
        raise NotImplementedError

    def plan(self, s: Any, target: str, since: datetime) -> ChangedCustomers | None:
        """The records that may have changed since ``since``; None: check every record."""
        return None

    def _changed(
        self,
        records: Iterable[dict[str, Any]],
        ledger: dict[str, LedgerEntry],
        *,
        only_changed: bool,
    ) -> Iterator[dict[str, Any]]:
        key_field = self.key_field
        for record in records:
            entry = ledger.get(record[key_field])
            if not should_send(record, entry, only_changed=only_changed):
                self.unchanged += 1
                continue
            record["remote_id"] = entry.remote_id if entry is not None else None
            self.sent += 1
            yield record

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        """Records to send: changed since the target last accepted them, or failed."""
        tap = self._crmhub_tap
        target = str(self.config.get("target") or "")
        only_changed = bool(self.config.get("only_changed", True)) and bool(target)
        since_text = self.config.get("changed_since")
        master = tap.master()
        with master.session() as s:
            plan = None
            if only_changed and since_text:
                since = _since(str(since_text))
                plan = self.plan(s, target, since)
                if plan is None:
                    self.logger.info(
                        "%s: checking every record (changes since %s cannot be told apart)",
                        self.name,
                        since.isoformat(),
                    )
                else:
                    self.logger.info(
                        "%s: checking %d of %d records (changed since %s, retry list, "
                        "records whose survivor or organization moved)",
                        self.name,
                        len(plan.master_ids),
                        plan.golden_total,
                        since.isoformat(),
                    )
            if plan is not None:
                ledger = plan.ledger
            else:
                ledger = load_ledger(s, target, self.name) if target else {}
            # the ledger lives as long as the stream: frozen, the collector's full passes
            # stop rescanning it (they were most of a publish with nothing to send); what
            # is frozen becomes collectable again when the stream ends
            frozen = bool(ledger)
            if frozen:
                gc.freeze()
            try:
                yield from self._changed(self.build(s, plan), ledger, only_changed=only_changed)
            finally:
                if frozen:
                    gc.unfreeze()
        self.logger.info(
            "%s: %d records to send, %d unchanged since target %r last accepted them",
            self.name,
            self.sent,
            self.unchanged,
            target,
        )


def _since(text: str) -> datetime:
    try:
        since = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"changed_since {text!r} in the tap-crmhub config is not an ISO 8601 date-time",
            hint="give e.g. 2026-12-06T10:00:00+00:00, or leave it out to check every record",
        ) from None
    return since if since.tzinfo is not None else since.replace(tzinfo=UTC)


class CustomersStream(MasterStream):
    """Golden records, key `master_id`."""

    key_field = "master_id"

    def build(self, s: Any, plan: ChangedCustomers | None) -> Iterable[dict[str, Any]]:
        """Golden records, merged-away and retired ones included: all, or the plan's."""
        if plan is None:
            return customer_records(s)
        return customer_records(s, plan.master_ids, plan.redirects)

    def plan(self, s: Any, target: str, since: datetime) -> ChangedCustomers | None:
        """Golden records stamped since ``since``, the retry list, and their dependents."""
        return changed_customers(s, target, since, redirects_of(s))


class RelatedStream(MasterStream):
    """Orders, interactions or tickets, key `record_id` (``source:stream:source_key``)."""

    key_field = "record_id"

    def build(self, s: Any, plan: ChangedCustomers | None) -> Iterable[dict[str, Any]]:
        """Every linked source record of this entity (related streams are always checked
        whole: their records change with ingests, matches and merges alike)."""
        return related_records(s, self.name)


class TapCrmhub(Tap):
    """The crmhub master as a Singer tap."""

    name = "tap-crmhub"
    # msgspec serializes records several times faster than the default JSON writer.
    message_writer_class = PipeWriter
    config_jsonschema = th.PropertiesList(
        th.Property(
            "master_url",
            th.StringType,
            required=True,
            secret=True,
            description="SQLAlchemy URL of the crmhub master (may hold a password)",
        ),
        th.Property(
            "target",
            th.StringType,
            description=(
                "name of the target whose publish ledger decides what changed since the last "
                "push (the name under `targets:` in crmhub.yml); empty: send everything"
            ),
        ),
        th.Property(
            "changed_since",
            th.DateTimeType,
            description=(
                "with `only_changed`: the start of `target`'s last successful publish (less a "
                "margin); only golden records stamped since, the retry list and the records "
                "that depend on them are checked (empty: every record is checked)"
            ),
        ),
        th.Property(
            "only_changed",
            th.BooleanType,
            default=True,
            description=(
                "send only records whose content changed since `target` last accepted them, "
                "plus the records it failed to accept (false: send everything)"
            ),
        ),
    ).to_dict()

    _master: Master | None = None

    def master(self) -> Master:
        """The master, opened once (read only: the tap never writes, never migrates)."""
        if self._master is None:
            url = str(self.config["master_url"])
            master = Master(url)
            if not inspect(master.engine).has_table("publish_record"):
                raise ConfigurationError(
                    f"the master {display_url(url)} has no publish_record table "
                    "(its schema is older than this crmhub)",
                    hint="run `crmhub db upgrade` (or any crmhub command) to migrate it",
                )
            self._master = master
        return self._master

    def discover_streams(self) -> list[Stream]:
        """`customers` first (targets push customers before their history), then the rest."""
        streams: list[Stream] = [CustomersStream(self, "customers", customers_schema())]
        streams += [RelatedStream(self, name, related_schema(name)) for name in RELATED_ENTITIES]
        return streams


def main() -> None:
    """Console script entry point: ``tap-crmhub --config CONFIG``; our errors as one line."""
    try:
        TapCrmhub.cli()
    except CrmhubError as exc:
        sys.stderr.write(f"tap-crmhub: {exc.render()}\n")
        sys.exit(exc.exit_code)
