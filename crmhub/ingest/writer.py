"""Committing an ingest's batches: on a thread, or in a child process on the second core.

A work item is one transaction: encoded records per stream and the STATE that followed
them. Items are written strictly in order, so a STATE is never committed before the records
that preceded it, and at most ``depth`` items wait at any time, which keeps memory flat.

Small ingests use a thread (:class:`BatchWriter`): nothing to start. Big ones move to a
child process (:class:`ProcessWriter`) once the first batches are written: parsing and
mapping hold the GIL nearly all the time, so a writer thread in the same process waits for
it between rows; a process writes while the reader parses, on the other core.
"""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from crmhub.errors import FatalError
from crmhub.store import Master
from crmhub.store.models import State
from crmhub.store.source_records import BatchCounts, RecordColumns, write_batch
from crmhub.store.types import utcnow

_STOP = object()
_BLAKE2B_16 = hashlib.blake2b(digest_size=16)  # the content hash; never updated itself


@dataclass
class EncodedBatch:
    """The records of one stream in one batch, column by column.

    JSON texts travel as one ``\n``-joined UTF-8 buffer (orjson never writes a raw newline):
    handing that to the writer process, and turning it back into strings there, costs a
    fraction of pickling a tuple of strings per record.

    The content hash (blake2b, 16 bytes, of the payload's sorted-key JSON) is not sent: the
    writer computes it from the payload line in ``rows``. The reader (parse, map, encode) is
    the busier of the two processes of a big ingest, so the hash costs it nothing there.

    ``reasons`` holds "" for a record without any (None works too, at a cost: see rows).
    """

    entity: str | None
    keys: list[str]
    payloads: bytes | bytearray
    canonicals: bytes | bytearray  # an empty line: the record has no canonical form
    statuses: list[str]
    reasons: list[str | None]

    def rows(self, *, sqlite: bool = False) -> RecordColumns:
        """The records as columns for ``write_batch``.

        For SQLite the JSON texts stay UTF-8 bytes (bytearrays, which the driver binds as
        they are and the statements cast to TEXT), and a missing entity or canonical form is
        an empty value rather than None: decoding every text into a str that the driver
        encodes again, and binding None (an adapter look-up that formats and drops an
        AttributeError each time), cost the writer about 8,000 instructions a record.
        """
        if not self.keys:
            return RecordColumns.of([])
        lines = _as_bytearray(self.payloads).split(b"\n")
        # A copy of an empty hash is cheaper than a new one from keyword arguments
        # (7,000 instead of 8,000 instructions per record).
        fresh = _BLAKE2B_16.copy
        hashes: list[str] = []
        add = hashes.append
        for line in lines:
            h = fresh()
            h.update(line)
            add(h.hexdigest())
        count = len(self.keys)
        if sqlite:
            payloads: list[Any] = lines
            canonicals: list[Any] = _as_bytearray(self.canonicals).split(b"\n")
            entity: str | None = self.entity or ""
        else:
            payloads = self.payloads.decode().split("\n")
            canonicals = [c or None for c in self.canonicals.decode().split("\n")]
            entity = self.entity
        if not len(payloads) == len(canonicals) == len(self.statuses) == len(self.reasons) == count:
            raise ValueError("an encoded batch's columns differ in length")
        return RecordColumns(
            self.keys, payloads, hashes, [entity] * count, canonicals, self.statuses, self.reasons
        )


def _as_bytearray(data: bytes | bytearray) -> bytearray:
    return data if isinstance(data, bytearray) else bytearray(data)


@dataclass
class WorkItem:
    """One transaction: (stream, mapping version, records) per stream, then the state."""

    batches: list[tuple[str, str | None, EncodedBatch]]
    state: Any
    has_state: bool


# What a committed item did: (stream, counts, records) per stream, and whether state was saved.
Committed = tuple[list[tuple[str, BatchCounts, int]], bool]


def write_item(
    master: Master, source: str, run_id: int, item: WorkItem, fresh: dict[str, bool] | None = None
) -> Committed:
    """Write one item in one transaction; return what it did once committed.

    ``fresh`` (kept by the caller from item to item) remembers per stream whether its last
    batch found no stored key; the next batch is then inserted without the key look-up
    (``write_batch``'s ``optimistic``), which falls back by itself if a key exists.
    """
    seen_new = fresh if fresh is not None else {}
    results: list[tuple[str, BatchCounts, int]] = []
    stream = ""
    try:
        with master.session() as session:
            conn = session.connection()
            now = utcnow()
            sqlite = master.dialect == "sqlite"
            for stream, mapping_version, batch in item.batches:
                records = batch.rows(sqlite=sqlite)
                counts = write_batch(
                    conn,
                    source=source,
                    stream=stream,
                    records=records,
                    run_id=run_id,
                    mapping_version=mapping_version,
                    now=now,
                    optimistic=seen_new.get(stream, False),
                )
                results.append((stream, counts, len(records.keys)))
                seen_new[stream] = counts.changed == 0 and counts.unchanged == 0
            if item.has_state:
                save_state(session, "source", source, item.state, run_id)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise FatalError(
            f"source {source!r}: writing a batch of stream {stream!r} into the master failed: "
            f"{reason}",
            hint="what came before the tap's last committed STATE is kept; fix the cause and "
            "re-run `crmhub ingest` (nothing is duplicated)",
        ) from exc
    return results, item.has_state


def save_state(session: Any, scope: str, name: str, value: Any, run_id: int) -> None:
    """Insert or update the saved state of a source in the caller's transaction."""
    row = session.scalar(
        select(State).where(State.scope == scope, State.name == name, State.key == "")
    )
    if row is None:
        session.add(State(scope=scope, name=name, key="", value=value, run_id=run_id))
    else:
        row.value = value
        row.updated_at = utcnow()
        row.run_id = run_id


class BatchWriter:
    """Runs ``write(item)`` for submitted items in order on one thread."""

    def __init__(self, write: Callable[[Any], None], *, depth: int = 2) -> None:
        self._write = write
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is None:
                try:
                    self._write(item)
                except BaseException as exc:  # handed to the reader thread
                    self._error = exc

    def submit(self, item: Any) -> None:
        """Queue an item (blocks while two are waiting); raise the writer's error, if any."""
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="crmhub-writer", daemon=True)
            self._thread.start()
        self._queue.put(item)

    def close(self) -> None:
        """Wait for every queued item to be written; raise the writer's error, if any."""
        if not self._closed:
            self._closed = True
            if self._thread is not None:
                self._queue.put(_STOP)
                self._thread.join()
        self._raise()

    def abandon(self) -> None:
        """Stop after what is queued (used when the reader fails); errors are dropped."""
        if not self._closed:
            self._closed = True
            if self._thread is not None:
                self._queue.put(_STOP)
                self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


class ProcessWriter:
    """Writes items in a child process; ``committed`` is called in this process per item.

    The child (``python -m crmhub.ingest.writer_process``) opens its own connection to the
    master and answers each item, once committed, with what it did. If this process dies,
    the child reads end-of-file and stops after the item it is writing: whatever it commits
    is whole (records plus the state after them). A plain subprocess rather than
    multiprocessing: nothing of the parent (its ``__main__``, pooled connections, locks of
    other threads) is imported or inherited.
    """

    def __init__(
        self,
        master: Master,
        source: str,
        run_id: int,
        committed: Callable[[Committed], None],
        *,
        depth: int = 2,
    ) -> None:
        self._committed = committed
        self._depth = depth
        self._in_flight = 0
        self._closed = False
        self._ready = False
        self._error: BaseException | None = None
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crmhub.ingest.writer_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None and self._process.stdout is not None  # noqa: S101
        self._to_child = self._process.stdin
        self._from_child = self._process.stdout
        # The URL may hold a password: it goes through the pipe, not the command line.
        self._send(
            {
                "url": master.url,
                "busy_timeout_s": master.busy_timeout_s,
                "source": source,
                "run_id": run_id,
            }
        )

    def submit(self, item: WorkItem) -> None:
        """Send an item (blocks while ``depth`` are unanswered); raise the child's error."""
        self._raise()
        while self._in_flight >= self._depth or not self._ready:
            self._receive()
            self._raise()
        try:
            self._send(item)
        except OSError:  # the child died: its exit is reported by the next receive
            self._receive()
            self._raise()
        self._in_flight += 1

    def close(self) -> None:
        """Wait until every item sent is committed; raise the child's error, if any."""
        if not self._closed:
            self._closed = True
            self._drain()
        self._raise()

    def abandon(self) -> None:
        """Let the child finish what it was sent, then stop; errors are dropped."""
        if not self._closed:
            self._closed = True
            self._drain()
        self._error = None

    def _drain(self) -> None:
        try:
            while self._in_flight and self._error is None:
                self._receive()
            write_frame(self._to_child, b"")
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self._to_child.close()
            self._process.wait()
            self._from_child.close()

    def _send(self, value: Any) -> None:
        write_frame(self._to_child, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def _receive(self) -> None:
        message = read_frame(self._from_child)
        if message is None:
            code = self._process.wait()
            self._error = self._error or FatalError(
                f"the ingest writer process ended unexpectedly (exit code {code}); "
                "what it committed before stays",
                hint="re-run `crmhub ingest` (nothing is duplicated)",
            )
            self._in_flight = 0
            self._ready = True
            return
        kind, value = pickle.loads(message)  # noqa: S301 - our own child process
        if kind == "ready":
            self._ready = True
        elif kind == "done":
            self._in_flight -= 1
            self._committed(value)
        else:
            self._in_flight = 0
            self._ready = True
            self._error = value

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


_FRAME = struct.Struct("<Q")


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed frame, or None at end of file."""
    head = _read_exactly(stream, _FRAME.size)
    if head is None:
        return None
    (size,) = _FRAME.unpack(head)
    if size == 0:
        return b""
    return _read_exactly(stream, size)


def write_frame(stream: IO[bytes], data: bytes) -> None:
    """Write one length-prefixed frame."""
    stream.write(_FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def portable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a FatalError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own object, a round trip
    except Exception:
        return FatalError(f"ingest writer: {type(exc).__name__}: {exc}")
    return exc
