"""Cluster accepted pairs into entities: connected components with a guard against chaining.

Records are nodes ``0 .. n-1``; accepted pairs are edges with a weight (match weight or
probability: only the order matters). The work is done in two passes:

1. **Components** of the whole graph, vectorized in numpy (hooking of roots plus pointer
   jumping, no Python loop per pair), so a million records cluster in well under a second.
2. **Guard**, only for the few components that break a rule. A component is *offending* when
   it holds a cannot-link pair (a pair a steward rejected, or a pair the caller knows is
   strongly non-matching), when it is larger than ``max_size``, or when it is large enough
   that its diameter could exceed ``max_diameter``. An offending component is rebuilt:

   - Edges are added strongest first (must-link edges before all others), union-find style;
     an edge that would put a cannot-link pair into one cluster, or grow a cluster past
     ``max_size``, is dropped. Strong evidence thus wins over the weak link in the chain.
   - Each resulting cluster whose diameter (in accepted edges) exceeds ``max_diameter`` is
     cut: the weakest edge on its longest shortest path is dropped, repeatedly, until every
     part is short enough. Must-link edges are never dropped.

Must-link edges (pairs a steward approved) always hold; a must-link chain that joins a
cannot-link pair is a contradiction and raises :class:`ClusterConstraintError`.

The label of a cluster is the smallest node index in it, so labels are deterministic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

__all__ = [
    "ChainGuard",
    "ClusterConstraintError",
    "Clustering",
    "cluster_pairs",
    "cluster_records",
    "cluster_scored_pairs",
    "connected_components",
]

# Exact diameters (BFS from every node) up to this many nodes; larger parts use the
# double-sweep bound, which is exact on trees and a lower bound otherwise.
_EXACT_DIAMETER_LIMIT = 300


class ClusterConstraintError(ValueError):
    """Steward decisions contradict each other (approved pairs chain a rejected pair)."""

    def __init__(self, message: str, *, pair: tuple[int, int]) -> None:
        super().__init__(message)
        self.pair = pair


@dataclass(frozen=True)
class ChainGuard:
    """Limits that stop long chains of weak links from joining unrelated records.

    ``max_diameter``: the longest shortest path (in accepted pairs) allowed inside one
    cluster; ``None`` switches the check off. ``max_size``: the most records one cluster may
    hold; ``None`` for no limit.
    """

    max_diameter: int | None = 4
    max_size: int | None = None

    def __post_init__(self) -> None:
        if self.max_diameter is not None and self.max_diameter < 1:
            raise ValueError(f"max_diameter must be >= 1 or None, got {self.max_diameter}")
        if self.max_size is not None and self.max_size < 2:
            raise ValueError(f"max_size must be >= 2 or None, got {self.max_size}")


@dataclass(frozen=True)
class Clustering:
    """Result of :func:`cluster_pairs`.

    ``labels[i]`` is the cluster of node ``i`` (the smallest node index in it). ``kept[j]``
    tells whether input edge ``j`` (accepted pairs first, then must-link pairs) lies inside a
    final cluster; edges dropped by the guard are ``False``. ``split_components`` counts the
    components the guard had to rebuild.
    """

    labels: IntArray
    kept: BoolArray
    split_components: int

    @property
    def n_clusters(self) -> int:
        """Number of clusters, singletons included."""
        return int(np.unique(self.labels).size)

    def members(self) -> list[IntArray]:
        """Node indices of every cluster with two or more members, largest first."""
        order = np.argsort(self.labels, kind="stable")
        sorted_labels = self.labels[order]
        cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
        groups = [g for g in np.split(order, cuts) if g.size > 1]
        groups.sort(key=lambda g: (-g.size, int(g[0])))
        return groups


def connected_components(n: int, left: npt.ArrayLike, right: npt.ArrayLike) -> IntArray:
    """Component label of each of ``n`` nodes: the smallest node index in its component.

    Vectorized: every round hooks the larger root of each crossing edge onto the smaller
    root, then pointer jumping flattens every tree to its root. Rounds repeat only for the
    edges that still cross two components.
    """
    parent = np.arange(n, dtype=np.int64)
    lft = np.asarray(left, dtype=np.int64).ravel()
    rgt = np.asarray(right, dtype=np.int64).ravel()
    if lft.shape != rgt.shape:
        raise ValueError(f"left and right differ in length: {lft.size} and {rgt.size}")
    if lft.size == 0:
        return parent
    _check_range(n, lft, "left")
    _check_range(n, rgt, "right")
    while lft.size:
        root_l = parent[lft]
        root_r = parent[rgt]
        crossing = root_l != root_r
        if not crossing.any():
            break
        lft, rgt = lft[crossing], rgt[crossing]
        root_l, root_r = root_l[crossing], root_r[crossing]
        low = np.minimum(root_l, root_r)
        high = np.maximum(root_l, root_r)
        # parent[x] <= x always holds, so hooking high -> low can never make a cycle.
        np.minimum.at(parent, high, low)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    return parent


def cluster_pairs(
    n: int,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    *,
    must_link: npt.ArrayLike | None = None,
    cannot_link: npt.ArrayLike | None = None,
    guard: ChainGuard | None = None,
) -> Clustering:
    """Cluster ``n`` nodes joined by accepted pairs ``(left[j], right[j])``.

    ``weight[j]`` ranks the pairs for the guard (higher is stronger; default all equal).
    ``must_link`` and ``cannot_link`` are ``(k, 2)`` arrays of node pairs: approved pairs are
    always joined, rejected pairs never end up in one cluster. ``guard`` defaults to
    :class:`ChainGuard` ``()``; see the module docstring for the rule.
    """
    guard = ChainGuard() if guard is None else guard
    lft = np.asarray(left, dtype=np.int64).ravel()
    rgt = np.asarray(right, dtype=np.int64).ravel()
    if lft.shape != rgt.shape:
        raise ValueError(f"left and right differ in length: {lft.size} and {rgt.size}")
    wgt = (
        np.zeros(lft.size, dtype=np.float64)
        if weight is None
        else np.asarray(weight, dtype=np.float64).ravel()
    )
    if wgt.shape != lft.shape:
        raise ValueError(f"weight has {wgt.size} values for {lft.size} pairs")
    if np.isnan(wgt).any():
        raise ValueError("weight contains NaN; give every accepted pair a weight")
    must = _pairs_array(must_link, "must_link")
    cannot = _pairs_array(cannot_link, "cannot_link")
    for name, arr in (("left", lft), ("right", rgt), ("must_link", must), ("cannot_link", cannot)):
        _check_range(n, arr, name)
    n_accepted = lft.size
    if must.size:
        lft = np.concatenate([lft, must[:, 0]])
        rgt = np.concatenate([rgt, must[:, 1]])
        wgt = np.concatenate([wgt, np.full(must.shape[0], np.inf)])
    is_must = np.zeros(lft.size, dtype=np.bool_)
    is_must[n_accepted:] = True
    _check_direct_conflicts(must, cannot)

    labels = connected_components(n, lft, rgt)
    kept = np.ones(lft.size, dtype=np.bool_)
    offending = _offending_components(labels, cannot, guard)
    if offending.size == 0:
        return Clustering(labels=labels, kept=kept[:n_accepted].copy(), split_components=0)

    edge_label = labels[lft]
    in_offending = np.isin(edge_label, offending)
    edge_idx = np.flatnonzero(in_offending)
    # Group edges and cannot-link pairs of offending components by component label.
    edge_groups = _group_by(edge_label[edge_idx], edge_idx)
    cannot_in = cannot[(labels[cannot[:, 0]] == labels[cannot[:, 1]])] if cannot.size else cannot
    cannot_groups = (
        _group_by(labels[cannot_in[:, 0]], np.arange(cannot_in.shape[0])) if cannot_in.size else {}
    )
    node_idx = np.flatnonzero(np.isin(labels, offending))
    node_groups = _group_by(labels[node_idx], node_idx)

    new_labels = labels.copy()
    for comp in offending.tolist():
        edges = edge_groups.get(comp, np.empty(0, dtype=np.int64))
        forbidden = cannot_in[cannot_groups[comp]] if comp in cannot_groups else None
        parts, dropped = _rebuild_component(
            node_groups[comp], edges, lft, rgt, wgt, is_must, forbidden, guard
        )
        kept[dropped] = False
        for part in parts:
            new_labels[part] = part.min()
    return Clustering(
        labels=new_labels, kept=kept[:n_accepted].copy(), split_components=int(offending.size)
    )


def cluster_scored_pairs(
    n: int,
    left: npt.ArrayLike,
    right: npt.ArrayLike,
    match_weight: npt.ArrayLike,
    accept: npt.ArrayLike,
    *,
    reject_below: float | None = -10.0,
    must_link: npt.ArrayLike | None = None,
    cannot_link: npt.ArrayLike | None = None,
    guard: ChainGuard | None = None,
) -> Clustering:
    """Cluster every scored pair at once: accepted pairs join, strongly negative ones repel.

    ``left``/``right``/``match_weight`` are all compared pairs; ``accept`` flags the ones
    classified merge. A compared pair with ``match_weight < reject_below`` (log2 Bayes
    factor; -10 means the fields make a match about a thousand times less likely than not)
    becomes a cannot-link: two records with strong evidence against each other never end up
    in one cluster through a chain of others. ``None`` switches that off. ``kept`` in the
    result refers to the accepted pairs, in their order.
    """
    lft = np.asarray(left, dtype=np.int64).ravel()
    rgt = np.asarray(right, dtype=np.int64).ravel()
    wgt = np.asarray(match_weight, dtype=np.float64).ravel()
    acc = np.asarray(accept, dtype=np.bool_).ravel()
    if not (lft.shape == rgt.shape == wgt.shape == acc.shape):
        raise ValueError(
            f"left, right, match_weight and accept differ in length: "
            f"{lft.size}, {rgt.size}, {wgt.size}, {acc.size}"
        )
    against = [_pairs_array(cannot_link, "cannot_link")]
    if reject_below is not None:
        strong = (wgt < reject_below) & ~acc
        against.append(np.column_stack([lft[strong], rgt[strong]]))
    return cluster_pairs(
        n,
        lft[acc],
        rgt[acc],
        wgt[acc],
        must_link=must_link,
        cannot_link=np.concatenate(against),
        guard=guard,
    )


def cluster_records(
    record_ids: Sequence[str] | pd.Index | npt.ArrayLike,
    pairs: pd.DataFrame,
    *,
    left: str = "record_id_l",
    right: str = "record_id_r",
    weight: str | None = "match_weight",
    must_link: Sequence[tuple[str, str]] = (),
    cannot_link: Sequence[tuple[str, str]] = (),
    guard: ChainGuard | None = None,
) -> pd.Series:
    """Cluster records named by id; returns a Series record_id -> cluster id.

    The cluster id is the smallest record id (in the given order's position) of the
    cluster, so it is stable for the same input. ``pairs`` holds the accepted pairs, with
    ``weight`` naming a column that ranks them (``None``: all equal). Pairs or constraints
    naming an unknown record id raise ``KeyError`` listing the first few.
    """
    index = pd.Index(np.asarray(record_ids, dtype=object))
    if not index.is_unique:
        dupes = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"record ids must be unique; repeated: {dupes}")
    for col in (left, right) + ((weight,) if weight else ()):
        if col not in pairs.columns:
            raise KeyError(f"pairs frame has no column {col!r}; columns: {list(pairs.columns)}")
    pos_l = _positions(index, pairs[left].to_numpy(), left)
    pos_r = _positions(index, pairs[right].to_numpy(), right)
    wgt = pairs[weight].to_numpy(dtype=np.float64) if weight else None
    must = _id_pairs(index, must_link, "must_link")
    cannot = _id_pairs(index, cannot_link, "cannot_link")
    result = cluster_pairs(
        len(index), pos_l, pos_r, wgt, must_link=must, cannot_link=cannot, guard=guard
    )
    return pd.Series(index.to_numpy()[result.labels], index=index, name="cluster_id")


# --- helpers ---------------------------------------------------------------------------


def _check_range(n: int, arr: IntArray, name: str) -> None:
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = arr[(arr < 0) | (arr >= n)][:5].tolist()
        raise IndexError(f"{name} names nodes outside 0..{n - 1}: {bad}")


def _pairs_array(pairs: npt.ArrayLike | None, name: str) -> IntArray:
    if pairs is None:
        return np.empty((0, 2), dtype=np.int64)
    arr = np.asarray(pairs, dtype=np.int64)
    if arr.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must be a (k, 2) array of node pairs, got shape {arr.shape}")
    return arr


def _check_direct_conflicts(must: IntArray, cannot: IntArray) -> None:
    if not (must.size and cannot.size):
        return
    # Encode unordered pairs as one integer so millions of cannot-links check at numpy speed.
    top = int(max(must.max(), cannot.max())) + 1
    must_codes = np.minimum(must[:, 0], must[:, 1]) * top + np.maximum(must[:, 0], must[:, 1])
    cannot_codes = np.minimum(cannot[:, 0], cannot[:, 1]) * top + np.maximum(
        cannot[:, 0], cannot[:, 1]
    )
    clash = np.flatnonzero(np.isin(cannot_codes, must_codes))
    if clash.size:
        a, b = (int(x) for x in cannot[clash[0]])
        raise ClusterConstraintError(
            f"pair ({a}, {b}) is both approved and rejected; keep only the latest decision",
            pair=(a, b),
        )


def _offending_components(labels: IntArray, cannot: IntArray, guard: ChainGuard) -> IntArray:
    sizes = np.bincount(labels, minlength=labels.size)
    found: list[IntArray] = []
    if cannot.size:
        same = labels[cannot[:, 0]] == labels[cannot[:, 1]]
        found.append(labels[cannot[same, 0]])
    # A component of s nodes has diameter at most s - 1: only larger ones can be too long.
    limits = [
        limit
        for limit in (
            guard.max_size,
            None if guard.max_diameter is None else guard.max_diameter + 1,
        )
        if limit is not None
    ]
    if limits:
        found.append(np.flatnonzero(sizes > min(limits)).astype(np.int64))
    if not found:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate(found))


def _group_by(keys: IntArray, values: IntArray) -> dict[int, IntArray]:
    if keys.size == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    sk, sv = keys[order], values[order]
    cuts = np.flatnonzero(np.diff(sk)) + 1
    starts = np.concatenate([[0], cuts])
    return {int(sk[s]): grp for s, grp in zip(starts.tolist(), np.split(sv, cuts), strict=True)}


def _rebuild_component(
    nodes: IntArray,
    edges: IntArray,
    lft: IntArray,
    rgt: IntArray,
    wgt: FloatArray,
    is_must: BoolArray,
    forbidden: IntArray | None,
    guard: ChainGuard,
) -> tuple[list[IntArray], list[int]]:
    """Split one offending component; returns its parts and the dropped edge indices."""
    # Strongest first; ties keep input order so the result is deterministic.
    order = edges[np.lexsort((edges, -wgt[edges]))]
    parent: dict[int, int] = {int(v): int(v) for v in nodes.tolist()}
    members: dict[int, set[int]] = {int(v): {int(v)} for v in nodes.tolist()}
    banned: dict[int, set[int]] = {}
    if forbidden is not None:
        for a, b in forbidden.tolist():
            banned.setdefault(a, set()).add(b)
            banned.setdefault(b, set()).add(a)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    dropped: list[int] = []
    kept_edges: list[int] = []
    for e in order.tolist():
        a, b = int(lft[e]), int(rgt[e])
        ra, rb = find(a), find(b)
        if ra == rb:
            kept_edges.append(e)
            continue
        small, large = (ra, rb) if len(members[ra]) <= len(members[rb]) else (rb, ra)
        clash = next(
            ((m, o) for m in members[small] if m in banned for o in banned[m] & members[large]),
            None,
        )
        too_big = (
            guard.max_size is not None and len(members[ra]) + len(members[rb]) > guard.max_size
        )
        if clash is not None or too_big:
            if is_must[e]:
                what = f"rejected pair {clash}" if clash else f"max_size {guard.max_size}"
                raise ClusterConstraintError(
                    f"approved pairs join records that conflict with the {what}; "
                    "review the steward decisions for these records",
                    pair=(a, b),
                )
            dropped.append(e)
            continue
        parent[small] = large
        members[large] |= members.pop(small)
        kept_edges.append(e)

    parts = [np.array(sorted(m), dtype=np.int64) for m in members.values()]
    if guard.max_diameter is None:
        return parts, dropped
    kept_arr = np.array(kept_edges, dtype=np.int64)
    final: list[IntArray] = []
    for part in parts:
        if part.size <= guard.max_diameter + 1:
            final.append(part)
            continue
        part_set = set(part.tolist())
        part_edges = [e for e in kept_arr.tolist() if int(lft[e]) in part_set]
        pieces, cut = _break_chains(part, part_edges, lft, rgt, wgt, is_must, guard.max_diameter)
        final.extend(pieces)
        dropped.extend(cut)
    return final, dropped


def _break_chains(
    nodes: IntArray,
    edges: list[int],
    lft: IntArray,
    rgt: IntArray,
    wgt: FloatArray,
    is_must: BoolArray,
    max_diameter: int,
) -> tuple[list[IntArray], list[int]]:
    """Drop the weakest edge on a longest shortest path until every part is short enough."""
    alive = set(edges)
    cut: list[int] = []
    todo = [set(nodes.tolist())]
    done: list[IntArray] = []
    while todo:
        part = todo.pop()
        adj: dict[int, list[tuple[int, int]]] = {v: [] for v in part}
        for e in alive:
            a, b = int(lft[e]), int(rgt[e])
            if a in adj and b in adj:
                adj[a].append((b, e))
                adj[b].append((a, e))
        path = _longest_path(part, adj)
        if len(path) <= max_diameter:
            done.append(np.array(sorted(part), dtype=np.int64))
            continue
        breakable = [e for e in path if not is_must[e]]
        if not breakable:
            # Only approved pairs hold this chain together: the steward's word stands.
            done.append(np.array(sorted(part), dtype=np.int64))
            continue
        weakest = min(breakable, key=lambda e: (wgt[e], -e))
        alive.discard(weakest)
        cut.append(weakest)
        adj_a, adj_b = int(lft[weakest]), int(rgt[weakest])
        adj[adj_a] = [(v, e) for v, e in adj[adj_a] if e != weakest]
        adj[adj_b] = [(v, e) for v, e in adj[adj_b] if e != weakest]
        todo.extend(_split_parts(part, adj))
    return done, cut


def _bfs(start: int, adj: dict[int, list[tuple[int, int]]]) -> dict[int, tuple[int, int, int]]:
    """Distance, predecessor and edge into every node reachable from ``start``."""
    seen = {start: (0, -1, -1)}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        d = seen[v][0]
        for w, e in adj[v]:
            if w not in seen:
                seen[w] = (d + 1, v, e)
                queue.append(w)
    return seen


def _longest_path(part: set[int], adj: dict[int, list[tuple[int, int]]]) -> list[int]:
    """Edge indices of a longest shortest path in a connected part."""
    starts = sorted(part) if len(part) <= _EXACT_DIAMETER_LIMIT else []
    if not starts:
        first = _bfs(min(part), adj)
        starts = [max(first, key=lambda v: (first[v][0], -v))]
    best: tuple[int, int, dict[int, tuple[int, int, int]]] | None = None
    for s in starts:
        tree = _bfs(s, adj)
        far = max(tree, key=lambda v: (tree[v][0], -v))
        if best is None or tree[far][0] > best[2][best[1]][0]:
            best = (s, far, tree)
    if best is None:  # pragma: no cover - a part always has a node
        raise ValueError("empty part")
    _, v, tree = best
    path: list[int] = []
    while tree[v][1] != -1:
        path.append(tree[v][2])
        v = tree[v][1]
    return path


def _split_parts(part: set[int], adj: dict[int, list[tuple[int, int]]]) -> list[set[int]]:
    left = set(part)
    parts: list[set[int]] = []
    while left:
        comp = set(_bfs(min(left), adj))
        parts.append(comp)
        left -= comp
    return parts


def _positions(index: pd.Index, ids: npt.NDArray[np.object_], column: str) -> IntArray:
    pos = index.get_indexer(pd.Index(ids))
    if (pos < 0).any():
        unknown = pd.unique(ids[pos < 0])[:5].tolist()
        raise KeyError(f"pairs column {column!r} names unknown record ids: {unknown}")
    return pos.astype(np.int64)


def _id_pairs(index: pd.Index, pairs: Sequence[tuple[str, str]], name: str) -> IntArray:
    if not pairs:
        return np.empty((0, 2), dtype=np.int64)
    flat = np.asarray([x for p in pairs for x in p], dtype=object)
    pos = index.get_indexer(pd.Index(flat))
    if (pos < 0).any():
        unknown = pd.unique(flat[pos < 0])[:5].tolist()
        raise KeyError(f"{name} names unknown record ids: {unknown}")
    return pos.astype(np.int64).reshape(-1, 2)
