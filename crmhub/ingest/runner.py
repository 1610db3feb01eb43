"""``crmhub ingest``: run a source's tap, stream its Singer output into ``source_record``.

The hot path never uses singer-sdk's target machinery: lines are parsed with orjson,
records buffered per stream and written in bounded batches (see store/source_records.py).
A STATE message is saved in the same transaction as the records that preceded it, so the
saved state never runs ahead of what is committed; a crash re-sends at most the records
after the last saved state, and the content hash turns those into no-ops.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import select

from crmhub.config import Project
from crmhub.config.model import SourceConfig
from crmhub.errors import (
    ConfigurationError,
    FatalError,
    SingerProtocolError,
    TapFailedError,
    UnknownSourceError,
)
from crmhub.heap import reuse_freed_memory
from crmhub.ingest.plugin import (
    CatalogPipe,
    PluginFiles,
    discover,
    resolve_executable,
    select_streams,
    tail,
)
from crmhub.ingest.singer import batch_records, parse_line
from crmhub.ingest.writer import (
    BatchWriter,
    Committed,
    EncodedBatch,
    ProcessWriter,
    WorkItem,
    write_item,
)
from crmhub.mapping import CompiledMapping, LoadedMapping, load_mapping
from crmhub.store import Master
from crmhub.store.models import State
from crmhub.store.source_records import BatchCounts

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, float], None]
_dumps = orjson.dumps
_SORT = orjson.OPT_SORT_KEYS
_SORT_LINE = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE

# Records after which the writing moves from a thread to a child process (from the first
# full batch with the default batch size). Starting one costs about half a second of CPU, so
# small ingests (tests, the demo) never pay for it; a thread that wrote a few big batches
# first would leave its memory (rows, SQLite page cache) behind in this process.
# CRMHUB_INGEST_PROCESS_AFTER overrides it: 0 = always, -1 = never.
PROCESS_AFTER = 20_000


def _process_after() -> int:
    value = os.environ.get("CRMHUB_INGEST_PROCESS_AFTER", "").strip()
    try:
        return int(value) if value else PROCESS_AFTER
    except ValueError:
        raise ConfigurationError(
            f"CRMHUB_INGEST_PROCESS_AFTER={value!r} is not a whole number",
            hint="set it to a record count, 0 (always) or -1 (never), or unset it",
        ) from None


@dataclass
class StreamSummary:
    """Counts of one stream."""

    records: int = 0
    counts: BatchCounts = field(default_factory=BatchCounts)
    mapping: str | None = None


@dataclass
class IngestSummary:
    """What one source's ingest did."""

    source: str
    records: int = 0
    seconds: float = 0.0
    streams: dict[str, StreamSummary] = field(default_factory=dict)
    state_saved: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Counts for the run row and ``--json``."""
        total = BatchCounts()
        for s in self.streams.values():
            total.add(s.counts)
        return {
            "source": self.source,
            "records": self.records,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records / self.seconds) if self.seconds else None,
            **total.as_dict(),
            "streams": {
                name: {"records": s.records, **s.counts.as_dict()}
                for name, s in self.streams.items()
            },
            "state_saved": self.state_saved,
            "warnings": self.warnings,
        }


class _Stream:
    """Per-stream buffer and the function that turns records into rows for the writer."""

    def __init__(self, name: str, key_properties: list[str], mapping: CompiledMapping | None):
        self.name = name
        self.mapping = mapping
        self.key_fields = mapping.key_fields if mapping else list(key_properties)
        self.buffer: list[Any] = []
        self.summary = StreamSummary(mapping=mapping.name if mapping else None)

    def encode(self, records: Iterable[Any]) -> EncodedBatch:
        keys: list[str] = []
        # The JSON texts are appended to one growing buffer, not kept as one bytes object
        # each until a join: orjson's output is allocated far larger than it ends up, so
        # keeping 20,000 of them alive left every one on a fresh page (a page fault per
        # record and text; 2 µs a record where a dumps costs 0.1-0.3).
        payloads = bytearray()
        canonicals = bytearray()
        statuses: list[str] = []
        reasons_of: list[str | None] = []  # "" for none (see EncodedBatch)
        key_fields = self.key_fields
        single = key_fields[0] if len(key_fields) == 1 else None
        mapping = self.mapping
        blake = hashlib.blake2b
        apply = mapping.apply_function if mapping else None
        dumps = _dumps
        add_key, add_payload = keys.append, payloads.extend
        add_canonical, add_status, add_reasons = (
            canonicals.extend,
            statuses.append,
            reasons_of.append,
        )
        for record in records:
            if record.__class__ is not dict and not isinstance(record, dict):
                raise SingerProtocolError(
                    f"stream {self.name!r}: a RECORD's `record` is not an object", stream=self.name
                )
            payload = dumps(record, option=_SORT_LINE)  # the JSON text and its line end
            # The content hash is computed by the writer (EncodedBatch.rows); here only a
            # record without a usable key needs it, as its key (of the text alone).
            problems: list[dict[str, Any]] | None = None
            if single is not None:
                value = record.get(single)
                if value.__class__ is str:
                    key = value or None
                elif value.__class__ is int:
                    key = str(value)
                else:
                    key = None if value is None or value == "" else str(value)
            elif key_fields:
                values = [record.get(k) for k in key_fields]
                key = None if any(v is None for v in values) else "|".join(map(str, values))
            else:
                # no key at all: identical content is the same record
                key = blake(payload[:-1], digest_size=16).hexdigest()
            if key is None:
                key = "#" + blake(payload[:-1], digest_size=16).hexdigest()
                problems = [
                    {
                        "code": "missing_key",
                        "field": ",".join(key_fields),
                        "message": f"the record has no value for its key {key_fields}",
                    }
                ]
            add_key(key)
            add_payload(payload)
            if apply is None:
                add_canonical(b"\n")
                if problems:
                    add_status("quarantined")
                    add_reasons(_text(problems))
                else:
                    add_status("unmapped")
                    add_reasons("")
                continue
            canonical, reasons = apply(record)
            if problems:
                reasons = problems + reasons
                canonical = None
            if canonical is None:
                add_canonical(b"\n")
                add_status("quarantined")
                add_reasons(_text(reasons))
            else:
                add_canonical(dumps(canonical, option=_SORT_LINE))
                add_status("ok")
                add_reasons("")
        # Without the last newline: lines as if joined.
        del payloads[-1:], canonicals[-1:]
        return EncodedBatch(
            mapping.entity if mapping else None,
            keys,
            payloads,
            canonicals,
            statuses,
            reasons_of,
        )


def _text(reasons: list[dict[str, Any]]) -> str | None:
    return _dumps(reasons).decode() if reasons else None


class SourceIngest:
    """Reads one tap's output and writes it into the master."""

    def __init__(
        self,
        project: Project,
        master: Master,
        source_name: str,
        run_id: int,
        *,
        progress: ProgressFn | None = None,
    ) -> None:
        if source_name not in project.config.sources:
            known = ", ".join(sorted(project.config.sources)) or "none"
            raise UnknownSourceError(
                f"unknown source {source_name!r} (sources in {project.file.name}: {known})",
                hint="check the name, or add the source under `sources:` in crmhub.yml",
            )
        self.project = project
        self.master = master
        self.name = source_name
        self.source: SourceConfig = project.config.sources[source_name]
        self.run_id = run_id
        self.progress = progress
        self.batch_size = project.config.master.batch_size
        self.summary = IngestSummary(source=source_name)
        self.mappings: dict[str, LoadedMapping] = {}
        for stream, spec in self.source.streams.items():
            if spec.mapping is not None:
                self.mappings[stream] = load_mapping(
                    spec.mapping, base=project.root, name=f"sources.{source_name}.streams.{stream}"
                )
        self.streams: dict[str, _Stream] = {}
        self.pending_state: Any = None
        self.pending_count = 0
        self.last_flush = time.monotonic()
        self.writer: BatchWriter | ProcessWriter = BatchWriter(self._write)
        self.submitted = 0
        self._fresh: dict[str, bool] = {}  # see write_item
        self.process_after = _process_after() if _shareable(master) else -1

    # --- tap process ------------------------------------------------------------------

    def run(self) -> IngestSummary:
        """Run the tap to the end; raise with a clear message when anything breaks."""
        what = f"source {self.name!r}"
        command = resolve_executable(self.source.tap, what=what)
        logs = self.project.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"run-{self.run_id}-{self.name}.log"
        files = PluginFiles(self.project.state_dir / "tmp")
        try:
            args = [*command, "--config", str(files.write("config.json", self.source.config))]
            state = self._load_state()
            if state is not None:
                args += ["--state", str(files.write("state.json", state))]
            # Discovery and the tap's start overlap: the tap waits for its catalog on a
            # named pipe while discovery runs (see CatalogPipe).
            pipe = (
                CatalogPipe(files.folder)
                if self.source.catalog is None
                and self.source.discover
                and self.source.overlap_discovery
                and CatalogPipe.supported()
                else None
            )
            if pipe is not None:
                args += [self.source.catalog_flag, str(pipe.path)]
            else:
                catalog = self._catalog(command, files, log_path, what)
                if catalog is not None:
                    args += [self.source.catalog_flag, str(files.write("catalog.json", catalog))]
            started = time.monotonic()
            with log_path.open("ab") as stderr:
                proc = subprocess.Popen(  # noqa: S603 - the command comes from the project file
                    args,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    stdin=subprocess.DEVNULL,
                    cwd=self.project.root,  # relative paths in a tap's config: the project's
                    bufsize=1 << 20,
                )
                stdout = proc.stdout
                if stdout is None:  # pragma: no cover - stdout=PIPE always gives one
                    raise RuntimeError("tap process has no stdout")
                _grow_pipe(stdout)
                try:
                    if pipe is not None:
                        catalog = self._catalog(command, files, log_path, what)
                        pipe.serve(catalog or {"streams": []}, proc)
                    self.consume(stdout)
                except BaseException:
                    proc.kill()
                    proc.wait()
                    raise
                finally:
                    stdout.close()
                    if pipe is not None:
                        pipe.close()
                code = proc.wait()
            self.summary.seconds = time.monotonic() - started
            if code != 0:
                how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                raise TapFailedError(
                    f"{what}: the tap {how} after {self.summary.records:,} records; "
                    f"what came before its last STATE is committed.\n{tail(log_path)}",
                    hint=f"full log: {log_path}; fix the tap and re-run (nothing is duplicated)",
                )
            return self.summary
        finally:
            files.cleanup()

    def _catalog(
        self, command: list[str], files: PluginFiles, log_path: Path, what: str
    ) -> dict[str, Any] | None:
        if self.source.catalog:
            catalog: dict[str, Any] = orjson.loads(
                self.project.resolve(self.source.catalog).read_bytes()
            )
        elif self.source.discover:
            cfg = files.write("discover-config.json", self.source.config)
            catalog = discover(command, cfg, log_path, what=what, cwd=self.project.root)
        else:
            return None
        catalog, chosen = select_streams(catalog, set(self.source.streams))
        missing = sorted(set(self.source.streams) - set(chosen))
        if missing:
            available = sorted(
                e.get("tap_stream_id") or e.get("stream") for e in catalog["streams"]
            )
            raise FatalError(
                f"{what}: the tap has no stream(s) {', '.join(missing)} "
                f"(its streams: {', '.join(available) or 'none'})",
                hint="fix the stream names under sources.<name>.streams in crmhub.yml",
            )
        return catalog

    # --- messages ---------------------------------------------------------------------

    def consume(self, lines: IO[bytes] | Iterable[bytes]) -> IngestSummary:
        """Process Singer lines; usable without a process (tests, replays)."""
        streams = self.streams
        last_stream: str | None = None
        line_number = 0
        loads = orjson.loads
        batch = self.batch_size
        reuse_freed_memory()
        # Every record is a few fresh dicts and lists and none forms a cycle; left on, the
        # collector would walk the buffered batches over and over. It runs once per batch
        # instead (flush), over what was created since the start only (freeze), to free the
        # cycles a database session leaves behind.
        collecting = gc.isenabled()
        gc.disable()
        gc.freeze()
        try:
            for line_number, line in enumerate(lines, 1):
                try:
                    message = loads(line)
                    kind = message["type"]
                except Exception:
                    if not line.strip():
                        continue
                    message = parse_line(line, line_number, last_stream)  # raises a clear error
                    kind = message["type"]
                if kind == "RECORD":
                    name = message.get("stream")
                    stream = streams.get(name)
                    if stream is None:
                        raise SingerProtocolError(
                            f"line {line_number}: RECORD for stream {name!r} before its SCHEMA",
                            line_number=line_number,
                            stream=name,
                            hint="the tap must send SCHEMA first; fix the tap and re-run",
                        )
                    if "record" not in message:
                        raise SingerProtocolError(
                            f"line {line_number}: RECORD for stream {name!r} has no `record`",
                            line_number=line_number,
                            stream=name,
                        )
                    stream.buffer.append(message["record"])
                    last_stream = name
                    self.pending_count += 1
                    if self.pending_count >= batch:
                        self.flush()
                elif kind == "STATE":
                    self.pending_state = message.get("value")
                    if time.monotonic() - self.last_flush > 5.0:
                        self.flush()
                elif kind == "SCHEMA":
                    last_stream = self._schema(message, line_number)
                elif kind == "BATCH":
                    last_stream = self._batch(message, line_number)
                elif kind == "ACTIVATE_VERSION":
                    continue
                else:
                    self.summary.warnings.append(
                        f"line {line_number}: ignored unknown message type {kind!r}"
                    )
            self.flush()
            self.finish()
        except SingerProtocolError:
            self.flush()  # keep what was valid before the broken line; state stays behind it
            self.finish()
            raise
        except BaseException:
            self.abandon()
            raise
        finally:
            gc.unfreeze()
            if collecting:
                gc.enable()
        return self.summary

    def _schema(self, message: dict[str, Any], line_number: int) -> str:
        name = message.get("stream")
        schema = message.get("schema")
        if not isinstance(name, str) or not isinstance(schema, dict):
            raise SingerProtocolError(
                f"line {line_number}: SCHEMA without a stream name or schema object",
                line_number=line_number,
                stream=name if isinstance(name, str) else None,
            )
        if name in self.streams:
            return name  # taps may repeat SCHEMA; keys and mapping stay as first declared
        keys = message.get("key_properties") or []
        loaded = self.mappings.get(name)
        mapping = CompiledMapping(loaded, list(keys)) if loaded else None
        if mapping is not None:
            properties = schema.get("properties")
            mapping.check_schema(
                name,
                set(properties) if isinstance(properties, dict) else None,
                f"sources.{self.name}.streams.{name}.mapping",
            )
        elif self.source.streams:
            self.summary.warnings.append(
                f"stream {name!r} has no mapping: its records are stored raw and not matched"
            )
        self.streams[name] = _Stream(name, list(keys), mapping)
        self.summary.streams[name] = self.streams[name].summary
        return name

    def _batch(self, message: dict[str, Any], line_number: int) -> str:
        name = message.get("stream")
        stream = self.streams.get(name) if isinstance(name, str) else None
        if stream is None:
            raise SingerProtocolError(
                f"line {line_number}: BATCH for stream {name!r} before its SCHEMA",
                line_number=line_number,
                stream=name,
            )
        records = batch_records(message, line_number)
        while True:
            room = self.batch_size - self.pending_count
            chunk = list(islice(records, room))
            stream.buffer.extend(chunk)
            self.pending_count += len(chunk)
            if self.pending_count >= self.batch_size:
                self.flush()
            if len(chunk) < room:
                return stream.name

    # --- writing ----------------------------------------------------------------------

    def flush(self) -> None:
        """Hand buffered records and the latest STATE to the writer as one transaction."""
        work = [s for s in self.streams.values() if s.buffer]
        if not work and self.pending_state is None:
            return
        item = WorkItem(
            batches=[
                (s.name, s.mapping.version if s.mapping else None, s.encode(s.buffer)) for s in work
            ],
            state=self.pending_state,
            has_state=self.pending_state is not None,
        )
        for stream in work:
            stream.buffer = []
        self.submitted += self.pending_count
        self.pending_state = None
        self.pending_count = 0
        self.last_flush = time.monotonic()
        self._choose_writer()
        self.writer.submit(item)
        if not gc.isenabled():
            gc.collect()

    def _choose_writer(self) -> None:
        """Move the writing to a child process once the ingest proves big (see writer.py)."""
        if self.process_after < 0 or isinstance(self.writer, ProcessWriter):
            return
        if self.submitted >= self.process_after:
            # Everything the thread was given is committed before the process writes more.
            self.writer.close()
            self.writer = ProcessWriter(self.master, self.name, self.run_id, self._commit)

    def finish(self) -> None:
        """Wait until everything handed to the writer is committed (or raise its error)."""
        self.writer.close()

    def abandon(self) -> None:
        """Stop writing after what was handed over (the reader failed); errors are dropped."""
        self.writer.abandon()

    def _write(self, item: WorkItem) -> None:
        self._commit(write_item(self.master, self.name, self.run_id, item, self._fresh))

    def _commit(self, committed: Committed) -> None:
        # Counted only once committed: the summary never claims what a crash would lose.
        results, state_saved = committed
        for name, counts, n in results:
            summary = self.summary.streams[name]
            summary.counts.add(counts)
            summary.records += n
            self.summary.records += n
        if state_saved:
            self.summary.state_saved = True
        if self.progress is not None:
            self.progress(self.name, self.summary.records, time.monotonic())

    def _load_state(self) -> Any:
        with self.master.session() as session:
            return load_state(session, "source", self.name)


def _grow_pipe(pipe: IO[bytes]) -> None:
    """Let the tap run up to 1 MiB ahead of the hub (Linux; 64 KiB is the default).

    On two cores the tap, the hub and its writer take turns; with a small pipe the tap
    blocks after a few hundred records and the three switch far more often than they work.
    """
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(pipe.fileno(), setting, 1 << 20)


def load_state(session: Any, scope: str, name: str, key: str = "") -> Any:
    """A saved state value, or None."""
    row = session.scalar(
        select(State).where(State.scope == scope, State.name == name, State.key == key)
    )
    return None if row is None else row.value


def _shareable(master: Master) -> bool:
    """Whether a second process can open the same master (not an in-memory SQLite)."""
    if master.dialect != "sqlite":
        return True
    database = master.engine.url.database
    return bool(database) and database != ":memory:" and "mode=memory" not in master.url
