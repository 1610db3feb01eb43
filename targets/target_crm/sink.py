"""The Singer sink: collects records of one stream and hands each batch to the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink

if TYPE_CHECKING:
    from target_crm.target import TargetCRM


class CRMSink(BatchSink):
    """One stream's records, pushed in batches by the profile."""

    def __init__(self, target: TargetCRM, *args: Any, **kwargs: Any) -> None:
        self._crm_target = target
        #: arrival number of the oldest record not yet pushed (None: nothing pending)
        self.first_pending_seq: int | None = None
        self._max_size: int | None = None
        super().__init__(target, *args, **kwargs)

    @property
    def max_size(self) -> int:
        """Records per drain: the configured batch size, else the profile's default."""
        if self._max_size is None:
            engine = self._crm_target.engine
            self._max_size = engine.settings.batch_size or engine.profile.default_batch_size
        return self._max_size

    def _parse_timestamps_in_record(
        self, record: dict[str, Any], schema: dict[str, Any], treatment: Any
    ) -> None:
        """Keep timestamps as the ISO strings the hub sent: CRMs want text, and parsing
        every record against the schema costs more than the rest of the target."""

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Keep the record with its arrival number (for state gating)."""
        if self.first_pending_seq is None:
            self.first_pending_seq = self._crm_target.record_seq
        context.setdefault("records", []).append((self._crm_target.record_seq, record))

    def process_batch(self, context: dict[str, Any]) -> None:
        """Push one batch; related streams first drain pending customers (their parents)."""
        records = context.pop("records", None) or []
        if records:
            if self.stream_name != "customers":
                self._crm_target.drain_customers()
            self._crm_target.submit_push(self.stream_name, records)
        # the batch is pushed (or handed to the push worker): its records die here, before
        # the collection in settle_memory, which then walks only what outlives the batch
        del records
        # only now are these records done (a nested customers drain must not count them)
        self.first_pending_seq = None
        self._crm_target.emit_safe_state()
        self._crm_target.settle_memory()
