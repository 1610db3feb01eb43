"""What the CRM accepted: the results file, the error file, the ledger and the run report.

The results file is the target's output contract (one JSON line per record, appended and
flushed per batch); the hub reads it to record remote ids and retry lists. The same file,
through an index beside it (ledger_index.py), is the ledger that lets the next run skip a
re-sent record whose content hash it already pushed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from target_crm.ledger_index import Entry, LedgerIndex, file_size

if TYPE_CHECKING:
    from target_crm.profiles.base import WorkItem

ACTIONS = ("create", "update", "merge", "archive", "delete", "skip", "error")
ACCEPTED = frozenset({"create", "update", "merge", "archive", "delete", "skip"})
_EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
_PHONE_RE = re.compile(r"\+?\d[\d \-]{6,}(\d{2})")


def mask_pii(text: str) -> str:
    """Mask emails and phone numbers in a message meant for logs."""
    text = _EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE_RE.sub(lambda m: f"***{m.group(1)}", text)


def now_iso() -> str:
    """UTC timestamp, second precision, for result lines."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class Outcome:
    """What happened to one record in the CRM."""

    stream: str
    key: str
    action: str
    remote_id: str | None = None
    content_hash: str | None = None
    error: str | None = None
    object: str | None = None
    payload: dict[str, Any] | None = None
    disposition: str = "live"
    seq: int = 0
    #: the work item this is the outcome of (None for records refused before mapping)
    item: WorkItem | None = None

    def line(self, at: str) -> dict[str, Any]:
        """The results-file line (the output contract)."""
        return {
            "stream": self.stream,
            "key": self.key,
            "action": self.action,
            "remote_id": self.remote_id,
            "content_hash": self.content_hash,
            "error": self.error,
            "at": at,
            "object": self.object,
            "disposition": self.disposition,
        }


@dataclass(slots=True)
class LedgerEntry:
    """The last accepted push of one record, read back from earlier results."""

    remote_id: str | None
    content_hash: str | None
    object: str | None
    disposition: str


class Ledger:
    """Last accepted (remote id, content hash, object, disposition) per stream and key.

    Backed by the results file through its index (:mod:`target_crm.ledger_index`): entries
    are looked up one by one as records come, and this run's accepted records are kept in
    memory and written to the index when the run ends (:meth:`close`).
    """

    def __init__(self, index: LedgerIndex | None = None) -> None:
        #: entries looked up or recorded in this run (None: the record has none)
        self.entries: dict[tuple[str, str], LedgerEntry | None] = {}
        self._index = index
        self._recorded: dict[tuple[str, str], LedgerEntry] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_results(cls, path: Path | None) -> Ledger:
        """The ledger of a results file of earlier runs (missing file: empty ledger)."""
        if path is None:
            return cls()
        return cls(LedgerIndex.open(path, _entries_of_lines))

    @property
    def offset(self) -> int:
        """How far into the results file the ledger was read when it was opened."""
        return self._index.offset if self._index is not None else 0

    def record_line(self, line: dict[str, Any]) -> None:
        """Take one results line into account (errors do not change what the CRM holds)."""
        action = line.get("action")
        if action not in ACCEPTED:
            return
        self.record(
            str(line["stream"]),
            str(line["key"]),
            str(action),
            line.get("remote_id"),
            line.get("content_hash"),
            line.get("object"),
            line.get("disposition"),
        )

    def record_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        """Take outcomes of this run into account, as ``record_line`` would their lines."""
        record = self.record
        for o in outcomes:
            if o.action in ACCEPTED:
                record(
                    o.stream, o.key, o.action, o.remote_id, o.content_hash, o.object, o.disposition
                )

    def record(
        self,
        stream: str,
        key: str,
        action: str,
        remote_id: str | None,
        content_hash: str | None,
        object_name: str | None,
        disposition: str | None,
    ) -> None:
        """An accepted push of one record (a skip changes nothing the ledger knows)."""
        k = (stream, key)
        old = self.get(stream, key)
        if old is not None:
            if action == "skip":
                return
            remote_id = remote_id or old.remote_id
            object_name = object_name or old.object
        entry = LedgerEntry(
            remote_id or None, content_hash, object_name or None, str(disposition or "live")
        )
        with self._lock:
            self.entries[k] = entry
            self._recorded[k] = entry

    def get(self, stream: str, key: str) -> LedgerEntry | None:
        """The entry of one record, if it was ever accepted."""
        k = (stream, key)
        if k in self.entries:
            return self.entries[k]
        if self._index is None or self._index.empty:
            return None  # nothing to look up (a first publish): nothing to remember either
        entry = self.earlier(stream, key)
        with self._lock:
            return self.entries.setdefault(k, entry)

    def prefetch(self, stream: str, keys: Iterable[str]) -> None:
        """Look up the entries of a batch's records at once, so that ``get`` finds them in
        memory: one query per batch instead of one per record (a first publish of 100,000
        records spent a second of CPU on those)."""
        if self._index is None or self._index.empty:
            return  # get() finds nothing either, without a query
        missing = list({key for key in keys if (stream, key) not in self.entries})
        if not missing:
            return
        found = self._index.get_many(stream, missing)
        with self._lock:
            for key in missing:
                entry = found.get(key)
                self.entries.setdefault(
                    (stream, key), None if entry is None else LedgerEntry(*entry)
                )

    def earlier(self, stream: str, key: str) -> LedgerEntry | None:
        """The entry earlier runs left for one record (not this run's)."""
        if self._index is None or self._index.empty:
            return None
        found = self._index.get(stream, key)
        return None if found is None else LedgerEntry(*found)

    def recorded_entries(self) -> dict[tuple[str, str], Entry]:
        """This run's accepted records, as the index stores them."""
        return {
            k: (e.remote_id, e.content_hash, e.object, e.disposition)
            for k, e in self._recorded.items()
        }

    def close(self, written: int) -> None:
        """Store this run's accepted records in the index, whose mark moves past the
        ``written`` bytes this run appended to the results file, unless another writer
        appended too (then the next run reads those lines back instead)."""
        index = self._index
        if index is None:
            return
        try:
            end = self.offset + written
            if self._recorded and file_size(index.results) == end:
                index.write(self.recorded_entries(), end)
        finally:
            index.close()
            self._index = None


def _entries_of_lines(lines: list[bytes], index: LedgerIndex) -> dict[Any, Entry]:
    """The entries results lines leave, on top of what ``index`` holds (the ledger's rules)."""
    # an index read from the start holds nothing yet: no lookups
    ledger = Ledger(index if index.offset else None)
    loads = orjson.loads
    record_line = ledger.record_line
    for raw in lines:
        if not raw.strip():
            continue
        try:
            line = loads(raw)
        except orjson.JSONDecodeError:
            continue  # a line cut by a crash mid-write: the record is simply re-pushed
        record_line(line)
    return ledger.recorded_entries()


class ResultsWriter:
    """Appends result lines (JSONL) and flushes per batch; thread safe."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._fh: Any = None
        self._lock = threading.Lock()
        #: bytes appended so far (the ledger's index moves its mark past them at the end)
        self.written = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("ab")

    def write(self, outcomes: list[Outcome]) -> None:
        """Append one batch of outcomes and flush."""
        at = now_iso()
        self.write_lines([o.line(at) for o in outcomes])

    def write_lines(self, lines: list[dict[str, Any]]) -> None:
        """Append one batch of results lines (``Outcome.line``) and flush."""
        if self._fh is None or not lines:
            return
        dumps = orjson.dumps
        data = b"".join([dumps(line) + b"\n" for line in lines])
        with self._lock:
            self._fh.write(data)
            self._fh.flush()
            self.written += len(data)

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


ERROR_COLUMNS = ("stream", "key", "object", "remote_id", "content_hash", "field", "error", "at")


class ErrorWriter:
    """The error file: every failed record with the CRM's message (CSV or JSONL by suffix)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.count = 0
        self._lock = threading.Lock()
        self._fh: TextIO | None = None
        self._csv = path is not None and path.suffix.lower() == ".csv"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            new = not path.exists() or path.stat().st_size == 0
            self._fh = path.open("a", encoding="utf-8", newline="")
            if self._csv and new:
                csv.writer(self._fh).writerow(ERROR_COLUMNS)
                self._fh.flush()

    def write(self, outcomes: list[Outcome], fields: dict[str, str | None] | None = None) -> None:
        """Append the failed outcomes of one batch and flush."""
        failed = [o for o in outcomes if o.action == "error"]
        if not failed:
            return
        at = now_iso()
        with self._lock:
            self.count += len(failed)
            if self._fh is None:
                return
            if self._csv:
                buf = io.StringIO()
                w = csv.writer(buf)
                for o in failed:
                    w.writerow(
                        [
                            o.stream,
                            o.key,
                            o.object or "",
                            o.remote_id or "",
                            o.content_hash or "",
                            (fields or {}).get(o.key) or "",
                            o.error,
                            at,
                        ]
                    )
                self._fh.write(buf.getvalue())
            else:
                for o in failed:
                    row = dict(
                        zip(
                            ERROR_COLUMNS,
                            [
                                o.stream,
                                o.key,
                                o.object,
                                o.remote_id,
                                o.content_hash,
                                (fields or {}).get(o.key),
                                o.error,
                                at,
                            ],
                            strict=True,
                        )
                    )
                    self._fh.write(orjson.dumps(row).decode() + "\n")
            self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class RunReport:
    """Counts and samples per stream and action; written at the end of a run."""

    profile: str
    dry_run: bool
    sample_size: int = 5
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    samples: dict[str, dict[str, list[dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    errors: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = field(default_factory=now_iso)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcomes: list[Outcome]) -> None:
        """Count a batch of outcomes and keep the first few of each action as a sample."""
        with self._lock:
            for o in outcomes:
                self.counts[o.stream][o.action] += 1
                bucket = self.samples[o.stream][o.action]
                if len(bucket) < self.sample_size:
                    bucket.append(
                        {
                            "key": o.key,
                            "object": o.object,
                            "remote_id": o.remote_id,
                            "error": o.error,
                            "payload": (
                                o.item.sample_payload()
                                if o.payload is None and o.item is not None
                                else o.payload
                            ),
                        }
                    )

    def as_dict(self, error_file: Path | None, results_file: Path | None) -> dict[str, Any]:
        """The report as JSON-ready data."""
        total: Counter[str] = Counter()
        for c in self.counts.values():
            total.update(c)
        return {
            "profile": self.profile,
            "dry_run": self.dry_run,
            "started_at": self.started_at,
            "finished_at": now_iso(),
            "totals": {a: total.get(a, 0) for a in ACTIONS},
            "streams": {
                s: {a: c.get(a, 0) for a in ACTIONS} for s, c in sorted(self.counts.items())
            },
            "samples": {s: dict(v) for s, v in self.samples.items()},
            "error_file": str(error_file) if error_file else None,
            "results_file": str(results_file) if results_file else None,
        }

    def summary_line(self) -> str:
        """One line for the log: totals per action."""
        total: Counter[str] = Counter()
        for c in self.counts.values():
            total.update(c)
        parts = ", ".join(f"{a} {total.get(a, 0)}" for a in ACTIONS)
        return f"{'dry run, would do: ' if self.dry_run else ''}{parts}"
