"""Compare: per pair and comparison, the first level that holds → an int8 gamma matrix.

``gamma[p, k]`` is the index of the level of comparison ``k`` that pair ``p`` reached, in
the order the settings list them (0 = null, last = else). Everything is vectorized: string
columns are factorized once, exact levels compare integer codes, fuzzy levels run
rapidfuzz ``process.cpdist`` over the *distinct* value pairs only, and array levels
(emails, phones, tax ids) intersect exploded value codes with numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from rapidfuzz import distance, fuzz, process

from crmhub_dedupe.settings import Comparison, ComparisonLevel, MatchSettings

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: rapidfuzz scorers per level kind; similarities are normalized to 0..1.
_SIMILARITY: dict[str, Callable[..., float]] = {
    "jaro_winkler": distance.JaroWinkler.normalized_similarity,
    "jaro": distance.Jaro.normalized_similarity,
    "token_set": fuzz.token_set_ratio,
}
_DISTANCE: dict[str, Callable[..., float]] = {
    "levenshtein": distance.Levenshtein.distance,
    "damerau_levenshtein": distance.DamerauLevenshtein.distance,
}
_ONE_EDIT = (distance.Levenshtein.distance, distance.DamerauLevenshtein.distance)


@dataclass
class _Strings:
    codes: IntArray  # -1 = missing
    labels: npt.NDArray[np.object_]


@dataclass
class _Arrays:
    indptr: IntArray
    values: IntArray
    lengths: IntArray
    n_values: int
    labels: npt.NDArray[np.object_]


def _missing_scalar(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _explode(column: pd.Series[Any]) -> tuple[IntArray, npt.NDArray[np.object_]]:
    """(row, value) for every value of a multi-valued column; rows without values left out.

    A normalized frame holds a tuple in every cell: then lengths and one flat chain are
    enough. Anything else (lists, scalars, NaN) goes through ``Series.explode``.
    """
    cells = column.to_numpy(dtype=object)
    if all(type(v) is tuple for v in cells):
        lengths = np.fromiter(map(len, cells), dtype=np.int64, count=cells.size)
        rows = np.repeat(np.arange(cells.size, dtype=np.int64), lengths)
        total = int(lengths.sum())
        flat = np.fromiter(itertools.chain.from_iterable(cells), dtype=object, count=total)
        return rows, flat
    exploded = column.reset_index(drop=True).explode()  # empty tuples become NaN
    return exploded.index.to_numpy(dtype=np.int64), exploded.to_numpy(dtype=object)


def _text_codes(
    values: npt.NDArray[np.object_], prefix: int | None
) -> tuple[IntArray, npt.NDArray[np.object_]]:
    """(codes, labels) of stripped text (cut to ``prefix``); -1 = missing or empty.

    Strips and cuts each DISTINCT value once, not each row: a column of a million records
    holds far fewer distinct values. Codes number labels in order of first appearance,
    like ``pd.factorize`` of the stripped column would.
    """
    raw_codes, uniques = pd.factorize(values)
    originals = uniques.tolist()
    texts = [u.strip() if type(u) is str else str(u).strip() for u in originals]
    if prefix is not None:
        texts = [t[:prefix] for t in texts]
    if texts == originals and "" not in texts:
        # already clean (a normalized frame): the first factorization is the answer
        return np.asarray(raw_codes, dtype=np.int64), np.asarray(uniques, dtype=object)
    label_codes, labels = pd.factorize(np.array([t or None for t in texts], dtype=object))
    # raw code -1 (missing) picks the appended -1
    remap = np.append(np.asarray(label_codes, dtype=np.int64), -1)
    codes = remap[np.asarray(raw_codes, dtype=np.int64)]
    return codes, np.asarray(labels, dtype=object)


class ColumnCache:
    """Per-frame column encodings, computed once and shared by comparisons and TF tables."""

    def __init__(self, frame: pd.DataFrame, *, workers: int = -1) -> None:
        self.frame = frame.reset_index(drop=True)
        self.workers = workers
        self._strings: dict[tuple[str, int | None], _Strings] = {}
        self._arrays: dict[str, _Arrays] = {}
        self._dates: dict[str, tuple[FloatArray, IntArray, IntArray, IntArray]] = {}
        self._numbers: dict[str, FloatArray] = {}
        self._initials: dict[str, tuple[IntArray, BoolArray]] = {}
        self.extra: dict[str, tuple[IntArray, IntArray]] = {}
        self._is_array: dict[str, bool] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def is_array(self, column: str) -> bool:
        """Whether the column holds tuples (multi-valued)."""
        if column not in self._is_array:
            s = self.frame[column]
            if s.dtype != object:
                self._is_array[column] = False
            else:
                # the first present value decides; stop there instead of scanning the column
                first = next((v for v in s.to_numpy() if not _missing_scalar(v)), None)
                self._is_array[column] = isinstance(first, tuple | list)
        return self._is_array[column]

    def strings(self, column: str, prefix: int | None = None) -> _Strings:
        """Factorized string values (codes, -1 = missing or empty)."""
        key = (column, prefix)
        if key not in self._strings:
            values = self.frame[column].to_numpy(dtype=object)
            if self.is_array(column):
                values = np.array(
                    [v[0] if isinstance(v, tuple | list) and v else None for v in values],
                    dtype=object,
                )
            codes, labels = _text_codes(values, prefix)
            self._strings[key] = _Strings(codes, labels)
        return self._strings[key]

    def arrays(self, column: str) -> _Arrays:
        """Multi-valued column as CSR of value codes, one code per distinct value per row."""
        if column not in self._arrays:
            n = len(self.frame)
            rows, flat = _explode(self.frame[column])
            all_codes, uniques = _text_codes(flat, None)
            keep = all_codes >= 0
            codes = all_codes[keep]
            n_values = np.int64(max(1, len(uniques)))
            # one entry per distinct value per row, rows in order
            key = np.unique(rows[keep] * n_values + np.asarray(codes, dtype=np.int64))
            rows, codes = key // n_values, key % n_values
            lengths = np.bincount(rows, minlength=n).astype(np.int64)
            indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
            self._arrays[column] = _Arrays(
                indptr,
                np.asarray(codes, dtype=np.int64),
                lengths,
                max(1, len(uniques)),
                np.asarray(uniques, dtype=object),
            )
        return self._arrays[column]

    def dates(self, column: str) -> tuple[FloatArray, IntArray, IntArray, IntArray]:
        """(day number or NaN, year, month, day) from ``YYYY-MM-DD`` strings."""
        if column not in self._dates:
            s = self.frame[column].astype("string")
            parsed = pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")
            days = np.asarray(
                (parsed - pd.Timestamp("1970-01-01")).dt.days.to_numpy(
                    dtype=np.float64, na_value=np.nan
                ),
                dtype=np.float64,
            )
            y = parsed.dt.year.to_numpy(dtype=np.float64, na_value=-1).astype(np.int64)
            m = parsed.dt.month.to_numpy(dtype=np.float64, na_value=-1).astype(np.int64)
            d = parsed.dt.day.to_numpy(dtype=np.float64, na_value=-2).astype(np.int64)
            self._dates[column] = (days, y, m, d)
        return self._dates[column]

    def numbers(self, column: str) -> FloatArray:
        """Numeric values (NaN = missing or not a number)."""
        if column not in self._numbers:
            self._numbers[column] = pd.to_numeric(self.frame[column], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
        return self._numbers[column]

    def initials(self, column: str) -> tuple[IntArray, BoolArray]:
        """(first-letter code, value is just an initial) per row."""
        if column not in self._initials:
            raw_codes, uniques = pd.factorize(self.frame[column].to_numpy(dtype=object))
            raw_codes = np.asarray(raw_codes, dtype=np.int64)
            lowered = [str(u).strip().lower() for u in uniques]
            first_codes, _ = pd.factorize(np.array([t[:1] or None for t in lowered], dtype=object))
            initial = np.array(
                [len(t.replace(".", "").strip()) == 1 for t in lowered] + [False], dtype=bool
            )
            first_of = np.append(np.asarray(first_codes, dtype=np.int64), -1)
            self._initials[column] = (first_of[raw_codes], initial[raw_codes])
        return self._initials[column]

    def missing(self, column: str) -> BoolArray:
        """True where the column has no usable value."""
        if self.is_array(column):
            return np.asarray(self.arrays(column).lengths == 0, dtype=bool)
        if column in self._dates:
            return np.asarray(np.isnan(self._dates[column][0]), dtype=bool)
        return np.asarray(self.strings(column).codes < 0, dtype=bool)


def _shared_codes(cache: ColumnCache, first: str, second: str) -> tuple[IntArray, IntArray]:
    """Codes of two columns in one shared vocabulary (for swapped-field levels)."""
    key = f"\0swap:{first}:{second}"
    if key not in cache.extra:
        a = cache.frame[first].to_numpy(dtype=object)
        b = cache.frame[second].to_numpy(dtype=object)
        codes, _ = _text_codes(np.concatenate([a, b]), None)
        cache.extra[key] = (codes[: len(a)], codes[len(a) :])
    return cache.extra[key]


def _pair_scores(
    cache: ColumnCache,
    column: str,
    scorer: Callable[..., float],
    left: IntArray,
    right: IntArray,
    *,
    cutoff: float | None = None,
    one_edit: bool = True,
) -> FloatArray:
    """Scorer over the distinct (left value, right value) pairs, spread back to all pairs.

    A distance scorer with ``cutoff == 2`` (every level on it asks "within one edit")
    takes :func:`_one_edit_distance` unless ``one_edit`` is False.
    """
    st = cache.strings(column)
    cl, cr = st.codes[left], st.codes[right]
    out = np.full(left.size, np.nan)
    ok = (cl >= 0) & (cr >= 0)
    if not ok.any():
        return out
    k = np.int64(max(1, st.labels.size))
    if one_edit and cutoff == 2 and scorer in _ONE_EDIT:
        # a distance-1 level: numpy decides within-one-edit, rapidfuzz only the long labels
        near = _one_edit_distance(st.labels, cl[ok], cr[ok], transpositions=scorer is _ONE_EDIT[1])
        long = np.flatnonzero(np.isnan(near))
        if long.size:
            pos = np.flatnonzero(ok)[long]
            near[long] = _pair_scores(
                cache, column, scorer, left[pos], right[pos], cutoff=2, one_edit=False
            )
        out[ok] = near
        return out
    lo, hi = np.minimum(cl[ok], cr[ok]), np.maximum(cl[ok], cr[ok])  # scorers are symmetric
    # hash-based factorize: no sort, and most blocked pairs repeat a few value pairs
    inverse, uniq = pd.factorize(lo * k + hi)
    uniq = np.asarray(uniq, dtype=np.int64)
    a = st.labels[uniq // k]
    b = st.labels[uniq % k]
    kwargs: dict[str, Any] = {"scorer": scorer, "workers": cache.workers, "dtype": np.float64}
    if cutoff is not None:
        kwargs["score_cutoff"] = cutoff
    scores = np.asarray(process.cpdist(list(a), list(b), **kwargs), dtype=np.float64)
    if scorer is fuzz.token_set_ratio:
        scores = scores / 100.0
    out[ok] = scores[np.asarray(inverse, dtype=np.int64)]
    return out


# Label lengths up to this go through the vectorized one-edit check; longer ones (rare
# very long emails) through rapidfuzz, so the per-length matrices stay small.
_ONE_EDIT_MAX_LENGTH = 64


def _one_edit_distance(
    labels: npt.NDArray[np.object_], cl: IntArray, cr: IntArray, *, transpositions: bool
) -> FloatArray:
    """Edit distance of each (label cl, label cr) pair when it is 0 or 1, else 3.

    The same answer as rapidfuzz's Levenshtein (or, with ``transpositions``, its
    Damerau-Levenshtein) distance with ``score_cutoff=2`` for every pair within one edit
    (the tests compare both on many generated strings), but as numpy over the code points:
    a distance-1 level over millions of blocked pairs (postcode, birth date, email) is
    where a per-pair call costs most. Pairs with a label longer than
    ``_ONE_EDIT_MAX_LENGTH`` get NaN: the caller scores those with rapidfuzz.
    """
    lengths = np.fromiter(map(len, labels), dtype=np.int64, count=labels.size)
    out = np.full(cl.size, 3.0)
    out[cl == cr] = 0.0
    la, lb = lengths[cl], lengths[cr]
    longest = np.maximum(la, lb)
    out[longest > _ONE_EDIT_MAX_LENGTH] = np.nan
    candidate = np.flatnonzero(
        (cl != cr) & (np.abs(la - lb) <= 1) & (longest <= _ONE_EDIT_MAX_LENGTH)
    )
    row_of = np.full(labels.size, -1, dtype=np.int64)
    for width in np.unique(longest[candidate]).tolist():
        group = candidate[longest[candidate] == width]
        # one row of code points per label of this length or one shorter, zero-padded;
        # only the labels these pairs use when they are few (random pairs for u)
        fits = np.flatnonzero((lengths == width) | (lengths == width - 1))
        if 2 * group.size < fits.size:
            fits = np.asarray(pd.unique(np.concatenate((cl[group], cr[group]))), dtype=np.int64)
        row_of[fits] = np.arange(fits.size)
        points = np.array(labels[fits].tolist(), dtype=f"<U{width}").view(np.uint32)
        points = points.reshape(fits.size, width)
        for part in np.array_split(group, max(1, group.size * width // _ONE_EDIT_CELLS)):
            one = _within_one(
                points[row_of[cl[part]]],
                points[row_of[cr[part]]],
                la[part] - lb[part],
                transpositions,
            )
            out[part[one]] = 1.0
    return out


# Pair x character cells handled at once: keeps the temporary matrices near 50 MB (the
# 1M run peaks during compare, so this adds to the peak RSS).
_ONE_EDIT_CELLS = 4_000_000


def _within_one(
    a: npt.NDArray[np.uint32],
    b: npt.NDArray[np.uint32],
    length_diff: IntArray,
    transpositions: bool,
) -> BoolArray:
    """Rows of ``a`` and ``b`` (different strings, lengths differing by <= 1) one edit apart."""
    width = a.shape[1]
    one = np.zeros(a.shape[0], dtype=bool)
    same = np.flatnonzero(length_diff == 0)
    if same.size:
        sa, sb = a[same], b[same]
        differ = sa != sb
        count = differ.sum(axis=1)
        hit = count == 1
        if transpositions and width > 1:
            # two neighbouring positions holding each other's character
            rows = np.arange(same.size)
            first = np.argmax(differ, axis=1)
            nxt = np.minimum(first + 1, width - 1)
            hit |= (
                (count == 2)
                & differ[rows, nxt]
                & (sa[rows, first] == sb[rows, nxt])
                & (sa[rows, nxt] == sb[rows, first])
            )
        one[same] = hit
    other = np.flatnonzero(length_diff != 0)
    if other.size:
        # one insertion: the shorter string's prefix matches the longer one up to the first
        # mismatch, and its suffix matches the longer one shifted by one from there on
        a_longer = (length_diff[other] > 0)[:, None]
        oa, ob = a[other], b[other]
        short = np.where(a_longer, ob, oa)[:, : width - 1]
        long = np.where(a_longer, oa, ob)
        prefix = short == long[:, : width - 1]
        shifted = short == long[:, 1:]
        first_miss = np.where(prefix.all(axis=1), width - 1, np.argmin(prefix, axis=1))
        last_miss = np.where(
            shifted.all(axis=1), -1, width - 2 - np.argmin(shifted[:, ::-1], axis=1)
        )
        one[other] = last_miss < first_miss
    return one


def _array_overlap(cache: ColumnCache, column: str, left: IntArray, right: IntArray) -> IntArray:
    """Number of values two records share in a multi-valued column."""
    arr = cache.arrays(column)
    n = left.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)

    def spread(rows: IntArray) -> IntArray:
        lens = arr.lengths[rows]
        owner = np.repeat(np.arange(n, dtype=np.int64), lens)
        first = np.cumsum(lens) - lens
        offs = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(first, lens)
        vals = arr.values[arr.indptr[rows][owner] + offs]
        return np.asarray(owner * np.int64(arr.n_values) + vals, dtype=np.int64)

    common = np.intersect1d(spread(left), spread(right), assume_unique=True)
    return np.bincount(common // np.int64(arr.n_values), minlength=n).astype(np.int64)


def level_mask(
    cache: ColumnCache,
    level: ComparisonLevel,
    left: IntArray,
    right: IntArray,
    memo: dict[tuple[str, str], FloatArray] | None = None,
    at: IntArray | None = None,
    lowest: dict[tuple[str, str], float] | None = None,
    highest: dict[tuple[str, str], float] | None = None,
) -> BoolArray:
    """Whether each pair (row positions ``left``/``right``) satisfies ``level``.

    ``memo``/``at`` let fuzzy levels of one comparison reuse scores already computed for
    a superset of the pairs (``at`` = positions of these pairs within that superset).
    """
    return np.asarray(_level_mask(cache, level, left, right, memo, at, lowest, highest), dtype=bool)


def _level_mask(
    cache: ColumnCache,
    level: ComparisonLevel,
    left: IntArray,
    right: IntArray,
    memo: dict[tuple[str, str], FloatArray] | None,
    at: IntArray | None,
    lowest: dict[tuple[str, str], float] | None = None,
    highest: dict[tuple[str, str], float] | None = None,
) -> Any:
    kind = level.kind
    if kind == "else":
        return np.ones(left.size, dtype=bool)
    if kind == "null":
        miss = np.zeros(left.size, dtype=bool)
        for col in level.columns:
            m = cache.missing(col)
            miss |= m[left] | m[right]
        return miss
    if kind == "exact":
        ok = np.ones(left.size, dtype=bool)
        for col in level.columns:
            if cache.is_array(col):
                ok &= _array_overlap(cache, col, left, right) >= 1
            else:
                c = cache.strings(col).codes
                ok &= (c[left] == c[right]) & (c[left] >= 0)
        return ok
    if kind == "swapped":
        b_col = level.columns[1] if len(level.columns) > 1 else level.columns[0]
        a, b = _shared_codes(cache, level.columns[0], b_col)
        return (a[left] == b[right]) & (b[left] == a[right]) & (a[left] >= 0) & (b[left] >= 0)
    if kind == "prefix":
        c = cache.strings(level.column, int(level.threshold or 1)).codes
        return (c[left] == c[right]) & (c[left] >= 0)
    if kind == "initial":
        first, is_init = cache.initials(level.column)
        return (first[left] == first[right]) & (first[left] >= 0) & (is_init[left] | is_init[right])
    if kind in _SIMILARITY or kind in _DISTANCE:
        threshold = float(level.threshold or 0.0)
        key = (kind, level.column)
        if memo is not None and at is not None and key in memo:
            scores = memo[key][at]
        else:
            if kind in _SIMILARITY:
                # below the lowest band of this scorer nothing matters: let rapidfuzz stop early
                cutoff = None if lowest is None else lowest.get(key)
                if cutoff is not None and kind == "token_set":
                    cutoff *= 100.0
                scores = _pair_scores(
                    cache, level.column, _SIMILARITY[kind], left, right, cutoff=cutoff
                )
            else:
                # up to the highest band of this scorer the distance must be exact
                top = threshold if highest is None else highest.get(key, threshold)
                scores = _pair_scores(
                    cache, level.column, _DISTANCE[kind], left, right, cutoff=top + 1
                )
            if memo is not None and at is not None:
                full = np.full(int(at.max()) + 1 if at.size else 0, np.nan)
                full[at] = scores
                memo[key] = full
        with np.errstate(invalid="ignore"):
            if kind in _SIMILARITY:
                return np.asarray(scores >= threshold - 1e-12)
            return np.asarray(scores <= threshold)
    if kind == "date_within_days":
        days = cache.dates(level.column)[0]
        with np.errstate(invalid="ignore"):
            return np.asarray(np.abs(days[left] - days[right]) <= float(level.threshold or 0))
    if kind == "date_transposed":
        _, y, mo, d = cache.dates(level.column)
        return (
            (y[left] == y[right])
            & (y[left] >= 0)
            & (mo[left] == d[right])
            & (d[left] == mo[right])
            & (mo[left] != d[left])
        )
    if kind == "numeric_within":
        v = cache.numbers(level.column)
        with np.errstate(invalid="ignore"):
            return np.asarray(np.abs(v[left] - v[right]) <= float(level.threshold or 0))
    if kind == "array_intersect":
        return _array_overlap(cache, level.column, left, right) >= int(level.threshold or 1)
    raise ValueError(f"unknown comparison level kind {kind!r}")  # settings reject these


def compare_one(
    cache: ColumnCache, comparison: Comparison, left: IntArray, right: IntArray
) -> npt.NDArray[np.int8]:
    """Level index per pair for one comparison (first level that holds, in order)."""
    n = left.size
    gamma = np.full(n, len(comparison.levels) - 1, dtype=np.int8)
    todo = np.arange(n, dtype=np.int64)
    memo: dict[tuple[str, str], FloatArray] = {}
    first_fuzzy_at: dict[tuple[str, str], IntArray] = {}
    lowest: dict[tuple[str, str], float] = {}
    highest: dict[tuple[str, str], float] = {}
    for level in comparison.levels:
        if level.kind in _SIMILARITY and level.threshold is not None:
            key = (level.kind, level.column)
            lowest[key] = min(lowest.get(key, 1.0), float(level.threshold))
        if level.kind in _DISTANCE:
            key = (level.kind, level.column)
            highest[key] = max(highest.get(key, 0.0), float(level.threshold or 0.0))
    for k, level in enumerate(comparison.levels[:-1]):
        if todo.size == 0:
            break
        key = (level.kind, level.column)
        if key in memo:
            # positions of the remaining pairs within the pairs the scores were made for
            at = np.searchsorted(first_fuzzy_at[key], todo)
        else:
            at = np.arange(todo.size, dtype=np.int64)
            first_fuzzy_at[key] = todo
        hit = level_mask(cache, level, left[todo], right[todo], memo, at, lowest, highest)
        for col in level.also_exact:
            codes = cache.strings(col).codes
            li, ri = left[todo], right[todo]
            hit &= (codes[li] == codes[ri]) & (codes[li] >= 0)
        gamma[todo[hit]] = k
        todo = todo[~hit]
    return gamma


def compare(
    cache: ColumnCache, settings: MatchSettings, left: IntArray, right: IntArray
) -> npt.NDArray[np.int8]:
    """The gamma matrix: one int8 column per comparison, one row per pair."""
    gamma = np.empty((left.size, len(settings.comparisons)), dtype=np.int8)
    for k, comp in enumerate(settings.comparisons):
        gamma[:, k] = compare_one(cache, comp, left, right)
    return gamma
