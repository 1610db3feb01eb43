"""A background writer: the database work of one batch overlaps parsing of the next.

SQLite and psycopg release the GIL while the database works, so on a 2-core machine the
reader (parse, map, encode) and the writer (insert, commit) run side by side. The queue
holds at most two batches, which keeps memory flat; items are written in order, so a STATE
is never committed before the records that preceded it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


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
