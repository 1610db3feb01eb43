"""Block → compare → score → classify in one call, and unsupervised training.

``train(frame, settings)`` estimates a :class:`~crmhub_dedupe.model.MatchModel` without
labels: u from random pairs, m by EM (one session per training blocking rule), the prior by
EM over the blocked pairs (or from ``em.prior`` / deterministic rules).
``score_pairs(frame, settings, model)`` returns a :class:`ScoredPairs`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmhub_dedupe.blocking import BlockedPairs, block, random_pairs
from crmhub_dedupe.comparison import ColumnCache, compare
from crmhub_dedupe.explain import FieldWeight, explain_frame, explain_pair
from crmhub_dedupe.model import (
    MatchModel,
    expectation_maximisation,
    initial_model,
    level_frequencies,
    pattern_counts,
)
from crmhub_dedupe.scoring import classify, score
from crmhub_dedupe.settings import DERIVED_COLUMNS, BlockingRule, Comparison, MatchSettings

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]
GammaArray = npt.NDArray[np.int8]


@dataclass
class ScoredPairs:
    """Scored candidate pairs and how they were made.

    ``pairs`` columns: ``i``, ``j`` (row positions, ``i < j``), ``left_id``, ``right_id``
    (the id column), ``gamma_<comparison>`` (level index), ``weight_<comparison>`` (log2
    Bayes factor), ``match_weight``, ``probability``, ``classification`` (merge / review /
    distinct), ``guard`` (the look-alike guard that capped it, or ""), ``blocking_rule``.
    """

    pairs: pd.DataFrame
    settings: MatchSettings
    model: MatchModel
    blocking: BlockedPairs
    timings: dict[str, float] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def explain(self, row: int) -> list[FieldWeight]:
        """(comparison, level label, weight) for the pair in ``row``, prior first."""
        return explain_pair(self.pairs, row, self.settings, self.model)

    def explanations(self) -> pd.DataFrame:
        """Every pair's field weights as a long frame (see :func:`explain_frame`)."""
        return explain_frame(self.pairs, self.settings)

    def gamma(self) -> GammaArray:
        """The gamma matrix (pairs x comparisons), e.g. for :func:`refine_with_labels`."""
        cols = [f"gamma_{c.name}" for c in self.settings.comparisons]
        return self.pairs[cols].to_numpy(dtype=np.int8)

    def summary(self) -> dict[str, Any]:
        """Counts per classification, per blocking rule, and timings."""
        counts = self.pairs["classification"].value_counts()
        return {
            "pairs": len(self.pairs),
            "merge": int(counts.get("merge", 0)),
            "review": int(counts.get("review", 0)),
            "distinct": int(counts.get("distinct", 0)),
            "guarded": int((self.pairs["guard"] != "").sum()),
            "blocking": [c.__dict__ for c in self.blocking.counts],
            "timings": dict(self.timings),
        }


def _prepare(frame: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    settings.check_columns(frame.columns)
    index = frame.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        # nothing to renumber: reset_index would copy every column (and consolidate them
        # into one block, a second copy), 0.2-0.4 GB at a million records
        return frame
    return frame.reset_index(drop=True)


def _blocked_columns(rule: BlockingRule) -> set[str]:
    cols: set[str] = set()
    for c in rule.columns:
        cols.add(c)
        cols.update(DERIVED_COLUMNS.get(c, ()))
    return cols


def _comparison_blocked(comp: Comparison, blocked: set[str]) -> bool:
    return any(c in blocked for c in comp.columns)


def _total_pairs(n: int, side: BoolArray | None) -> int:
    if side is None:
        return n * (n - 1) // 2
    a = int(side.sum())
    return a * (n - a)


def _sample(left: IntArray, right: IntArray, limit: int, seed: int) -> tuple[IntArray, IntArray]:
    if left.size <= limit:
        return left, right
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(left.size, size=limit, replace=False))
    return left[keep], right[keep]


def train(
    frame: pd.DataFrame,
    settings: MatchSettings,
    *,
    link_only_between: BoolArray | None = None,
    cache: ColumnCache | None = None,
    blocked: BlockedPairs | None = None,
    gamma: GammaArray | None = None,
) -> MatchModel:
    """Estimate m, u and the prior without labels.

    ``blocked``/``gamma`` (the union of all blocking rules and its comparisons) may be
    passed when the caller has them; they are used to estimate the prior.
    """
    frame = _prepare(frame, settings)
    cache = cache or ColumnCache(frame)
    em = settings.em
    started = time.perf_counter()
    model = initial_model(settings)
    n = len(frame)
    side = None if link_only_between is None else np.asarray(link_only_between, dtype=bool)
    total_pairs = _total_pairs(n, side)
    notes: list[str] = []
    if total_pairs == 0:
        notes.append("fewer than two records: nothing to train on, default parameters kept")
        model.notes = notes
        return model

    # u from random pairs: in a random pair, records almost never match
    ul, ur = random_pairs(n, em.u_sample_pairs, seed=em.seed, link_only_between=side)
    ug = compare(cache, settings, ul, ur)
    for k, comp in enumerate(settings.comparisons):
        model.comparisons[k].u = level_frequencies(ug[:, k], len(comp.levels), pseudo=0.5)
    del ug

    # m by EM, one session per training rule, blocked comparisons held out
    rules = em.training_rules or tuple(r for r in settings.blocking_rules if r.kind == "exact")
    sums = [np.zeros(len(c.levels)) for c in settings.comparisons]
    weights = np.zeros(len(settings.comparisons))
    sessions: list[dict[str, Any]] = []
    for s_idx, rule in enumerate(rules):
        pairs = block(
            frame,
            [rule],
            max_pairs_per_rule=settings.max_pairs_per_rule,
            link_only_between=side,
            cache=cache,
        )
        held_out = _blocked_columns(rule)
        active = [not _comparison_blocked(c, held_out) for c in settings.comparisons]
        if len(pairs) < 20 or not any(active):
            sessions.append({"rule": rule.name, "pairs": len(pairs), "skipped": True})
            continue
        sl, sr = _sample(pairs.left, pairs.right, em.max_pairs_per_session, em.seed + s_idx)
        patterns, counts = pattern_counts(_session_gamma(cache, settings, sl, sr, blocked, gamma))
        result = expectation_maximisation(
            patterns,
            counts,
            [p.m for p in model.comparisons],
            [p.u for p in model.comparisons],
            0.3,
            active=active,
            max_iterations=em.max_iterations,
            tolerance=em.tolerance,
        )
        for k, is_active in enumerate(active):
            if is_active:
                # plain mean over sessions: a session that went wrong must not dominate
                sums[k] += result.m[k]
                weights[k] += 1.0
        sessions.append(
            {
                "rule": rule.name,
                "pairs": int(sl.size),
                "iterations": result.iterations,
                "converged": result.converged,
                "expected_matches": round(result.expected_matches, 1),
                "held_out": [
                    c.name for c, a in zip(settings.comparisons, active, strict=True) if not a
                ],
            }
        )
    for k, comp in enumerate(settings.comparisons):
        p = model.comparisons[k]
        if weights[k] > 0:
            m = sums[k] / weights[k]
            m[0] = 1.0
            p.m = m
            p.m_estimated = True
        else:
            notes.append(
                f"m of comparison {comp.name!r} was not estimated (every training rule blocks "
                f"on it, or no session had pairs); default values kept"
            )

    # the prior
    prior_source = "em"
    if em.prior is not None:
        prior = em.prior
        prior_source = "settings"
    elif em.deterministic_rules:
        found = block(
            frame,
            list(em.deterministic_rules),
            max_pairs_per_rule=settings.max_pairs_per_rule,
            link_only_between=side,
            cache=cache,
        )
        prior = (len(found) / em.deterministic_recall) / total_pairs
        prior_source = "deterministic_rules"
    else:
        if blocked is None or gamma is None:
            blocked = block(
                frame,
                settings.blocking_rules,
                max_pairs_per_rule=settings.max_pairs_per_rule,
                link_only_between=side,
                cache=cache,
            )
            bl, br = _sample(blocked.left, blocked.right, em.max_pairs_per_session * 4, em.seed)
            gamma = compare(cache, settings, bl, br)
            scale = len(blocked) / max(1, bl.size)
        else:
            scale = 1.0
        prior = _prior_from_blocked(model, settings, gamma, len(blocked), scale, total_pairs)
    model.prior = float(min(max(prior, 1e-12), 0.5))
    model.notes = notes
    model.training = {
        "records": n,
        "u_pairs": int(ul.size),
        "sessions": sessions,
        "prior_source": prior_source,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return model


def _session_gamma(
    cache: ColumnCache,
    settings: MatchSettings,
    left: IntArray,
    right: IntArray,
    blocked: BlockedPairs | None,
    gamma: GammaArray | None,
) -> GammaArray:
    """Gamma of a session's pairs: looked up in the union's gamma when the caller has it."""
    if blocked is None or gamma is None or gamma.shape[0] != len(blocked) or not len(blocked):
        return compare(cache, settings, left, right)
    n = np.int64(max(1, blocked.n_records))
    union_keys = blocked.left * n + blocked.right  # sorted: block() returns pairs in key order
    keys = left * n + right
    pos = np.minimum(np.searchsorted(union_keys, keys), union_keys.size - 1)
    found = union_keys[pos] == keys
    if found.all():
        return gamma[pos]
    out = np.empty((keys.size, gamma.shape[1]), dtype=np.int8)
    out[found] = gamma[pos[found]]
    out[~found] = compare(cache, settings, left[~found], right[~found])
    return out


def _prior_from_blocked(
    model: MatchModel,
    settings: MatchSettings,
    gamma: GammaArray,
    n_blocked: int,
    scale: float,
    total_pairs: int,
) -> float:
    """EM for the prior alone over the blocked pairs, m and u fixed, then to all pairs."""
    if gamma.shape[0] == 0:
        return 1.0 / max(2, total_pairs)
    patterns, counts = pattern_counts(gamma)
    w = np.zeros(patterns.shape[0])
    for k, p in enumerate(model.ordered_for(settings)):
        w += p.weights()[patterns[:, k].astype(np.int64)] * math.log(2.0)
    lam = 0.1
    for _ in range(200):
        logit = math.log(lam / (1 - lam)) + w
        post = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        new = float(np.clip((counts * post).sum() / counts.sum(), 1e-12, 1 - 1e-9))
        if abs(new - lam) < 1e-9:
            lam = new
            break
        lam = new
    expected_matches = lam * counts.sum() * scale
    return float(expected_matches / max(1, total_pairs))


def _unique_names(names: list[str]) -> list[str]:
    out: list[str] = []
    for k, name in enumerate(names):
        out.append(name if name not in out else f"{name} #{k}")
    return out


def score_pairs(
    frame: pd.DataFrame,
    settings: MatchSettings,
    model: MatchModel | None = None,
    *,
    link_only_between: BoolArray | None = None,
) -> ScoredPairs:
    """Block, compare, (train when no model is given), score and classify every pair."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    frame = _prepare(frame, settings)
    if model is not None:
        model.check_settings(settings)
    cache = ColumnCache(frame)
    blocked = block(
        frame,
        settings.blocking_rules,
        max_pairs_per_rule=settings.max_pairs_per_rule,
        link_only_between=link_only_between,
        cache=cache,
    )
    t1 = time.perf_counter()
    timings["block"] = t1 - t0
    left, right = blocked.left, blocked.right
    gamma = compare(cache, settings, left, right)
    t2 = time.perf_counter()
    timings["compare"] = t2 - t1
    if model is None:
        model = train(
            frame,
            settings,
            link_only_between=link_only_between,
            cache=cache,
            blocked=blocked,
            gamma=gamma,
        )
    t3 = time.perf_counter()
    timings["train"] = t3 - t2
    scores = score(cache, settings, model, left, right, gamma)
    classified = classify(cache, settings, left, right, gamma, scores.probability)
    ids = frame[settings.id_column].to_numpy(dtype=object)
    rule_names = _unique_names([c.rule for c in blocked.counts])
    data: dict[str, Any] = {
        "i": left,
        "j": right,
        "left_id": ids[left],
        "right_id": ids[right],
    }
    for k, comp in enumerate(settings.comparisons):
        data[f"gamma_{comp.name}"] = gamma[:, k]
    for k, comp in enumerate(settings.comparisons):
        data[f"weight_{comp.name}"] = scores.weights[:, k]
    data["match_weight"] = scores.match_weight
    data["probability"] = scores.probability
    data["classification"] = classified.classification
    data["guard"] = classified.guard
    data["blocking_rule"] = pd.Categorical.from_codes(
        blocked.rule.astype(np.int64), categories=pd.Index(rule_names)
    )
    pairs = pd.DataFrame(data)
    timings["score"] = time.perf_counter() - t3
    return ScoredPairs(
        pairs=pairs, settings=settings, model=model, blocking=blocked, timings=timings
    )
