"""Blocking: pairs and counts equal a brute-force oracle; an exploding rule is refused."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from crmhub_dedupe.blocking import block, count_pairs, random_pairs
from crmhub_dedupe.errors import BlockingRuleTooBroadError
from crmhub_dedupe.settings import BlockingKey, BlockingRule


def _random_frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    letters = np.array(["aa", "ab", "ba", "bb", "cc", None], dtype=object)
    emails = [
        tuple(f"e{v}" for v in rng.choice(8, size=rng.integers(0, 3), replace=False))
        for _ in range(n)
    ]
    return pd.DataFrame(
        {
            "record_id": [f"r{k}" for k in range(n)],
            "a": rng.choice(letters, n),
            "b": rng.choice(np.array(["x", "y", "z", None], dtype=object), n),
            "emails": emails,
        }
    )


def _key(v: object, prefix: int | None) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v == "":
        return None
    return str(v)[:prefix] if prefix else str(v)


def _brute(
    frame: pd.DataFrame, rule: BlockingRule, side: np.ndarray | None
) -> set[tuple[int, int]]:
    out = set()
    n = len(frame)
    for i, j in itertools.combinations(range(n), 2):
        if side is not None and side[i] == side[j]:
            continue
        ok = True
        for key in rule.keys:
            vi, vj = frame[key.column].iat[i], frame[key.column].iat[j]
            if isinstance(vi, tuple):
                if not set(vi) & set(vj):
                    ok = False
            else:
                ki, kj = _key(vi, key.prefix), _key(vj, key.prefix)
                if ki is None or ki != kj:
                    ok = False
        if ok:
            out.add((i, j))
    return out


RULES = [
    BlockingRule((BlockingKey("a"),)),
    BlockingRule((BlockingKey("a"), BlockingKey("b"))),
    BlockingRule((BlockingKey("a", 1),)),
    BlockingRule((BlockingKey("emails"),)),
    BlockingRule((BlockingKey("emails"), BlockingKey("b"))),
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("linkage", [False, True])
def test_pairs_and_counts_match_brute_force(seed: int, linkage: bool) -> None:
    frame = _random_frame(seed, 40)
    side = np.random.default_rng(seed + 100).random(len(frame)) < 0.4 if linkage else None
    union: set[tuple[int, int]] = set()
    result = block(frame, RULES, link_only_between=side)
    for rule, count in zip(RULES, result.counts, strict=True):
        expected = _brute(frame, rule, side)
        alone = block(frame, [rule], link_only_between=side)
        got = set(zip(alone.left.tolist(), alone.right.tolist(), strict=True))
        assert got == expected, f"seed {seed} rule {rule.name}"
        assert count.pairs == len(expected)
        assert count.new_pairs == len(expected - union)
        if not any(isinstance(frame[k.column].iat[0], tuple) for k in rule.keys):
            # for scalar keys the pre-count (n*(n-1)/2 per block) is exact
            assert count_pairs(frame, [rule], link_only_between=side)[0].pairs == len(expected)
        union |= expected
    assert set(zip(result.left.tolist(), result.right.tolist(), strict=True)) == union
    assert (result.left < result.right).all()
    assert len(result) == len(union)


def test_sorted_neighbourhood_pairs_each_record_with_its_window() -> None:
    frame = pd.DataFrame({"record_id": list("abcdef"), "k": ["d", "a", "c", None, "b", "e"]})
    rule = BlockingRule((BlockingKey("k"),), kind="sorted_neighbourhood", window=3)
    result = block(frame, [rule])
    # sorted: a(1) b(4) c(2) d(0) e(5); window 3 pairs each with the next two
    expected = {tuple(sorted(p)) for p in [(1, 4), (1, 2), (4, 2), (4, 0), (2, 0), (2, 5), (0, 5)]}
    assert set(zip(result.left.tolist(), result.right.tolist(), strict=True)) == expected
    assert result.counts[0].pairs == 7


def test_exploding_rule_is_refused_before_pairs_exist() -> None:
    n = 3000
    frame = pd.DataFrame(
        {
            "record_id": [f"r{k}" for k in range(n)],
            "country": ["NL"] * n,
            "postcode": [f"{k % 500:04d}" for k in range(n)],
        }
    )
    rules = [
        BlockingRule((BlockingKey("postcode"),)),
        BlockingRule((BlockingKey("country"),)),
    ]
    counts = count_pairs(frame, rules)
    assert counts[1].pairs == n * (n - 1) // 2
    with pytest.raises(BlockingRuleTooBroadError) as err:
        block(frame, rules, max_pairs_per_rule=1_000_000)
    e = err.value
    assert [r.rule for r in e.rules] == ["[country]"]
    assert "[country] would generate 4,498,500 pairs" in str(e)
    assert "country='NL' with 3,000 records" in str(e)
    assert "max_pairs_per_rule" in (e.hint or "")
    assert e.exit_code == 78
    # the narrow rule alone is fine
    assert len(block(frame, rules[:1], max_pairs_per_rule=1_000_000)) == 500 * 15


def test_random_pairs_are_distinct_records_and_respect_sides() -> None:
    left, right = random_pairs(50, 2000, seed=3)
    assert (left < right).all() and right.max() < 50
    side = np.arange(50) < 10
    left, right = random_pairs(50, 500, seed=3, link_only_between=side)
    assert (side[left] != side[right]).all()
