"""EM recovers known m/u; JSON round trip; refinement from steward labels."""

from __future__ import annotations

import numpy as np
import pytest

from crmhub_dedupe.errors import ModelError
from crmhub_dedupe.model import (
    MatchModel,
    expectation_maximisation,
    initial_model,
    pattern_counts,
    refine_with_labels,
)
from crmhub_dedupe.settings import MatchSettings

# three comparisons, levels: null, best, middle, else
TRUE_M = [
    np.array([1, 0.85, 0.10, 0.05]),
    np.array([1, 0.70, 0.20, 0.10]),
    np.array([1, 0.90, 0.05, 0.05]),
]
TRUE_U = [
    np.array([1, 0.02, 0.08, 0.90]),
    np.array([1, 0.05, 0.15, 0.80]),
    np.array([1, 0.01, 0.04, 0.95]),
]


def _simulate(seed: int, n: int, prior: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    is_match = rng.random(n) < prior
    gamma = np.zeros((n, 3), dtype=np.int8)
    for k in range(3):
        for flag, probs in ((True, TRUE_M[k]), (False, TRUE_U[k])):
            rows = np.flatnonzero(is_match == flag)
            gamma[rows, k] = rng.choice([1, 2, 3], size=rows.size, p=probs[1:])
    # 5 % missing values
    gamma[rng.random((n, 3)) < 0.05] = 0
    return gamma, is_match


@pytest.mark.parametrize("seed", [11, 12])
def test_em_recovers_known_m_and_u(seed: int) -> None:
    gamma, is_match = _simulate(seed, 200_000, 0.2)
    patterns, counts = pattern_counts(gamma)
    assert counts.sum() == gamma.shape[0]
    assert patterns.shape[0] <= 4**3
    start_m = [np.array([1, 0.5, 0.3, 0.2])] * 3
    start_u = [np.array([1, 0.2, 0.3, 0.5])] * 3
    result = expectation_maximisation(
        patterns,
        counts,
        start_m,
        start_u,
        0.5,
        active=[True] * 3,
        fix_u=False,
        max_iterations=500,
        tolerance=1e-8,
    )
    assert result.converged
    assert abs(result.prior - is_match.mean()) < 0.01, f"seed {seed}"
    for k in range(3):
        np.testing.assert_allclose(result.m[k][1:], TRUE_M[k][1:], atol=0.02)
        np.testing.assert_allclose(result.u[k][1:], TRUE_U[k][1:], atol=0.02)


def test_em_with_fixed_u_estimates_m_only_for_active_comparisons() -> None:
    gamma, _ = _simulate(5, 100_000, 0.3)
    patterns, counts = pattern_counts(gamma)
    start_m = [np.array([1, 0.5, 0.3, 0.2])] * 3
    result = expectation_maximisation(
        patterns,
        counts,
        start_m,
        TRUE_U,
        0.5,
        active=[True, True, False],
        max_iterations=300,
        tolerance=1e-9,
    )
    np.testing.assert_allclose(result.m[0][1:], TRUE_M[0][1:], atol=0.03)
    np.testing.assert_allclose(result.u[0], TRUE_U[0])  # fixed
    np.testing.assert_allclose(result.m[2], start_m[2])  # held out


def test_model_json_round_trip_and_mismatch() -> None:
    settings = MatchSettings.default()
    model = initial_model(settings, prior=0.001)
    model.notes.append("a note")
    back = MatchModel.from_json(model.to_json())
    assert back.prior == pytest.approx(0.001)
    for a, b in zip(model.comparisons, back.comparisons, strict=True):
        np.testing.assert_allclose(a.m, b.m)
        assert a.level_labels == b.level_labels
    back.check_settings(settings)
    back.comparisons.pop()
    with pytest.raises(ModelError, match="not in the model"):
        back.check_settings(settings)
    with pytest.raises(ModelError, match="not valid JSON"):
        MatchModel.from_json("{nope")
    with pytest.raises(ModelError, match="format"):
        MatchModel.from_json('{"format": 99}')


def test_refine_with_labels_moves_weights_towards_decisions() -> None:
    settings = MatchSettings.default()
    model = initial_model(settings, prior=0.001)
    k = [c.name for c in settings.comparisons].index("given")
    else_level = len(settings.comparisons[k].levels) - 1
    before = model.comparisons[k].weights()[else_level]
    # stewards approved 300 pairs whose given names differed (nicknames the tables missed)
    gamma = np.zeros((400, len(settings.comparisons)), dtype=np.int8)
    gamma[:300, k] = else_level
    gamma[300:, k] = 1
    labels = np.array([True] * 300 + [False] * 100)
    refined = refine_with_labels(model, gamma, labels)
    after = refined.comparisons[k].weights()[else_level]
    assert after > before + 1.0
    assert refined.training["labelled_pairs"] == 400
    # m stays a distribution over the non-null levels
    assert refined.comparisons[k].m[1:].sum() == pytest.approx(1.0)
    with pytest.raises(ModelError, match="labels"):
        refine_with_labels(model, gamma, labels[:10])
