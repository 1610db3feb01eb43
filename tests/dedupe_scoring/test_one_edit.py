"""The vectorized within-one-edit check agrees with rapidfuzz on many generated strings."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import distance, process

from crmhub_dedupe.comparison import ColumnCache, _one_edit_distance, compare
from crmhub_dedupe.settings import MatchSettings

ALPHABET = "ab0123456789-.@xyzäöüßé中文ñ"


def _edit(rng: random.Random, text: str) -> str:
    """One random edit: substitution, insertion, deletion or adjacent transposition."""
    kind = rng.choice("sidt")
    pos = rng.randrange(len(text) + 1)
    char = rng.choice(ALPHABET)
    if kind == "s" and pos < len(text):
        return text[:pos] + char + text[pos + 1 :]
    if kind == "d" and pos < len(text):
        return text[:pos] + text[pos + 1 :]
    if kind == "t" and pos + 1 < len(text):
        return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
    return text[:pos] + char + text[pos:]


def _pairs(seed: int, n: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    left, right = [], []
    for _ in range(n):
        # short alphabet and lengths: many pairs within one or two edits, and look-alikes
        length = rng.choice([1, 2, 3, 5, 8, 10, 10, 10, 24, 63, 64, 65, 90])
        a = "".join(
            rng.choice(ALPHABET[: rng.choice([3, 12, len(ALPHABET)])]) for _ in range(length)
        )
        b = a
        for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3])):
            b = _edit(rng, b)
        if not b:
            b = "a"
        left.append(a)
        right.append(b)
    return left, right


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("scorer", ["levenshtein", "damerau_levenshtein"])
def test_same_answer_as_rapidfuzz_within_one_edit(seed: int, scorer: str) -> None:
    left, right = _pairs(seed, 20_000)
    labels, codes = np.unique(np.array(left + right, dtype=object), return_inverse=True)
    cl, cr = codes[: len(left)], codes[len(left) :]
    func = (
        distance.Levenshtein.distance
        if scorer == "levenshtein"
        else distance.DamerauLevenshtein.distance
    )
    expected = process.cpdist(left, right, scorer=func, score_cutoff=2, dtype=np.float64)
    got = _one_edit_distance(
        labels.astype(object), cl, cr, transpositions=scorer == "damerau_levenshtein"
    )
    long = np.isnan(got)
    longest = np.maximum([len(v) for v in left], [len(v) for v in right])
    assert (long == (longest > 64)).all()
    assert long.any() and (~long).any()
    within = expected <= 1
    assert within[~long].sum() > 3_000 and (~within[~long]).sum() > 3_000  # both kinds occur
    np.testing.assert_array_equal(got[~long] <= 1, within[~long])
    np.testing.assert_array_equal(got[~long & within], expected[~long & within])


@pytest.mark.parametrize("kind", ["levenshtein", "damerau_levenshtein"])
@pytest.mark.parametrize("bands", [[1], [1, 2]])
def test_compare_levels_match_a_direct_rapidfuzz_computation(kind: str, bands: list[int]) -> None:
    """Through compare(): one-edit bands take the numpy path, wider bands stay exact."""
    left, right = _pairs(7, 3_000)
    frame = pd.DataFrame(
        {
            "record_id": [f"r{k}" for k in range(2 * len(left))],
            "code": left + right,
        }
    )
    settings = MatchSettings.from_dict(
        {
            "id_column": "record_id",
            "blocking_rules": [["code"]],
            "comparisons": [{"column": "code", "levels": ["exact", *[{kind: b} for b in bands]]}],
        },
        columns=["record_id", "code"],
    )
    i = np.arange(len(left), dtype=np.int64)
    j = i + len(left)
    gamma = compare(ColumnCache(frame), settings, i, j)[:, 0]
    func = (
        distance.Levenshtein.distance
        if kind == "levenshtein"
        else distance.DamerauLevenshtein.distance
    )
    dist = np.array([func(a, b) for a, b in zip(left, right, strict=True)])
    # levels: null, exact, one band per threshold, else
    expected = np.full(len(left), 1 + 1 + len(bands), dtype=np.int8)
    for level, band in reversed(list(enumerate(bands, start=2))):
        expected[dist <= band] = level
    expected[dist == 0] = 1
    np.testing.assert_array_equal(gamma, expected)
