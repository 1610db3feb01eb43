"""Blocking: candidate pairs from the union of several cheap rules.

Pairs are two integer arrays of row positions ``(left, right)`` with ``left < right``.
Each rule is counted first (per block ``n*(n-1)/2``, or ``n_a*n_b`` in linkage mode)
and refused before a single pair is materialized when it would exceed
``max_pairs_per_rule``. Multi-valued columns (tuples such as ``emails``) are exploded, so
``[emails]`` blocks on any shared address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmhub_dedupe.comparison import ColumnCache
from crmhub_dedupe.errors import BlockingRuleTooBroadError, TooBroadRule
from crmhub_dedupe.settings import BlockingRule

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class RuleCount:
    """What one blocking rule contributes: pairs it generates and pairs no earlier rule had."""

    rule: str
    pairs: int
    new_pairs: int
    blocks: int
    biggest_block: str | None
    biggest_size: int


@dataclass(frozen=True)
class BlockedPairs:
    """Candidate pairs (row positions, ``left < right``) and per-rule counts."""

    left: IntArray
    right: IntArray
    rule: npt.NDArray[np.int16]
    counts: tuple[RuleCount, ...]
    n_records: int

    def __len__(self) -> int:
        return int(self.left.shape[0])

    def summary(self) -> str:
        """Plain-text table of the per-rule counts."""
        lines = [f"{'rule':<50} {'pairs':>12} {'new':>12} {'biggest block':>14}"]
        for c in self.counts:
            lines.append(f"{c.rule:<50} {c.pairs:>12,} {c.new_pairs:>12,} {c.biggest_size:>14,}")
        lines.append(f"{'union':<50} {len(self):>12,}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Keyed:
    """One rule's key per (row, value): rows and integer key codes (equal codes = one block)."""

    rows: IntArray
    codes: IntArray
    sort_rank: IntArray | None = None  # sorted neighbourhood: rank of each row's key value


def _key_frame(cache: ColumnCache, rule: BlockingRule, *, ranked: bool = False) -> _Keyed:
    """Integer key per row (array columns exploded); rows with a missing key part dropped.

    Works on the cache's factorized codes only: no string work per rule.
    """
    n = len(cache)
    rows = np.arange(n, dtype=np.int64)
    codes = np.zeros(n, dtype=np.int64)
    has_array = False
    for key in rule.keys:
        if cache.is_array(key.column):
            has_array = True
            arr = cache.arrays(key.column)
            lens = arr.lengths[rows]
            owner = np.repeat(np.arange(rows.size, dtype=np.int64), lens)
            first = np.cumsum(lens) - lens
            offs = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(first, lens)
            part = arr.values[arr.indptr[rows][owner] + offs]
            if key.prefix is not None:
                cut = pd.Series(arr.labels, dtype=object).str[: key.prefix]
                remap, _ = pd.factorize(cut)
                part = np.asarray(remap, dtype=np.int64)[part]
            rows, codes = rows[owner], codes[owner]
        else:
            part = cache.strings(key.column, key.prefix).codes[rows]
        ok = part >= 0
        rows, codes, part = rows[ok], codes[ok], part[ok]
        if rows.size:
            combined, _ = pd.factorize(codes * np.int64(n + 1) + part)
            codes = np.asarray(combined, dtype=np.int64)
    if rows.size and has_array:
        # one entry per (row, key): a record listing the same email twice is one entry
        both = np.unique(codes * np.int64(n + 1) + rows)
        codes, rows = both // np.int64(n + 1), both % np.int64(n + 1)
    rank = None
    if ranked and rule.keys:
        key = rule.keys[0]
        st = cache.strings(key.column, key.prefix)
        order = np.argsort(st.labels.astype(str), kind="stable")
        label_rank = np.empty(order.size, dtype=np.int64)
        label_rank[order] = np.arange(order.size)
        rank = label_rank[st.codes[rows]] if rows.size else rows
    return _Keyed(rows=rows, codes=codes, sort_rank=rank)


def _describe_block(cache: ColumnCache, rule: BlockingRule, row: int) -> str:
    parts = []
    for k in rule.keys:
        value = cache.frame[k.column].iat[row]
        if isinstance(value, tuple | list):
            value = "|".join(str(v) for v in value)
        text = str(value).strip()
        if k.prefix is not None:
            text = text[: k.prefix]
        parts.append(f"{k}={_mask(text)!r}")
    return ", ".join(parts)


def _mask(value: str) -> str:
    """Mask emails and phone numbers shown in messages (they may reach logs)."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = sum(ch.isdigit() for ch in value)
    if digits >= 6:
        return value[:3] + "*" * max(0, len(value) - 5) + value[-2:]
    return value


def _group_bounds(codes: IntArray) -> tuple[IntArray, IntArray]:
    """Start and end (exclusive) offsets of runs of equal codes in a sorted array."""
    if codes.size == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e
    change = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    ends = np.concatenate((change, [codes.size])).astype(np.int64)
    return starts, ends


def _expand(counts: IntArray) -> tuple[IntArray, IntArray]:
    """For k_p partners per position p: (index of p repeated, 0..k_p-1 offsets)."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    offsets = np.arange(total, dtype=np.int64) - np.repeat(first, counts)
    return owner, offsets


class _RulePlan:
    """A rule keyed and counted, ready to generate pairs."""

    def __init__(self, cache: ColumnCache, rule: BlockingRule, side: BoolArray | None) -> None:
        self.rule = rule
        self.side = side
        self.cache = cache
        keyed = _key_frame(cache, rule, ranked=rule.kind == "sorted_neighbourhood")
        self.keyed = keyed
        if rule.kind == "sorted_neighbourhood":
            self._plan_sorted_neighbourhood()
        else:
            self._plan_exact()

    def _plan_exact(self) -> None:
        keyed = self.keyed
        codes = keyed.codes
        rows = keyed.rows
        if self.side is not None:
            # within a block, side-A rows first: pairs are A x B
            is_b = ~self.side[rows]
            order = np.lexsort((is_b, codes))
            rows, codes, is_b = rows[order], codes[order], is_b[order]
            starts, ends = _group_bounds(codes)
            n_b = np.add.reduceat(is_b.astype(np.int64), starts) if starts.size else starts
            n_a = (ends - starts) - n_b
            per_block = n_a * n_b
            self.b_start = ends - n_b
            self.n_b = n_b
            self.n_a = n_a
        else:
            order = np.argsort(codes, kind="stable")
            rows, codes = rows[order], codes[order]
            starts, ends = _group_bounds(codes)
            sizes = ends - starts
            per_block = sizes * (sizes - 1) // 2
        self.rows, self.codes = rows, codes
        self.starts, self.ends = starts, ends
        self.pairs = int(per_block.sum())
        self.blocks = int(starts.size)
        if starts.size:
            sizes = ends - starts
            big = int(np.argmax(sizes))
            self.biggest_size = int(sizes[big])
            self.biggest_block: str | None = _describe_block(
                self.cache, self.rule, int(rows[starts[big]])
            )
        else:
            self.biggest_size, self.biggest_block = 0, None

    def _plan_sorted_neighbourhood(self) -> None:
        keyed = self.keyed
        rank = keyed.sort_rank if keyed.sort_rank is not None else keyed.codes
        order = np.argsort(rank, kind="stable")
        self.rows = keyed.rows[order]
        self.codes = keyed.codes[order]
        m = int(self.rows.size)
        w = self.rule.window
        self.pairs = sum(max(0, m - d) for d in range(1, w))
        self.blocks = 1 if m else 0
        self.biggest_size = m
        self.biggest_block = f"sorted by {self.rule.keys[0]}" if m else None
        self.starts = self.ends = np.empty(0, dtype=np.int64)

    def generate(self) -> tuple[IntArray, IntArray]:
        """Materialize the rule's pairs (``left < right``, unique)."""
        if self.pairs == 0:
            e = np.empty(0, dtype=np.int64)
            return e, e
        if self.rule.kind == "sorted_neighbourhood":
            m = self.rows.size
            lefts, rights = [], []
            for d in range(1, self.rule.window):
                if d >= m:
                    break
                lefts.append(self.rows[: m - d])
                rights.append(self.rows[d:])
            a = np.concatenate(lefts)
            b = np.concatenate(rights)
            if self.side is not None:
                keep = self.side[a] != self.side[b]
                a, b = a[keep], b[keep]
        elif self.side is not None:
            # each A row pairs with every B row of its block
            block_of = np.repeat(np.arange(self.starts.size), self.ends - self.starts)
            pos = np.arange(self.rows.size, dtype=np.int64)
            is_a = pos < self.b_start[block_of]
            a_pos = pos[is_a]
            a_block = block_of[is_a]
            k = self.n_b[a_block]
            owner, offsets = _expand(k)
            a = self.rows[a_pos[owner]]
            b = self.rows[self.b_start[a_block[owner]] + offsets]
        else:
            block_of = np.repeat(np.arange(self.starts.size), self.ends - self.starts)
            pos = np.arange(self.rows.size, dtype=np.int64)
            k = self.ends[block_of] - pos - 1
            owner, offsets = _expand(k)
            a = self.rows[owner]
            b = self.rows[owner + 1 + offsets]
        left = np.minimum(a, b)
        right = np.maximum(a, b)
        keep = left != right
        return left[keep], right[keep]


def count_pairs(
    frame: pd.DataFrame,
    rules: Sequence[BlockingRule],
    *,
    link_only_between: BoolArray | None = None,
    cache: ColumnCache | None = None,
) -> list[RuleCount]:
    """Count, per rule, the pairs it would generate (upper bound; nothing materialized)."""
    side = _side(frame, link_only_between)
    cache = cache or ColumnCache(frame)
    out = []
    for rule in rules:
        plan = _RulePlan(cache, rule, side)
        out.append(
            RuleCount(
                rule.name,
                plan.pairs,
                plan.pairs,
                plan.blocks,
                plan.biggest_block,
                plan.biggest_size,
            )
        )
    return out


def _side(frame: pd.DataFrame, link_only_between: BoolArray | None) -> BoolArray | None:
    if link_only_between is None:
        return None
    side = np.asarray(link_only_between, dtype=bool)
    if side.shape != (len(frame),):
        raise ValueError(
            f"link_only_between must be one bool per record ({len(frame)}), got shape {side.shape}"
        )
    return side


def block(
    frame: pd.DataFrame,
    rules: Sequence[BlockingRule],
    *,
    max_pairs_per_rule: int = 20_000_000,
    link_only_between: BoolArray | None = None,
    cache: ColumnCache | None = None,
) -> BlockedPairs:
    """Candidate pairs: the deduplicated union of every rule's pairs.

    ``link_only_between`` (one bool per record) switches to linkage mode: only pairs with
    one record on each side (``True`` vs ``False``) are generated, e.g. new records against
    the master. Every rule is counted before any pair is generated; rules over
    ``max_pairs_per_rule`` are refused together in one
    :class:`~crmhub_dedupe.errors.BlockingRuleTooBroadError`.
    """
    side = _side(frame, link_only_between)
    cache = cache or ColumnCache(frame)
    plans = [_RulePlan(cache, rule, side) for rule in rules]
    too_broad = [
        TooBroadRule(p.rule.name, p.pairs, p.biggest_block, p.biggest_size)
        for p in plans
        if p.pairs > max_pairs_per_rule
    ]
    if too_broad:
        raise BlockingRuleTooBroadError(too_broad, max_pairs_per_rule)
    n = len(frame)
    per_rule: list[IntArray] = []
    for plan in plans:
        a, b = plan.generate()
        # exploded array keys can make a pair twice within one rule; hashing is cheaper than
        # a sort here, the one sort happens over the union below
        per_rule.append(np.asarray(pd.unique(a * np.int64(max(n, 1)) + b), dtype=np.int64))
        del a, b, plan.rows, plan.codes, plan.keyed
    sizes = np.array([k.size for k in per_rule], dtype=np.int64)
    everything = np.concatenate(per_rule) if per_rule else np.empty(0, dtype=np.int64)
    del per_rule
    rule_of = np.repeat(np.arange(len(plans), dtype=np.int16), sizes)
    # unique keeps the first occurrence: rules are concatenated in order, so the first rule
    # that generated a pair is the one credited with it
    union, first = np.unique(everything, return_index=True)
    del everything
    first_rule = rule_of[first]
    del rule_of, first
    fresh = np.bincount(first_rule, minlength=len(plans))
    counts = tuple(
        RuleCount(
            plan.rule.name,
            int(sizes[k]),
            int(fresh[k]),
            plan.blocks,
            plan.biggest_block,
            plan.biggest_size,
        )
        for k, plan in enumerate(plans)
    )
    left = union // n if n else union
    right = union % n if n else union
    return BlockedPairs(left=left, right=right, rule=first_rule, counts=counts, n_records=n)


def random_pairs(
    n: int,
    count: int,
    *,
    seed: int,
    link_only_between: BoolArray | None = None,
) -> tuple[IntArray, IntArray]:
    """``count`` random pairs of two different records (``left < right``), for ``u``."""
    rng = np.random.default_rng(seed)
    if n < 2:
        e = np.empty(0, dtype=np.int64)
        return e, e
    if link_only_between is not None:
        side = np.asarray(link_only_between, dtype=bool)
        a_idx = np.flatnonzero(side)
        b_idx = np.flatnonzero(~side)
        if a_idx.size == 0 or b_idx.size == 0:
            e = np.empty(0, dtype=np.int64)
            return e, e
        total = a_idx.size * b_idx.size
        count = min(count, total)
        a = a_idx[rng.integers(0, a_idx.size, count)]
        b = b_idx[rng.integers(0, b_idx.size, count)]
    else:
        total = n * (n - 1) // 2
        count = min(count, total)
        a = rng.integers(0, n, count, dtype=np.int64)
        b = rng.integers(0, n - 1, count, dtype=np.int64)
        b = b + (b >= a)  # never a pair of a record with itself
    # a repeated pair now and then does not bias u; skipping the dedupe saves a sort
    return np.minimum(a, b), np.maximum(a, b)
