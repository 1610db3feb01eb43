"""Clustering against networkx as an oracle, and the chain guard's rule, case by case."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from crmhub_dedupe.cluster import (
    ChainGuard,
    ClusterConstraintError,
    cluster_pairs,
    cluster_records,
    cluster_scored_pairs,
    connected_components,
)

NO_GUARD = ChainGuard(max_diameter=None, max_size=None)


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for node, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(node)
    return {frozenset(g) for g in groups.values()}


def _random_graph(seed: int) -> tuple[int, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    m = int(rng.integers(0, 2 * n))
    return n, rng.integers(0, n, m), rng.integers(0, n, m)


@pytest.mark.parametrize("seed", range(60))
def test_components_match_networkx(seed: int) -> None:
    n, left, right = _random_graph(seed)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(left.tolist(), right.tolist(), strict=True))
    expected = {frozenset(c) for c in nx.connected_components(graph)}
    labels = connected_components(n, left, right)
    assert _partition(labels) == expected, f"seed={seed}"
    # The label is the smallest member of its component.
    for comp in expected:
        assert {int(labels[v]) for v in comp} == {min(comp)}, f"seed={seed}"


def test_components_of_a_long_shuffled_path() -> None:
    seed = 7
    rng = np.random.default_rng(seed)
    order = rng.permutation(100_000)
    labels = connected_components(100_000, order[:-1], order[1:])
    assert (labels == 0).all(), f"seed={seed}"


def test_components_reject_nodes_out_of_range() -> None:
    with pytest.raises(IndexError, match=r"outside 0\.\.2"):
        connected_components(3, [0, 1], [1, 3])


@pytest.mark.parametrize("seed", range(40))
def test_guarded_clusters_respect_cannot_link_and_diameter(seed: int) -> None:
    """Properties of the guard on random graphs, checked with networkx."""
    rng = np.random.default_rng(1000 + seed)
    n = int(rng.integers(5, 120))
    m = int(rng.integers(n // 2, 3 * n))
    left, right = rng.integers(0, n, m), rng.integers(0, n, m)
    weight = rng.normal(size=m)
    cannot = rng.integers(0, n, (int(rng.integers(0, 6)), 2))
    cannot = cannot[cannot[:, 0] != cannot[:, 1]]
    guard = ChainGuard(max_diameter=int(rng.integers(1, 6)), max_size=None)
    result = cluster_pairs(n, left, right, weight, cannot_link=cannot, guard=guard)
    labels = result.labels
    for a, b in cannot.tolist():
        assert labels[a] != labels[b], f"seed={seed}: rejected pair {a},{b} in one cluster"
    # Every final cluster is connected by kept edges and short enough.
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for j in np.flatnonzero(result.kept).tolist():
        graph.add_edge(int(left[j]), int(right[j]))
    assert _partition(labels) == {frozenset(c) for c in nx.connected_components(graph)}, (
        f"seed={seed}"
    )
    for comp in nx.connected_components(graph):
        assert nx.diameter(graph.subgraph(comp)) <= guard.max_diameter, f"seed={seed}"
    # The guard only ever splits: every cluster lies inside one unguarded component.
    plain = connected_components(n, left, right)
    for comp in _partition(labels):
        assert len({int(plain[v]) for v in comp}) == 1, f"seed={seed}"


def test_guard_leaves_harmless_components_alone() -> None:
    # Two triangles and a pair: nothing to split.
    left = [0, 1, 2, 3, 4, 5, 6]
    right = [1, 2, 0, 4, 5, 3, 7]
    result = cluster_pairs(8, left, right, np.ones(7))
    assert result.split_components == 0
    assert result.kept.all()
    assert _partition(result.labels) == {
        frozenset({0, 1, 2}),
        frozenset({3, 4, 5}),
        frozenset({6, 7}),
    }


def test_chain_is_cut_at_its_weakest_link() -> None:
    # Path 0-1-2-3-4-5-6 (diameter 6), weakest link 3-4: the chain splits there.
    left = [0, 1, 2, 3, 4, 5]
    right = [1, 2, 3, 4, 5, 6]
    weight = [9.0, 8.0, 7.0, 1.0, 7.5, 9.5]
    result = cluster_pairs(7, left, right, weight, guard=ChainGuard(max_diameter=3))
    assert _partition(result.labels) == {frozenset({0, 1, 2, 3}), frozenset({4, 5, 6})}
    assert result.kept.tolist() == [True, True, True, False, True, True]
    assert result.split_components == 1


def test_cannot_link_drops_the_weak_bridge_not_the_strong_links() -> None:
    # Two strong groups {0,1,2} and {3,4,5} bridged by a weak 2-3 pair; 0 and 5 rejected.
    left = [0, 1, 0, 3, 4, 3, 2]
    right = [1, 2, 2, 4, 5, 5, 3]
    weight = [10, 10, 10, 10, 10, 10, 0.5]
    result = cluster_pairs(6, left, right, weight, cannot_link=[[0, 5]], guard=NO_GUARD)
    assert _partition(result.labels) == {frozenset({0, 1, 2}), frozenset({3, 4, 5})}
    assert result.kept.tolist() == [True] * 6 + [False]


def test_must_link_joins_and_wins_over_cannot_link_elsewhere() -> None:
    # No accepted pair between 0 and 1, but a steward approved it.
    result = cluster_pairs(4, [2], [3], must_link=[[0, 1]], cannot_link=[[1, 2]])
    assert _partition(result.labels) == {frozenset({0, 1}), frozenset({2, 3})}
    # Approved 0-1 and strong 1-2, 0-2 rejected: the accepted pair 1-2 gives way.
    result = cluster_pairs(3, [1], [2], [50.0], must_link=[[0, 1]], cannot_link=[[0, 2]])
    assert _partition(result.labels) == {frozenset({0, 1}), frozenset({2})}
    assert result.kept.tolist() == [False]


def test_contradicting_steward_decisions_raise() -> None:
    with pytest.raises(ClusterConstraintError, match="both approved and rejected"):
        cluster_pairs(2, [], [], must_link=[[0, 1]], cannot_link=[[1, 0]])
    with pytest.raises(ClusterConstraintError, match="rejected pair"):
        cluster_pairs(3, [], [], must_link=[[0, 1], [1, 2]], cannot_link=[[0, 2]])


def test_chain_held_by_approved_pairs_only_stays_whole() -> None:
    must = [[i, i + 1] for i in range(6)]
    result = cluster_pairs(7, [], [], must_link=must, guard=ChainGuard(max_diameter=2))
    assert _partition(result.labels) == {frozenset(range(7))}


def test_max_size_caps_clusters() -> None:
    # A star of 6 around node 0 with decreasing weights: the cap keeps the 3 strongest.
    left = [0, 0, 0, 0, 0]
    right = [1, 2, 3, 4, 5]
    weight = [5, 4, 3, 2, 1]
    result = cluster_pairs(6, left, right, weight, guard=ChainGuard(None, max_size=4))
    assert frozenset({0, 1, 2, 3}) in _partition(result.labels)
    assert result.kept.tolist() == [True, True, True, False, False]


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="weight has 1 values for 2 pairs"):
        cluster_pairs(3, [0, 1], [1, 2], [1.0])
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        cluster_pairs(3, [0], [1], cannot_link=[0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        cluster_pairs(3, [0], [1], [float("nan")])
    with pytest.raises(ValueError, match="max_diameter"):
        ChainGuard(max_diameter=0)


def test_cluster_records_by_id() -> None:
    ids = ["c", "a", "b", "d", "e"]
    pairs = pd.DataFrame(
        {"record_id_l": ["a", "b"], "record_id_r": ["b", "c"], "match_weight": [3.0, 2.0]}
    )
    clusters = cluster_records(ids, pairs, cannot_link=[("a", "c")])
    # a-b stronger than b-c, a and c rejected: {a, b}, {c}, {d}, {e}.
    assert clusters.to_dict() == {"c": "c", "a": "a", "b": "a", "d": "d", "e": "e"}
    with pytest.raises(KeyError, match="unknown record ids: \\['zz'\\]"):
        cluster_records(ids, pairs, must_link=[("a", "zz")])
    with pytest.raises(KeyError, match="no column 'score'"):
        cluster_records(ids, pairs, weight="score")
    with pytest.raises(ValueError, match="repeated"):
        cluster_records(["a", "a"], pairs.iloc[:0])


def test_members_lists_multi_record_clusters() -> None:
    result = cluster_pairs(6, [0, 2, 3], [1, 3, 4], guard=NO_GUARD)
    assert [g.tolist() for g in result.members()] == [[2, 3, 4], [0, 1]]
    assert result.n_clusters == 3


def test_random_constraints_against_brute_force_small() -> None:
    """On tiny graphs, no rejected pair ever shares a cluster and approved pairs always do."""
    rnd = random.Random(42)
    for trial in range(200):
        n = rnd.randint(2, 8)
        all_pairs = list(itertools.combinations(range(n), 2))
        edges = rnd.sample(all_pairs, rnd.randint(0, len(all_pairs)))
        rest = [p for p in all_pairs if p not in edges]
        must = rnd.sample(edges, min(len(edges), rnd.randint(0, 2)))
        cannot = rnd.sample(rest, min(len(rest), rnd.randint(0, 2)))
        left = [a for a, _ in edges]
        right = [b for _, b in edges]
        try:
            result = cluster_pairs(n, left, right, must_link=must, cannot_link=cannot)
        except ClusterConstraintError:
            graph = nx.Graph(must)
            assert any(a in graph and b in graph and nx.has_path(graph, a, b) for a, b in cannot), (
                f"trial={trial} seed=42: raised without a real contradiction"
            )
            continue
        for a, b in cannot:
            assert result.labels[a] != result.labels[b], f"trial={trial} seed=42"
        for a, b in must:
            assert result.labels[a] == result.labels[b], f"trial={trial} seed=42"


def test_one_million_nodes_is_fast() -> None:
    import time

    rng = np.random.default_rng(3)
    n = 1_000_000
    left = rng.integers(0, n, 400_000)
    right = np.minimum(left + rng.integers(1, 4, left.size), n - 1)
    start = time.perf_counter()
    result = cluster_pairs(n, left, right, rng.random(left.size))
    elapsed = time.perf_counter() - start
    assert result.labels.shape == (n,)
    assert elapsed < 20, f"clustering 1M nodes took {elapsed:.1f}s (seed=3)"


def test_strongly_negative_pairs_repel_through_a_chain() -> None:
    # 0~1 and 1~2 accepted, 0 and 2 compared with strong evidence against: 2 drops out
    # at the weaker link; a mildly negative pair changes nothing.
    left = [0, 1, 0]
    right = [1, 2, 2]
    weight = [12.0, 9.0, -15.0]
    accept = [True, True, False]
    result = cluster_scored_pairs(3, left, right, weight, accept)
    assert _partition(result.labels) == {frozenset({0, 1}), frozenset({2})}
    assert result.kept.tolist() == [True, False]
    mild = cluster_scored_pairs(3, left, right, [12.0, 9.0, -3.0], accept)
    assert _partition(mild.labels) == {frozenset({0, 1, 2})}
    off = cluster_scored_pairs(3, left, right, weight, accept, reject_below=None)
    assert _partition(off.labels) == {frozenset({0, 1, 2})}
    with pytest.raises(ValueError, match="differ in length"):
        cluster_scored_pairs(3, left, right, weight, [True])
