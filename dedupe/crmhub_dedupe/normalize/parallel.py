"""Normalize many batches on several cores: :func:`normalize_batches`.

Normalizing is pure-Python work per distinct value, so one process uses one core. Batches
are independent, so they can be normalized side by side and handed back in input order.

Where ``fork`` is available (and this process runs no other thread), each batch gets a
child process forked when the batch is already in this process's memory: the child reads
the batch from its copy-on-write view, so the records are never pickled. Only the result
travels back through a pipe (pickling 100,000 input records and unpickling them in a worker
costs about half the normalizing CPU again; the result costs about a fifth). Elsewhere a
pool of worker processes gets each batch pickled. At most ``workers`` batches are in flight
beside the one being read, so memory stays bounded by a few batches whatever the input size.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

import pandas as pd

from crmhub_dedupe.normalize.frame import NormalizedFrame, _cyclic_gc_paused, normalize_frame

Batch = Sequence[Mapping[str, Any]] | pd.DataFrame

# Records normalized in this process before the first fork: phone metadata, compiled
# patterns and reference tables are then loaded once and every child inherits them.
_WARM_UP_RECORDS = 2000


def _normalize_one(
    batch: Batch, extra_fields: tuple[str, ...], default_country: str | None
) -> NormalizedFrame:
    return normalize_frame(batch, extra_fields=extra_fields, default_country=default_country)


def _fork_allowed() -> bool:
    # A fork copies only the calling thread: with other threads alive the child could
    # inherit a lock one of them holds and hang.
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _context() -> Any:
    # fork when this process runs no other thread: workers start at once with the
    # normalizers already imported (phone metadata, reference tables), and their CPU time
    # shows in the caller's RUSAGE_CHILDREN. With other threads alive a fork could copy a
    # held lock, so then a forkserver starts them from a clean process instead.
    if _fork_allowed():
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crmhub_dedupe.normalize.frame"])
        return context
    return multiprocessing.get_context("spawn")


def _child(
    batch: Batch, extra_fields: tuple[str, ...], default_country: str | None, conn: Connection
) -> None:
    """Body of a forked child: normalize the inherited batch, send the result or the error."""
    try:
        result: NormalizedFrame | BaseException = _normalize_one(
            batch, extra_fields, default_country
        )
    except Exception as error:  # handed to the caller and raised there, in input order
        result = error
    conn.send(result)
    conn.close()


class _Forked:
    """One batch being normalized in a forked child process."""

    def __init__(
        self, batch: Batch, extra_fields: tuple[str, ...], default_country: str | None
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_child,
            args=(batch, extra_fields, default_country, writer),
            name="crmhub-normalize",
            daemon=True,
        )
        # Frozen objects are left alone by the child's cyclic collector, which would
        # otherwise touch (and so copy) every page of the inherited records.
        gc.freeze()
        try:
            self._process.start()
        finally:
            gc.unfreeze()
        writer.close()

    def result(self) -> NormalizedFrame:
        try:
            # Unpickling a 100,000-row result builds hundreds of thousands of tuples: with
            # the cyclic collector on, its passes over them and every frame received before
            # cost three times the unpickling itself (0.59 against 0.13 s CPU per chunk).
            with _cyclic_gc_paused():
                received = self._reader.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(
                f"the normalize child process died (exit code {self._process.exitcode})"
                " before sending its result; see its error output"
            ) from None
        finally:
            self._reader.close()
        self._process.join()
        if isinstance(received, BaseException):
            raise received
        result: NormalizedFrame = received
        return result

    def cancel(self) -> None:
        self._reader.close()
        self._process.kill()
        self._process.join()


def _forked_batches(
    batches: Iterable[Batch],
    workers: int,
    extra_fields: tuple[str, ...],
    default_country: str | None,
) -> Iterator[NormalizedFrame]:
    pending: deque[_Forked] = deque()
    warm = False
    try:
        for batch in batches:
            if not warm and len(batch):
                sample = (
                    batch.iloc[:_WARM_UP_RECORDS]
                    if isinstance(batch, pd.DataFrame)
                    else batch[:_WARM_UP_RECORDS]
                )
                # a bad batch raises in its child, when its turn comes
                with contextlib.suppress(ValueError):
                    _normalize_one(sample, extra_fields, default_country)
                warm = True
            if len(pending) >= workers:
                yield pending.popleft().result()
            pending.append(_Forked(batch, extra_fields, default_country))
            del batch  # the child has its own copy-on-write view of it
        while pending:
            yield pending.popleft().result()
    finally:
        for forked in pending:
            forked.cancel()


def normalize_batches(
    batches: Iterable[Batch],
    *,
    workers: int = 2,
    extra_fields: Sequence[str] = (),
    default_country: str | None = None,
) -> Iterator[NormalizedFrame]:
    """:func:`normalize_frame` of each batch, in input order, ``workers`` batches at a time.

    Each result is exactly what ``normalize_frame(batch, ...)`` returns (record ids must be
    unique within a batch; the caller owns uniqueness across batches). ``workers <= 1``
    normalizes in this process. A batch that breaks the input contract raises its
    :class:`~crmhub_dedupe.normalize.errors.NormalizeInputError` here, when its turn comes.
    """
    extras = tuple(extra_fields)
    if workers <= 1:
        for batch in batches:
            yield normalize_frame(batch, extra_fields=extras, default_country=default_country)
        return
    if _fork_allowed():
        yield from _forked_batches(batches, workers, extras, default_country)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context()) as pool:
        pending: deque[Future[NormalizedFrame]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_normalize_one, batch, extras, default_country))
                del batch  # the worker has its own copy; keep only the future here
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
