"""The ledger's index: what the results file says per stream and key, in SQLite beside it.

Reading the whole results file back at every start cost 5 s of CPU and 1.1 GB for a million
records (and grew with every run), even when the hub sent ten thousand. The index
(``<results file>.index.sqlite``) holds the last accepted entry per record and how far into
the results file it is up to date: a run reads only the lines appended since (those of a
run that stopped before updating the index), then looks records up one by one, and at its
end writes its own accepted records and moves the mark past its own lines.

The results file stays the one source of truth: the index is a cache. It is rebuilt from
the file when it is missing, unreadable, from another version, or no longer matches the
file (shorter than the mark, or another beginning: a file replaced or rotated).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_VERSION = "1"
# the beginning of the file, hashed, tells the same file from a replaced one
_HEAD_BYTES = 4096
_COLUMNS = "stream, key, remote_id, content_hash, object, disposition"
_CREATE_KEY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS entry_key ON entry (stream, key)"

Entry = tuple[str | None, str | None, str | None, str]  # remote id, hash, object, disposition


def index_path(results: Path) -> Path:
    """Where the index of ``results`` lives."""
    return results.with_name(results.name + ".index.sqlite")


class LedgerIndex:
    """Entries per (stream, key) of one results file; thread safe."""

    def __init__(self, results: Path, conn: sqlite3.Connection, offset: int) -> None:
        self.results = results
        self._conn = conn
        self._lock = threading.Lock()
        #: how far into the results file the index is up to date (bytes)
        self.offset = offset
        #: whether it holds no entry (a first publish): then there is nothing to look up
        self.empty = conn.execute("SELECT 1 FROM entry LIMIT 1").fetchone() is None

    @classmethod
    def open(
        cls, results: Path, apply_lines: Callable[[list[bytes], LedgerIndex], dict[Any, Entry]]
    ) -> LedgerIndex:
        """Open (or build) the index of ``results`` and bring it up to date with the file.

        ``apply_lines`` turns the lines appended since the mark into the entries they leave
        (the ledger's own rules; it may look older entries up in the index)."""
        path = index_path(results)
        try:
            index = cls._connect(results, path)
        except sqlite3.DatabaseError:
            # not a database, or a broken one: it is only a cache
            path.unlink(missing_ok=True)
            index = cls._connect(results, path)
        index._catch_up(apply_lines)
        return index

    @classmethod
    def _connect(cls, results: Path, path: Path) -> LedgerIndex:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # a cache: a transaction lost to a power cut leaves the previous mark, and the lines
        # after it are read back from the results file; WAL keeps each write all-or-nothing
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS entry (stream TEXT NOT NULL, key TEXT NOT NULL, "
            "remote_id TEXT, content_hash TEXT, object TEXT, disposition TEXT NOT NULL)"
        )
        conn.execute(_CREATE_KEY_INDEX)
        conn.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        offset = int(meta.get("offset") or 0)
        head = meta.get("head") or ""
        if (
            meta.get("version") != _VERSION
            or offset > file_size(results)
            or head != _head(results, offset)
        ):
            conn.execute("DELETE FROM entry")
            offset = 0
        return cls(results, conn, offset)

    def _catch_up(
        self, apply_lines: Callable[[list[bytes], LedgerIndex], dict[Any, Entry]]
    ) -> None:
        try:
            with self.results.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            data = b""
        # up to the last complete line: what follows is being written, or was cut by a crash
        # (then the next appended line makes it one undecodable line, skipped by the rules)
        end = data.rfind(b"\n") + 1
        if end == 0 and self.offset:
            return
        entries = apply_lines(data[:end].split(b"\n"), self)
        self.write(entries, self.offset + end)

    def get(self, stream: str, key: str) -> Entry | None:
        """The entry of one record, if the file (up to the mark) has one."""
        if self.empty:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT remote_id, content_hash, object, disposition FROM entry "
                "WHERE stream = ? AND key = ?",
                (stream, key),
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def get_many(self, stream: str, keys: list[str]) -> dict[str, Entry]:
        """The entries of many records of one stream (those the file has), in one query:
        a batch's keys at once instead of a statement per record."""
        if self.empty:
            return {}
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, remote_id, content_hash, object, disposition FROM entry "
                "WHERE stream = ? AND key IN (SELECT value FROM json_each(?))",
                (stream, json.dumps(keys)),
            ).fetchall()
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}

    def write(self, entries: dict[tuple[str, str], Entry], offset: int) -> None:
        """Store ``entries`` and the new mark, in one transaction."""
        rows: Iterable[tuple[Any, ...]] = ((s, k, *e) for (s, k), e in entries.items())
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if (
                    self.offset == 0
                    and conn.execute("SELECT 1 FROM entry LIMIT 1").fetchone() is None
                ):
                    # the first write of a big run (a first load): the rows, then their
                    # index in one sorted pass, costs half of keeping the index as they come
                    conn.execute("DROP INDEX entry_key")
                    conn.executemany(
                        f"INSERT INTO entry ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", rows
                    )
                    conn.execute(_CREATE_KEY_INDEX)
                else:
                    conn.executemany(
                        f"INSERT OR REPLACE INTO entry ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                        rows,
                    )
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)",
                    [
                        ("version", _VERSION),
                        ("offset", str(offset)),
                        ("head", _head(self.results, offset)),
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self.offset = offset
            self.empty = self.empty and not entries

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._conn.close()


def file_size(path: Path) -> int:
    """The size of ``path`` in bytes (0 when it does not exist)."""
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _head(path: Path, offset: int) -> str:
    """A hash of the file's first bytes (at most up to ``offset``)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(min(offset, _HEAD_BYTES))
    except FileNotFoundError:
        head = b""
    return hashlib.blake2b(head, digest_size=16).hexdigest()
