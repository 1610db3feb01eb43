"""The engine's ``block`` and ``score`` for incremental matching, and pair explanations.

:func:`crmhub_dedupe.incremental.match_incremental` takes two callables so that it can be
tested with simple ones; this class supplies the real ones from the engine's pipeline
(blocking rules, comparisons, Fellegi-Sunter scores, look-alike guards), over one
column cache per frame.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmhub_dedupe.blocking import block
from crmhub_dedupe.comparison import ColumnCache, compare
from crmhub_dedupe.explain import explanation_lines
from crmhub_dedupe.model import MatchModel
from crmhub_dedupe.scoring import classify, score
from crmhub_dedupe.settings import MatchSettings

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class IncrementalMatcher:
    """Blocking, scoring and explanations with one settings object and one trained model."""

    def __init__(self, settings: MatchSettings, model: MatchModel) -> None:
        self.settings = settings
        self.model = model
        self._frame: pd.DataFrame | None = None
        self._cache: ColumnCache | None = None

    def cache(self, frame: pd.DataFrame) -> ColumnCache:
        """The column cache of ``frame`` (built once per frame)."""
        if self._frame is not frame or self._cache is None:
            self._frame, self._cache = frame, ColumnCache(frame)
        return self._cache

    def block(self, frame: pd.DataFrame, is_new: BoolArray) -> tuple[IntArray, IntArray]:
        """Candidate pairs that involve at least one new record (new-old and new-new)."""
        rules = self.settings.blocking_rules
        linked = block(frame, rules, link_only_between=is_new, cache=self.cache(frame))
        rows = np.flatnonzero(is_new)
        inner = block(frame.iloc[rows].reset_index(drop=True), rules)
        return (
            np.concatenate([linked.left, rows[inner.left]]).astype(np.int64),
            np.concatenate([linked.right, rows[inner.right]]).astype(np.int64),
        )

    def score(
        self, frame: pd.DataFrame, left: IntArray, right: IntArray
    ) -> npt.NDArray[np.float64]:
        """Match probability per pair; a pair a look-alike guard capped stays below auto-merge."""
        cache = self.cache(frame)
        gamma = compare(cache, self.settings, left, right)
        scores = score(cache, self.settings, self.model, left, right, gamma)
        classes = np.asarray(
            classify(cache, self.settings, left, right, gamma, scores.probability).classification
        )
        cap = np.nextafter(self.settings.thresholds.auto_merge, 0.0)
        probability = np.asarray(scores.probability, dtype=np.float64)
        return np.where(classes == "merge", probability, np.minimum(probability, cap))

    def explain(
        self, frame: pd.DataFrame, left: IntArray, right: IntArray
    ) -> list[list[dict[str, Any]]]:
        """Per pair: the prior and each comparison's level label and weight (they add up)."""
        if len(left) == 0:
            return []
        cache = self.cache(frame)
        gamma = compare(cache, self.settings, left, right)
        scores = score(cache, self.settings, self.model, left, right, gamma)
        weights = np.asarray(scores.weights, dtype=np.float64)
        return explanation_lines(self.settings, self.model, gamma, weights)


DEFAULT_MODEL = Path(__file__).with_name("models") / "default_customer_model.json"


def default_model(n_records: int | None = None) -> MatchModel:
    """The shipped model for the default settings (trained on generated customers).

    EM needs enough pairs to tell matches from non-matches; a project with a few hundred
    records starts from this model (see benchmarks/train_default_model.py). The m and u
    probabilities carry over; the prior does not: it is the chance that two random records
    match, which shrinks as a data set grows. Given ``n_records``, the prior is rescaled so
    that each record expects as many matches as in the training set.
    """
    model = MatchModel.from_dict(json.loads(DEFAULT_MODEL.read_text(encoding="utf-8")))
    trained_on = int(model.training.get("records", 0) or 0)
    if n_records is not None and n_records > 1 and trained_on > 1:
        per_record = model.prior * (trained_on - 1)
        model.prior = min(0.5, max(1e-12, per_record / (n_records - 1)))
    return model
