"""Normalize all records of a run on several cores, as one frame: :func:`normalize_records`.

The records are cut into chunks, :func:`~crmhub_dedupe.normalize.parallel.normalize_batches`
normalizes the chunks side by side, and their frames and issues are put back together as
``normalize_frame`` of all records at once would have returned them: the same rows under a
RangeIndex, the same flags, the issues in the same order, and the same
:class:`NormalizeInputError` (message and positions) for a batch that breaks the contract.

How many processes: ``workers="auto"`` (the default of ``crmhub match`` and ``crmhub dedupe``)
takes the CPUs this process may run on (``os.sched_getaffinity``), at most
:data:`MAX_AUTO_WORKERS`, and normalizes in this process when the input is below
:data:`MIN_RECORDS_FOR_WORKERS` records, where starting children costs more than it saves.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmhub_dedupe.normalize._input import (
    ADDRESS_FIELDS,
    LIST_FIELDS,
    SCALAR_FIELDS,
    read_batch,
)
from crmhub_dedupe.normalize.errors import NormalizeInputError
from crmhub_dedupe.normalize.frame import NormalizedFrame, _check_ids, normalize_frame
from crmhub_dedupe.normalize.parallel import Batch, _fork_allowed, normalize_batches

Workers = int | Literal["auto"]

DEFAULT_CHUNK_RECORDS = 100_000
"""Records per chunk at most: a child holds one chunk's columns and results at a time."""
MAX_AUTO_WORKERS = 4
"""``auto`` uses at most this many processes: each holds a chunk, and past a few cores the
parent, which gathers the results, is the bottleneck."""
MIN_RECORDS_FOR_WORKERS = 100_000
"""Below this many records ``auto`` normalizes in this process. Measured on 2 cores: two
children break even with one process at about 50,000 records and gain under 10% of the
normalize time at 100,000, for half as much CPU again (docs/matching/normalize.md)."""

# The order in which normalize_frame raises issues (frame._Builder: kind, country, contacts,
# address, dates, type problems per field in the order read_batch reads them, then empty
# records). The chunks' issues are merged back into it; tests/dedupe_normalize/test_chunked.py
# triggers every code in several chunks, so a change of that order fails there.
_CODE_ORDER = (
    "kind_invalid", "country_unknown", "email_invalid", "phone_invalid", "taxid_invalid",
    "postcode_invalid", "birth_date_invalid", "updated_at_invalid", "field_type_invalid",
    "no_matching_fields",
)  # fmt: skip


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and taskset set)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def check_workers(workers: object) -> Workers:
    """``workers`` as given when it is ``"auto"`` or a whole number >= 1, else ValueError."""
    if workers == "auto":
        return "auto"
    if isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1:
        return workers
    raise ValueError(f"workers must be 'auto' or a whole number of processes >= 1, not {workers!r}")


def resolve_workers(workers: Workers, records: int | None = None) -> int:
    """How many processes normalize ``records`` records (None: not known in advance).

    ``auto`` is one process where this process runs other threads too (the scheduler of
    ``crmhub serve``): forking is not safe there, and a pool that gets every record pickled
    spends about half the normalizing CPU again. A number is taken as given.
    """
    if check_workers(workers) != "auto":
        return int(workers)
    if records is not None and records < MIN_RECORDS_FOR_WORKERS:
        return 1
    if not _fork_allowed():
        return 1
    return max(1, min(MAX_AUTO_WORKERS, available_cpus()))


def chunk_size(records: int, workers: int, chunk_records: int = DEFAULT_CHUNK_RECORDS) -> int:
    """Records per chunk: every process gets work, and no chunk is above ``chunk_records``."""
    if workers <= 1 or records <= 0:
        return max(records, 1)
    return max(1, min(chunk_records, math.ceil(records / workers)))


def normalize_records(
    records: Sequence[Mapping[str, Any]] | pd.DataFrame,
    *,
    workers: Workers = "auto",
    chunk_records: int = DEFAULT_CHUNK_RECORDS,
    extra_fields: Sequence[str] = (),
    default_country: str | None = None,
) -> NormalizedFrame:
    """Exactly ``normalize_frame(records, ...)``, computed in ``workers`` processes.

    ``workers``: ``"auto"`` (see :func:`resolve_workers`) or a number of processes; 1
    normalizes in this process. A record that breaks the input contract raises the same
    :class:`NormalizeInputError` as ``normalize_frame`` of all records (it is found again
    over the whole input, so its message and positions name the record as given).
    """
    extras = tuple(extra_fields)
    n = len(records)
    processes = resolve_workers(workers, n)
    if processes <= 1 or n == 0:
        return normalize_frame(records, extra_fields=extras, default_country=default_country)
    size = chunk_size(n, processes, chunk_records)
    if isinstance(records, pd.DataFrame):
        chunks: list[Batch] = [records.iloc[k : k + size] for k in range(0, n, size)]
    else:
        chunks = [records[k : k + size] for k in range(0, n, size)]
    try:
        return _combine(chunks, processes, extras, default_country)
    except NormalizeInputError as error:
        # the error as normalize_frame of every record gives it (non-mappings first, then
        # record ids), so its message and positions refer to the whole input
        _check_ids(read_batch(records, extras))
        raise error


def normalize_chunks(
    chunks: Iterable[Batch],
    *,
    workers: Workers = "auto",
    records: int | None = None,
    extra_fields: Sequence[str] = (),
    default_country: str | None = None,
) -> NormalizedFrame:
    """One frame over ``chunks`` that the caller already cut (e.g. read batch by batch).

    The result is ``normalize_frame`` of all chunks' records at once; only a few chunks are
    held at a time while they are normalized. ``records``: the total, when known, for
    ``workers="auto"``; a single chunk is always normalized in this process. A chunk that
    breaks the input contract raises its error with positions counted from the first
    record of the first chunk.
    """
    extras = tuple(extra_fields)
    stream = iter(chunks)
    first = next(stream, None)
    second = next(stream, None)
    if first is None:
        return normalize_frame([], extra_fields=extras, default_country=default_country)
    # one chunk is normalized here: a child would only add the fork and the transfer
    processes = 1 if second is None else resolve_workers(workers, records)
    head = [first] if second is None else [first, second]
    del first, second  # only the chain below holds them, and drops them once handed on
    return _combine(_chain(head, stream), processes, extras, default_country)


def _chain(head: list[Batch], rest: Iterator[Batch]) -> Iterator[Batch]:
    yield from head
    del head[:]  # the caller keeps no reference to chunks already handed on
    yield from rest


def _combine(
    chunks: Iterable[Batch], workers: int, extras: tuple[str, ...], default_country: str | None
) -> NormalizedFrame:
    starts: list[int] = []
    seen = 0

    def counted() -> Iterator[Batch]:
        nonlocal seen
        for chunk in chunks:
            starts.append(seen)
            seen += len(chunk)
            yield chunk

    parts = _ColumnParts()
    issues: list[pd.DataFrame] = []
    results = normalize_batches(
        counted(), workers=workers, extra_fields=extras, default_country=default_country
    )
    try:
        for result in results:
            parts.add(result.frame)
            issues.append(result.issues)
            del result
    except NormalizeInputError as error:
        offset = starts[len(issues)]
        raise NormalizeInputError(
            f"chunk {len(issues) + 1} (records {offset:,} on): {error}",
            positions=[offset + p for p in error.positions],
        ) from error
    if not issues:
        return normalize_frame([], extra_fields=extras, default_country=default_country)
    if len(issues) == 1:
        return NormalizedFrame(frame=parts.single(), issues=issues[0])
    frame = parts.join()
    ids = frame["record_id"]
    if not ids.is_unique:
        # a record id in two chunks: the error normalize_frame raises for all records
        _check_ids(read_batch(pd.DataFrame({"record_id": ids.to_numpy(dtype=object)}), ()))
    return NormalizedFrame(frame=frame, issues=_merge_issues(issues, extras))


class _ColumnParts:
    """The chunks' frames kept column by column, joined into one frame at the end.

    ``pd.concat`` of the chunk frames holds every chunk's block and the whole result at
    once: at a million records the 29 columns' object pointers (220 MB) twice, on top of the
    caller's input, which is the parent's memory peak of a parallel normalize. Here each
    chunk's columns are copied out as it arrives and its block freed; the join then builds
    one column at a time from its parts and drops them.
    """

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.pieces: dict[str, list[pd.Series]] = {}
        self.first: pd.DataFrame | None = None
        self.count = 0

    def add(self, frame: pd.DataFrame) -> None:
        self.count += 1
        if self.count == 1:
            # one chunk stays as it is (no copy); a second one starts the column parts
            self.first = frame
            self.columns = list(frame.columns)
            return
        if self.first is not None:
            self._split(self.first)
            self.first = None
        self._split(frame)

    def _split(self, frame: pd.DataFrame) -> None:
        for column in self.columns:
            self.pieces.setdefault(column, []).append(frame[column].copy())

    def single(self) -> pd.DataFrame:
        if self.first is None:  # pragma: no cover - called only after exactly one add
            raise RuntimeError("no single chunk frame")
        return self.first

    def join(self) -> pd.DataFrame:
        joined: dict[str, pd.Series] = {}
        for column in self.columns:
            joined[column] = pd.concat(self.pieces.pop(column), ignore_index=True)
        # copy=False: no consolidation of the columns into one block (another full copy)
        return pd.DataFrame(joined, columns=self.columns, copy=False)


def _merge_issues(parts: list[pd.DataFrame], extras: tuple[str, ...]) -> pd.DataFrame:
    """The chunks' issues in normalize_frame's order: by kind of issue, then by record.

    Within one chunk the issues already come kind by kind, each kind in record order; a
    stable sort on (kind, chunk) puts the chunks' runs of each kind one after the other.
    """
    non_empty = [(k, p) for k, p in enumerate(parts) if len(p)]
    if len(non_empty) <= 1:
        return parts[non_empty[0][0]] if non_empty else parts[0]
    issues = pd.concat([p for _, p in non_empty], ignore_index=True)
    chunk_of = np.repeat([k for k, _ in non_empty], [len(p) for _, p in non_empty])
    fields = (
        *SCALAR_FIELDS,
        *LIST_FIELDS,
        "addresses",
        *(f"addresses.{name}" for name in ADDRESS_FIELDS),
        *(f"extras.{name}" for name in extras),
    )
    field_rank = {name: k for k, name in enumerate(fields)}
    code_rank = {code: k for k, code in enumerate(_CODE_ORDER)}
    code_codes, code_uniques = pd.factorize(issues["code"])
    field_codes, field_uniques = pd.factorize(issues["field"])
    # one key per (code, field) in order of appearance
    keys, pairs = pd.factorize(code_codes.astype(np.int64) * len(field_uniques) + field_codes)
    ranks = []
    for position, pair in enumerate(pairs.tolist()):
        code = str(code_uniques[pair // len(field_uniques)])
        field = str(field_uniques[pair % len(field_uniques)])
        # a code or field this order does not know goes last, in order of appearance
        ranks.append(
            (
                code_rank.get(code, len(_CODE_ORDER)),
                field_rank.get(field, len(fields)) if code == "field_type_invalid" else 0,
                position,
            )
        )
    rank_of_key = np.empty(len(pairs), dtype=np.int64)
    rank_of_key[sorted(range(len(pairs)), key=ranks.__getitem__)] = np.arange(len(pairs))
    order = np.lexsort((np.arange(len(issues)), chunk_of, rank_of_key[keys]))
    return issues.iloc[order].reset_index(drop=True)
