"""Score and classify: per-field weights (with term-frequency adjustment), match weight,
probability, and the two-threshold classification with look-alike guards.

The match weight of a pair is ``log2(prior odds) + sum_k w_k`` with ``w_k = log2(m/u)`` for
the level the pair reached in comparison ``k``. On an exact level marked for term-frequency
adjustment, ``u`` is replaced by the share of records holding that very value, so agreeing
on "Sharma" or "Müller" weighs less than agreeing on a rare name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmhub_dedupe.comparison import ColumnCache
from crmhub_dedupe.model import MatchModel
from crmhub_dedupe.settings import CLASSIFICATIONS, MatchSettings

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
GammaArray = npt.NDArray[np.int8]

_FLOOR = 1e-7


@dataclass(frozen=True)
class PairScores:
    """Weights per pair and comparison, the summed match weight, and the probability."""

    weights: npt.NDArray[np.float32]
    match_weight: FloatArray
    probability: FloatArray


def term_frequencies(cache: ColumnCache, column: str) -> FloatArray:
    """Share of the non-missing records holding each value code of ``column``."""
    codes = cache.strings(column).codes
    present = codes[codes >= 0]
    counts = np.bincount(present, minlength=int(codes.max()) + 1 if codes.size else 0)
    return counts.astype(np.float64) / max(1, present.size)


def score(
    cache: ColumnCache,
    settings: MatchSettings,
    model: MatchModel,
    left: IntArray,
    right: IntArray,
    gamma: GammaArray,
) -> PairScores:
    """Per-comparison weights and the match weight and probability of every pair."""
    params = model.ordered_for(settings)
    n = gamma.shape[0]
    weights = np.empty((n, len(params)), dtype=np.float32)
    total = np.full(n, model.prior_weight, dtype=np.float64)
    for k, (comp, p) in enumerate(zip(settings.comparisons, params, strict=True)):
        w = p.weights()[gamma[:, k].astype(np.int64)]
        for lv_index, level in enumerate(comp.levels):
            if not level.tf_adjust or cache.is_array(level.column):
                continue
            at = np.flatnonzero(gamma[:, k] == lv_index)
            if at.size == 0:
                continue
            tf = term_frequencies(cache, level.column)
            codes = cache.strings(level.column).codes[left[at]]
            u_tf = np.clip(tf[codes], _FLOOR, 1.0)
            w[at] = np.log2(max(float(p.m[lv_index]), _FLOOR) / u_tf)
        weights[:, k] = w
        total += w
    probability = 1.0 / (1.0 + np.exp2(-np.clip(total, -1000, 1000)))
    return PairScores(weights=weights, match_weight=total, probability=probability)


@dataclass(frozen=True)
class Classified:
    """Classification per pair and the guard that capped it (empty string when none)."""

    classification: pd.Categorical[str]
    guard: npt.NDArray[np.object_]


def classify(
    cache: ColumnCache,
    settings: MatchSettings,
    left: IntArray,
    right: IntArray,
    gamma: GammaArray,
    probability: FloatArray,
) -> Classified:
    """merge above ``auto_merge``, review between, distinct below; guards cap look-alikes."""
    t = settings.thresholds
    # 0 = merge, 1 = review, 2 = distinct
    cls = np.where(probability >= t.auto_merge, 0, np.where(probability >= t.review, 1, 2))
    cls = cls.astype(np.int8)
    guard = np.full(cls.size, "", dtype=object)
    kinds = None
    if settings.kind_column in cache.frame.columns:
        kinds = cache.strings(settings.kind_column)
    names = [c.name for c in settings.comparisons]

    def holds(comp_name: str, level_names: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        k = names.index(comp_name)
        idx = [settings.comparisons[k].level_index(n) for n in level_names]
        return np.asarray(np.isin(gamma[:, k], np.array(idx, dtype=np.int8)), dtype=bool)

    # agreement on an identifier (any level but null and else: one typo in a national id
    # is still that id) lifts every guard
    identified = np.zeros(cls.size, dtype=bool)
    for k, comp in enumerate(settings.comparisons):
        if comp.identifier:
            identified |= (gamma[:, k] > 0) & (gamma[:, k] < len(comp.levels) - 1)
    for g in settings.guards:
        hit = ~identified
        for comp_name, level_names in g.when:
            hit &= holds(comp_name, level_names)
        for comp_name, level_names in g.unless:
            hit &= ~holds(comp_name, level_names)
        if g.kind is not None:
            if kinds is None:
                continue
            matches = np.flatnonzero(kinds.labels == g.kind)
            if matches.size == 0:
                continue
            code = matches[0]
            hit &= (kinds.codes[left] == code) & (kinds.codes[right] == code)
        cap = 1 if g.cap == "review" else 2
        capped = hit & (cls < cap)
        guard[capped & (guard == "")] = g.name
        cls[capped] = cap
    cats = pd.Categorical.from_codes(cls, categories=pd.Index(list(CLASSIFICATIONS)))
    return Classified(classification=cats, guard=guard)
