"""target-crm: a Singer target that pushes golden records to a CRM, one profile per CRM."""

from __future__ import annotations

import gc
import json
import sys
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from singer_sdk import typing as th
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.target_base import Target

from target_crm.engine import Engine
from target_crm.errors import ConfigurationError, TargetCRMError
from target_crm.mapping import default_mapping_path, load_mapping
from target_crm.profiles import make_profile
from target_crm.reader import FastSingerReader
from target_crm.settings import DELETE_POLICIES, PROFILES, Settings
from target_crm.sink import CRMSink

_S = th.StringType
_I = th.IntegerType
_B = th.BooleanType
_N = th.NumberType
#: the record metadata columns singer-sdk removes from each incoming record
_SDC_COLUMNS = frozenset(
    {
        "_sdc_extracted_at",
        "_sdc_received_at",
        "_sdc_batched_at",
        "_sdc_deleted_at",
        "_sdc_sequence",
        "_sdc_table_version",
        "_sdc_sync_started_at",
    }
)


def _p(name: str, kind: Any, text: str, **kw: Any) -> th.Property[Any]:
    return th.Property(name, kind, description=text, **kw)


CONFIG_SCHEMA = th.PropertiesList(
    _p("profile", _S(allowed_values=list(PROFILES)), "Which CRM to push to.", required=True),
    _p("mapping_path", _S, "Mapping file; default mappings/crm/<profile or layout>.yml."),
    _p("results_path", _S, "Results file (JSONL, appended): one line per record."),
    _p("error_file", _S, "Error file for failed records (.csv or .jsonl)."),
    _p("report_path", _S, "Run report (JSON): counts and samples per stream and action."),
    _p("dry_run", _B, "Only read from the CRM; report what would be done.", default=False),
    _p(
        "delete_policy",
        _S(allowed_values=list(DELETE_POLICIES)),
        "What a retired record becomes in the CRM.",
        default="archive",
    ),
    _p("batch_size", _I, "Records per batch handed to the profile."),
    _p("max_retries", _I, "Retries of a throttled / failed / timed-out request.", default=5),
    _p("backoff_base_seconds", _N, "First backoff delay (doubles each retry).", default=0.5),
    _p("backoff_max_seconds", _N, "Longest backoff delay.", default=30.0),
    _p("request_timeout_seconds", _N, "HTTP timeout per request.", default=30.0),
    _p("sample_size", _I, "Records per action kept as a sample in the report.", default=5),
    # HTTP CRMs
    _p("access_token", _S, "OAuth access token / private app token.", secret=True),
    _p("base_url", _S, "API root (HubSpot: https://api.hubapi.com; Dynamics: org URL)."),
    _p("instance_url", _S, "Salesforce instance URL (https://MyDomain.my.salesforce.com)."),
    _p("api_version", _S, "Salesforce (62.0) or Dataverse (9.2) API version."),
    _p("requests_per_10s", _I, "HubSpot: request cap per rolling 10 s.", default=100),
    _p("max_concurrency", _I, "HubSpot: batch requests in flight at once.", default=4),
    _p("requests_per_5min", _I, "Dynamics: request cap per rolling 5 min.", default=6000),
    _p(
        "bulk_threshold",
        _I,
        "Salesforce: records of one object per batch from which Bulk "
        "API 2.0 is used instead of sObject Collections.",
        default=2000,
    ),
    _p("bulk_poll_seconds", _N, "Salesforce: Bulk job poll interval.", default=2.0),
    _p("person_accounts", _B, "Salesforce: persons as Person Accounts.", default=False),
    # Tryton
    _p("tryton_url", _S, "Tryton server URL (http://host:8000)."),
    _p("database", _S, "Tryton database name."),
    _p("username", _S, "Tryton login."),
    _p("password", _S, "Tryton password.", secret=True),
    # files and SQL
    _p(
        "layout",
        _S,
        "csv-import: salesforce-data-import-wizard, hubspot-import or dynamics-import.",
    ),
    _p("output_dir", _S, "csv-import: folder the import files are written to."),
    _p("sqlalchemy_url", _S, "sql: SQLAlchemy database URL.", secret=True),
    _p("table_prefix", _S, "sql: prefix of the table names.", default=""),
).to_dict()


class TargetCRM(Target):
    """Singer target that publishes golden records and their history to a CRM."""

    name = "target-crm"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = CRMSink
    message_reader_class = FastSingerReader

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._engine: Engine | None = None
        self._finished = False
        self.record_seq = 0
        self._states: list[tuple[int, dict[str, Any]]] = []
        self._pipeline: ThreadPoolExecutor | None = None
        self._inflight: deque[tuple[int, Future[Any]]] = deque()
        self._first_failed_seq: int | None = None
        self.state_held = False
        #: stream -> its sink when its records take the short path (None: the SDK's path)
        self._plain: dict[str, CRMSink | None] = {}
        self._frozen = False
        #: whether the garbage collector ran automatically before ``run`` paused it
        self._collector_was_on: bool | None = None
        super().__init__(*args, **kwargs)
        # sinks drain one after another: customers must reach the CRM before their history
        self.max_parallelism = 1

    # -- engine --------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The run's engine, built (mapping loaded, profile opened) on first use."""
        if self._engine is None:
            if self._finished:
                raise ConfigurationError("target-crm run already finished")
            settings = Settings.from_config(self.config)
            name = (
                settings.get("layout", "salesforce-data-import-wizard")
                if settings.profile == "csv-import"
                else settings.profile
            )
            path = settings.mapping_path or default_mapping_path(
                f"csv-import/{name}" if settings.profile == "csv-import" else name
            )
            mapping = load_mapping(path, settings.profile)
            profile = make_profile(settings, mapping, self.logger)
            mapping.check_fields(profile.known_fields)
            profile.open()
            self._engine = Engine(settings, mapping, profile, self.logger, self._failed)
        return self._engine

    def _failed(self, seq: int) -> None:
        if self._first_failed_seq is None or seq < self._first_failed_seq:
            self._first_failed_seq = seq

    def submit_push(self, stream: str, records: list[tuple[int, dict[str, Any]]]) -> None:
        """Push a batch; HTTP profiles push in a background worker (one, so order holds)
        while the next batch is read and mapped, at most two batches ahead."""
        engine = self.engine
        if not engine.profile.pipelined:
            engine.push(stream, records)
            return
        if self._pipeline is None:
            self._pipeline = ThreadPoolExecutor(1, thread_name_prefix="target-crm-push")
        self._inflight.append((records[0][0], self._pipeline.submit(engine.push, stream, records)))
        self._reap(keep=2)

    def _reap(self, keep: int) -> None:
        """Collect finished pushes (re-raising their errors); wait while more than ``keep``
        are in flight."""
        while self._inflight and (self._inflight[0][1].done() or len(self._inflight) > keep):
            _, future = self._inflight.popleft()
            future.result()

    def settle_memory(self) -> None:
        """After a batch (its records released): collect what it left behind, then freeze
        what survives (the ledger, the parent index, the profile's caches) so later
        collections skip it.

        The collector's automatic passes are off while the run reads (see ``run``): they
        walked the batch being read, and without the freeze every long-lived object of the
        run again and again, a quarter to a third of the target's CPU time. This one pass
        per batch sees only what the batch left alive, and no cycle of a batch outlives it.
        """
        gc.collect()
        gc.freeze()
        self._frozen = True

    def drain_customers(self) -> None:
        """Push pending customers before related records that need them as parents."""
        if self.sink_exists("customers"):
            self.drain_one(self.get_sink("customers"))

    # -- state gating: only advance past records the CRM accepted -----------------------

    def _process_record_message(self, message_dict: dict[str, Any]) -> None:
        self.record_seq += 1
        stream = message_dict.get("stream")
        record = message_dict.get("record")
        sink = self._plain.get(stream) if type(stream) is str else None
        if sink is None and type(stream) is str and stream not in self._plain:
            sink = self._plain_sink(stream)
        if sink is None or type(record) is not dict:
            # anything unusual (stream maps, flattening, a record without schema or a bad
            # line) takes singer-sdk's own path, with its checks and messages
            super()._process_record_message(message_dict)
            return
        # the common case: the SDK's steps without its per-record copies and checks that
        # cannot fail here (validation stays on when validate_records is set)
        if not _SDC_COLUMNS.isdisjoint(record):
            sink._remove_sdc_metadata_from_record(record)
        if sink._validator is not None:
            # without a validator this only parsed timestamps, which CRMSink leaves as text
            sink._validate_and_parse(record)
        for key_property in sink._key_properties:
            if key_property not in record:
                sink._singer_validate_message(record)  # raises, naming the key
        sink.tally_record_read()
        sink.process_record(record, sink._get_context(record))
        if sink.current_size >= sink.max_size:
            self.drain_one(sink)
        self._handle_max_record_age()

    def _plain_sink(self, stream: str) -> CRMSink | None:
        """The sink of ``stream`` when its records reach it unchanged (no stream map, no
        flattening, no record metadata added), else None; asked once per stream."""
        maps = self.mapper.stream_maps.get(stream)
        sink = self._sinks_active.get(stream)
        plain = (
            isinstance(sink, CRMSink)
            and maps
            and sink.stream_name == stream
            and not sink.include_sdc_metadata_properties
            and len(maps) == 1
            and type(maps[0]) is SameRecordTransform
            and maps[0].stream_alias == stream
            and not self.config.get("flattening_enabled")
        )
        found = sink if plain and isinstance(sink, CRMSink) else None
        self._plain[stream] = found
        return found

    def _process_schema_message(self, message_dict: dict[str, Any]) -> None:
        self._plain.clear()  # a new schema may bring new stream maps or a new sink
        super()._process_schema_message(message_dict)

    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        value = message_dict.get("value")
        if isinstance(value, dict):
            self._states.append((self.record_seq, value))
        super()._process_state_message(message_dict)

    def emit_safe_state(self) -> None:
        """Emit the newest STATE whose records all reached the CRM and were accepted.

        A state that arrived after record n is safe once every record up to n has been
        pushed (none still waiting in a sink) and none of them failed.
        """
        if self.config.get("dry_run") or not self._states:
            return  # a dry run accepted nothing
        self._reap(keep=len(self._inflight))
        pending = [seq for seq, _ in self._inflight] + [
            s.first_pending_seq
            for s in self._sinks_active.values()
            if isinstance(s, CRMSink) and s.first_pending_seq is not None
        ]
        safe = min(pending) - 1 if pending else self.record_seq
        if self._first_failed_seq is not None:
            if not self.state_held:
                self.logger.warning(
                    "state not advanced past record %d: it failed; the failed records are in "
                    "the error file and are retried on the next run",
                    self._first_failed_seq,
                )
            self.state_held = True
            safe = min(safe, self._first_failed_seq - 1)
        ready = [i for i, (seq, _) in enumerate(self._states) if seq <= safe]
        if not ready:
            return
        _, state = self._states[ready[-1]]
        del self._states[: ready[-1] + 1]
        super()._write_state_message(state)

    def _write_state_message(self, state: dict[str, Any]) -> None:
        # singer-sdk calls this after a full drain with the latest state; ours is gated
        self.emit_safe_state()

    # -- run -----------------------------------------------------------------------------

    def run(self, file_input: IO[str] | None = None) -> None:
        """Read Singer messages; turn our errors into one clear line and exit code 1."""
        self._collector_was_on = gc.isenabled()
        gc.disable()  # collected once per batch instead (settle_memory)
        try:
            _ = self.engine  # load mapping and check credentials before reading input
            self.listen(file_input)
        except TargetCRMError as exc:
            self._finish()
            msg = "; ".join(exc.problems) if isinstance(exc, ConfigurationError) else str(exc)
            self.logger.error("target-crm stopped: %s", msg)
            raise SystemExit(f"target-crm: {msg}") from None
        finally:
            self._thaw()

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """CLI entry: like singer-sdk's, but through ``run`` for clear errors."""
        if about:
            super().invoke(about=about, about_format=about_format, config=config)
            return
        cls.print_version(print_fn=cls.logger.info)
        target = cls(
            config=config.config if config is not None else None,
            validate_config=True,
            parse_env_config=bool(config.parse_env) if config is not None else False,
        )
        target.run(file_input)

    def process_endofpipe(self) -> None:
        """Drain everything, then write the report and close the profile."""
        super().process_endofpipe()
        self._reap(keep=0)
        self.emit_safe_state()
        self._finish()

    def _thaw(self) -> None:
        """Make the run's frozen objects ordinary again and let the collector run as it did
        before the run (matters when run in-process)."""
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        if self._collector_was_on:
            gc.enable()
        self._collector_was_on = None

    def _finish(self) -> None:
        self._thaw()
        engine = self._engine
        if engine is None or self._finished:
            return
        if self._pipeline is not None:
            # a stopped run: let the batch in flight finish (its results are written)
            self._pipeline.shutdown(wait=True, cancel_futures=True)
        self._finished = True
        engine.close()
        engine.profile.close()
        report = engine.report.as_dict(
            engine.errors.path, engine.results.path or engine.settings.results_path
        )
        report["state_held"] = self.state_held
        if engine.settings.report_path is not None:
            path = Path(engine.settings.report_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        self.logger.info("target-crm %s: %s", engine.profile.name, engine.report.summary_line())
        if engine.errors.count:
            self.logger.warning(
                "%d record(s) failed; see %s", engine.errors.count, engine.errors.path
            )


if __name__ == "__main__":
    TargetCRM.cli(sys.argv[1:])
