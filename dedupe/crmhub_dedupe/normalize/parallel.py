"""Normalize many batches on several cores: :func:`normalize_batches`.

Normalizing is pure-Python work per distinct value, so one process uses one core. Batches
are independent, so a pool of worker processes normalizes them side by side and hands the
frames back in input order. Only ``workers + 1`` batches are in flight at a time, so memory
stays bounded by a few batches whatever the input size.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import pandas as pd

from crmhub_dedupe.normalize.frame import NormalizedFrame, normalize_frame

Batch = Sequence[Mapping[str, Any]] | pd.DataFrame


def _normalize_one(
    batch: Batch, extra_fields: tuple[str, ...], default_country: str | None
) -> NormalizedFrame:
    return normalize_frame(batch, extra_fields=extra_fields, default_country=default_country)


def _context() -> Any:
    # fork when this process runs no other thread: workers start at once with the
    # normalizers already imported (phone metadata, reference tables), and their CPU time
    # shows in the caller's RUSAGE_CHILDREN. With other threads alive a fork could copy a
    # held lock, so then a forkserver starts them from a clean process instead.
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crmhub_dedupe.normalize.frame"])
        return context
    return multiprocessing.get_context("spawn")


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
