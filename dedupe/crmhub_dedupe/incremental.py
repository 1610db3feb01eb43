"""Incremental matching: new and changed records against each other and the existing master.

A run gets the normalized frame of the records already in the master (each with its
``master_id``), the normalized frame of new or changed records, the ids of deleted records,
the steward's approved and rejected pairs, and two callables from the caller: ``block``
(candidate pairs) and ``score`` (match probability per pair). It returns what the hub must
write: which master each new record joins, which masters merge into which, which are new,
which retire, which golden records to recompute, and the pairs for steward review.

Rules, in the order they are applied:

1. **Deleted** records leave their master. A master left without members retires; one with
   members left is recomputed. The remaining members stay together: their link was decided
   before and a deletion is not new evidence against it.
2. **Changed** records leave their previous master and are matched again like new ones; if
   nothing else claims it, a master emptied this way is reused by the component holding its
   old records, so a record that changed alone keeps its master id.
3. **Rejected pairs** are never merged and never proposed again. A rejected pair inside one
   existing master is a steward split: that master's members are scored pairwise and
   re-clustered with the pair as a cannot-link; the largest part keeps the master id.
4. Pairs scored at or above ``merge`` are accepted, pairs in ``[review, merge)`` become
   review candidates; **approved** pairs are always joined.
5. Existing masters are contracted to one node each, so old links are never re-decided;
   the new evidence is clustered with :func:`crmhub_dedupe.cluster.cluster_pairs` (chain
   guard included, counted in hops between new records and masters).
6. **Master ids stay stable**: a component holding one master keeps its id; a component
   holding several merges them into the **oldest** (by created timestamp, then id), and the
   others redirect to it; a component with no master gets a fresh id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import numpy as np
import numpy.typing as npt
import pandas as pd

from crmhub_dedupe.cluster import ChainGuard, cluster_pairs

__all__ = [
    "BlockFn",
    "CreatedFn",
    "IncrementalResult",
    "ScoreFn",
    "Thresholds",
    "exact_key_blocker",
    "match_incremental",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
BlockFn = Callable[[pd.DataFrame, BoolArray], tuple[npt.ArrayLike, npt.ArrayLike]]
"""``block(frame, is_new) -> (left, right)``: candidate pairs as row positions."""
ScoreFn = Callable[[pd.DataFrame, IntArray, IntArray], npt.ArrayLike]
"""``score(frame, left, right) -> probabilities``, one per pair."""
CreatedFn = Callable[[Sequence[str]], Mapping[str, Any]]
"""``created(master_ids) -> {master id: created timestamp}`` for the ids asked."""

# Scoring every pair of one master is fine for real clusters; beyond this a split would
# be quadratic in a suspicious mega-cluster, so the steward gets an error instead.
_MAX_SPLIT_MEMBERS = 500


@dataclass(frozen=True)
class Thresholds:
    """Probabilities at and above ``merge`` merge; ``[review, merge)`` go to review."""

    merge: float = 0.95
    review: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.review <= self.merge <= 1.0:
            raise ValueError(
                f"thresholds need 0 <= review <= merge <= 1, got review={self.review} "
                f"merge={self.merge}"
            )


@dataclass
class IncrementalResult:
    """What a run changes in the master.

    ``assignments``: record id -> master id for every record that is new, changed, or moved
    (merge, split). ``merges``: (loser, survivor) pairs; the loser redirects to the
    survivor. ``new_masters``: fresh master ids. ``retired``: masters left without members.
    ``recompute``: masters whose golden record must be rebuilt. ``review``: candidate pairs
    (``left_id``, ``right_id``, ``probability``) for the steward. ``removed``: deleted
    record ids that were found and taken out.
    """

    assignments: dict[str, str]
    merges: list[tuple[str, str]]
    new_masters: list[str]
    retired: list[str]
    recompute: set[str]
    review: pd.DataFrame
    removed: list[str] = field(default_factory=list)
    split: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts for the run history."""
        return {
            "assigned": len(self.assignments),
            "merges": len(self.merges),
            "new_masters": len(self.new_masters),
            "retired": len(self.retired),
            "recompute": len(self.recompute),
            "review": len(self.review),
            "removed": len(self.removed),
            "split": len(self.split),
        }


def match_incremental(
    master: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    block: BlockFn,
    score: ScoreFn,
    master_created: Mapping[str, Any] | CreatedFn,
    deleted: Iterable[str] = (),
    approved: Sequence[tuple[str, str]] = (),
    rejected: Sequence[tuple[str, str]] = (),
    thresholds: Thresholds | None = None,
    guard: ChainGuard | None = None,
    id_column: str = "record_id",
    master_column: str = "master_id",
    new_master_id: Callable[[], str] | None = None,
) -> IncrementalResult:
    """Match ``changes`` against ``master`` and each other; see the module docstring.

    ``master`` needs ``id_column`` and ``master_column``; ``changes`` needs ``id_column``
    and the columns ``block``/``score`` read. ``master_created`` maps every master id to its
    created timestamp (comparable values: ISO strings or datetimes), or is a function that
    answers that mapping for the master ids it is given: it is then asked only for the
    masters whose age decides something (the survivor of a merge, the age of a split's new
    parts), which spares a caller reading the timestamps of a whole neighbourhood.
    ``new_master_id`` makes fresh ids (default: random UUID hex).
    """
    thresholds = thresholds or Thresholds()
    make_id = new_master_id or (lambda: uuid4().hex)
    _check_frames(master, changes, id_column, master_column)
    if isinstance(master_created, Mapping):
        master_ids = pd.Index(pd.unique(master[master_column].to_numpy(dtype=object)))
        missing = master_ids.difference(pd.Index(list(master_created), dtype=object))
        if len(missing):
            raise KeyError(
                f"master_created has no created timestamp for master ids {sorted(missing)[:5]}"
            )
    deleted_ids = set(deleted)
    change_ids = set(changes[id_column].to_numpy(dtype=object).tolist())
    # Only the records that go or change need their previous master looked up; a delete of
    # a record the master never had (a re-sent delete) is harmless and ignored.
    leaving = master[id_column].isin(deleted_ids | change_ids).to_numpy()
    previous = dict(
        zip(
            master[id_column].to_numpy(dtype=object)[leaving].tolist(),
            master[master_column].to_numpy(dtype=object)[leaving].tolist(),
            strict=True,
        )
    )
    removed = sorted(rid for rid in deleted_ids if rid in previous)

    keep = ~leaving
    base = master.loc[keep]
    changes = changes.loc[~changes[id_column].isin(deleted_ids).to_numpy()]
    frame = pd.concat([base.drop(columns=[master_column]), changes], ignore_index=True)
    n_base = len(base)
    ids = frame[id_column].to_numpy(dtype=object)
    is_new = np.zeros(len(frame), dtype=np.bool_)
    is_new[n_base:] = True
    base_master = base[master_column].to_numpy(dtype=object)

    rejected_set = {frozenset(p) for p in rejected if len(set(p)) == 2}
    created = _Ages(master_created)
    assignments: dict[str, str] = {}
    new_masters: list[str] = []
    recompute: set[str] = set()
    split: list[str] = []

    # 3. Steward splits: a rejected pair inside one existing master.
    base_master, split_ids = _split_masters(
        frame,
        base_master,
        rejected_set,
        ids,
        score,
        thresholds,
        make_id,
        created,
        _rows_of(frame.iloc[:n_base], id_column, {x for p in rejected_set for x in p}),
    )
    for old_id, parts in split_ids.items():
        split.append(old_id)
        recompute.add(old_id)
        for new_id, members in parts:
            new_masters.append(new_id)
            recompute.add(new_id)
            assignments.update({m: new_id for m in members})

    # 4. Candidate pairs with at least one new side, scored.
    left, right = _candidate_pairs(block, frame, is_new)
    prob = np.asarray(score(frame, left, right), dtype=np.float64).ravel()
    if prob.shape != left.shape:
        raise ValueError(f"score returned {prob.size} probabilities for {left.size} pairs")
    not_rejected = np.ones(left.size, dtype=np.bool_)
    if rejected_set:
        not_rejected[:] = [
            frozenset((ids[a], ids[b])) not in rejected_set
            for a, b in zip(left.tolist(), right.tolist(), strict=True)
        ]
    accept = (prob >= thresholds.merge) & not_rejected
    review_mask = (prob >= thresholds.review) & (prob < thresholds.merge) & not_rejected

    # 5. Contract: node per touched master, node per new record.
    row_of = _rows_of(frame, id_column, {x for p in (*approved, *rejected) for x in p})
    approved_pos = _positions(row_of, approved)
    touched = set(base_master[left[accept & ~is_new[left]]]) | set(
        base_master[right[accept & ~is_new[right]]]
    )
    for a, b in approved_pos.tolist():
        for x in (a, b):
            if not is_new[x]:
                touched.add(base_master[x])
    new_pos = np.flatnonzero(is_new)
    node_of = np.full(len(frame), -1, dtype=np.int64)
    node_of[new_pos] = np.arange(new_pos.size)
    master_nodes = sorted(touched)
    master_index = {m: new_pos.size + k for k, m in enumerate(master_nodes)}
    in_touched = pd.Series(base_master).isin(master_nodes).to_numpy()
    touched_rows = np.flatnonzero(in_touched)
    node_of[touched_rows] = [master_index[m] for m in base_master[touched_rows]]
    n_nodes = new_pos.size + len(master_nodes)

    edge_l, edge_r = node_of[left[accept]], node_of[right[accept]]
    edge_w = prob[accept]
    must = [(node_of[a], node_of[b]) for a, b in approved_pos.tolist() if node_of[a] != node_of[b]]
    cannot = []
    for pair in rejected_set:
        a, b = tuple(pair)
        if a in row_of and b in row_of:
            na, nb = node_of[row_of[a]], node_of[row_of[b]]
            if na >= 0 and nb >= 0 and na != nb:
                cannot.append((na, nb))
    valid = (edge_l >= 0) & (edge_r >= 0) & (edge_l != edge_r)
    clustering = cluster_pairs(
        n_nodes,
        edge_l[valid],
        edge_r[valid],
        edge_w[valid],
        must_link=np.array(must, dtype=np.int64).reshape(-1, 2),
        cannot_link=np.array(cannot, dtype=np.int64).reshape(-1, 2),
        guard=guard,
    )

    # 6. Stable master ids per component.
    lost = _lost_members(previous, deleted_ids | change_ids)
    # Masters that lost records but keep others (splits may have renamed some rows).
    still = set(base_master[pd.Series(base_master).isin(list(lost)).to_numpy()].tolist())
    emptied = lost - still
    comp_of = clustering.labels
    merges: list[tuple[str, str]] = []
    comp_master: dict[int, str] = {}
    comp_members: dict[int, list[int]] = {}
    for node in range(n_nodes):
        comp_members.setdefault(int(comp_of[node]), []).append(node)
    comp_masters: list[tuple[int, set[str]]] = []
    for comp, nodes in sorted(comp_members.items()):
        masters = {master_nodes[n - new_pos.size] for n in nodes if n >= new_pos.size}
        # A changed record's old master that it emptied joins the component, so it is
        # reused (or redirected to the survivor) instead of retiring.
        rids = [str(ids[new_pos[n]]) for n in nodes if n < new_pos.size]
        masters |= {previous[r] for r in rids if r in previous} & emptied
        emptied -= masters
        comp_masters.append((comp, masters))
    # the ages that choose survivors, asked for at once
    created.need(m for _, masters in comp_masters if len(masters) > 1 for m in masters)
    for comp, masters in comp_masters:
        if masters:
            # (one master needs no age: with a function it was not asked for)
            survivor = (
                next(iter(masters))
                if len(masters) == 1
                else min(masters, key=lambda m: (created[m], str(m)))
            )
            for loser in sorted(m for m in masters if m != survivor):
                merges.append((loser, survivor))
            comp_master[comp] = survivor
        else:
            comp_master[comp] = make_id()
            new_masters.append(comp_master[comp])
        recompute.add(comp_master[comp])
    for k, row in enumerate(new_pos.tolist()):
        assignments[str(ids[row])] = comp_master[int(comp_of[k])]
    survivor_of = dict(merges)
    if survivor_of:
        losers = pd.Series(base_master).isin(list(survivor_of)).to_numpy()
        for row in np.flatnonzero(losers).tolist():
            assignments[str(ids[row])] = survivor_of[base_master[row]]

    # 1-2. Masters that lost members: recompute, or retire when nobody is left.
    alive = still | set(assignments.values())
    retired = []
    for m in sorted(lost):
        if m in survivor_of:
            continue
        if m in alive:
            recompute.add(m)
        else:
            retired.append(m)
            recompute.discard(m)
    for loser in survivor_of:
        recompute.discard(loser)

    final_master = _final_master_lookup(ids, base_master, n_base, assignments)
    review = _review_frame(ids, left, right, prob, review_mask, final_master)
    return IncrementalResult(
        assignments=assignments,
        merges=merges,
        new_masters=new_masters,
        retired=retired,
        recompute=recompute,
        review=review,
        removed=removed,
        split=split,
    )


def exact_key_blocker(*columns: str) -> BlockFn:
    """A blocker: pairs that share a non-empty value in any of ``columns``, one side new.

    Meant for tests and small projects; the matching pipeline's blocking rules do better.
    """
    if not columns:
        raise ValueError("exact_key_blocker needs at least one column")

    def block(frame: pd.DataFrame, is_new: BoolArray) -> tuple[IntArray, IntArray]:
        lefts: list[IntArray] = []
        rights: list[IntArray] = []
        for col in columns:
            if col not in frame.columns:
                raise KeyError(f"blocking column {col!r} is not in the frame")
            values = frame[col]
            ok = values.notna().to_numpy() & (values.astype(str) != "").to_numpy()
            keyed = pd.DataFrame({"k": values[ok].to_numpy(), "p": np.flatnonzero(ok)})
            new_side = keyed[is_new[keyed["p"].to_numpy()]]
            joined = new_side.merge(keyed, on="k", suffixes=("_l", "_r"))
            joined = joined[joined["p_l"] != joined["p_r"]]
            lefts.append(joined["p_l"].to_numpy(dtype=np.int64))
            rights.append(joined["p_r"].to_numpy(dtype=np.int64))
        return np.concatenate(lefts), np.concatenate(rights)

    return block


# --- helpers ---------------------------------------------------------------------------


def _check_frames(
    master: pd.DataFrame, changes: pd.DataFrame, id_column: str, master_column: str
) -> None:
    for name, frame, needed in (
        ("master", master, (id_column, master_column)),
        ("changes", changes, (id_column,)),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise KeyError(f"{name} frame lacks column(s) {missing}; has {list(frame.columns)}")
        if frame[id_column].is_unique:
            continue
        dupes = frame[id_column][frame[id_column].duplicated()]
        if len(dupes):
            raise ValueError(
                f"{name} frame repeats record ids {dupes.unique()[:5].tolist()}; "
                "send each record once per run"
            )
    if master[master_column].isna().any():
        bad = master.loc[master[master_column].isna(), id_column].head(5).tolist()
        raise ValueError(f"master records without a master id: {bad}")


def _candidate_pairs(
    block: BlockFn, frame: pd.DataFrame, is_new: BoolArray
) -> tuple[IntArray, IntArray]:
    if not is_new.any():
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    raw_l, raw_r = block(frame, is_new)
    left = np.asarray(raw_l, dtype=np.int64).ravel()
    right = np.asarray(raw_r, dtype=np.int64).ravel()
    if left.shape != right.shape:
        raise ValueError(f"block returned {left.size} left and {right.size} right positions")
    if left.size and (
        min(left.min(), right.min()) < 0 or max(left.max(), right.max()) >= len(frame)
    ):
        raise IndexError("block returned positions outside the frame")
    # Keep pairs with a new side, each unordered pair once.
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    keep = (lo != hi) & (is_new[lo] | is_new[hi])
    packed = np.unique(lo[keep] * len(frame) + hi[keep])
    return packed // len(frame), packed % len(frame)


def _rows_of(frame: pd.DataFrame, id_column: str, wanted: set[str]) -> dict[str, int]:
    """Row position of each wanted record id that is in the frame."""
    if not wanted:
        return {}
    hit = np.flatnonzero(frame[id_column].isin(wanted).to_numpy())
    return dict(
        zip(frame[id_column].to_numpy(dtype=object)[hit].tolist(), hit.tolist(), strict=True)
    )


def _positions(row_of: Mapping[str, int], pairs: Sequence[tuple[str, str]]) -> IntArray:
    rows = [(row_of[a], row_of[b]) for a, b in pairs if a in row_of and b in row_of and a != b]
    return np.array(rows, dtype=np.int64).reshape(-1, 2)


def _lost_members(previous: Mapping[str, str], gone: set[str]) -> set[str]:
    return {previous[rid] for rid in gone if rid in previous}


def _split_masters(
    frame: pd.DataFrame,
    base_master: npt.NDArray[Any],
    rejected: set[frozenset[str]],
    ids: npt.NDArray[Any],
    score: ScoreFn,
    thresholds: Thresholds,
    make_id: Callable[[], str],
    created: _Ages,
    row_of: Mapping[str, int],
) -> tuple[npt.NDArray[Any], dict[str, list[tuple[str, list[str]]]]]:
    if not rejected:
        return base_master, {}
    inside: dict[str, list[tuple[str, str]]] = {}
    for pair in rejected:
        a, b = tuple(pair)
        if a in row_of and b in row_of:
            ma, mb = base_master[row_of[a]], base_master[row_of[b]]
            if ma == mb:
                inside.setdefault(ma, []).append((a, b))
    if not inside:
        return base_master, {}
    base_master = base_master.copy()
    created.need(inside)
    result: dict[str, list[tuple[str, list[str]]]] = {}
    for master_id, pairs in sorted(inside.items()):
        rows = np.flatnonzero(base_master == master_id)
        if rows.size > _MAX_SPLIT_MEMBERS:
            raise ValueError(
                f"master {master_id} has {rows.size} records; split it by hand into smaller "
                f"groups first (automatic splits stop at {_MAX_SPLIT_MEMBERS})"
            )
        li, ri = np.triu_indices(rows.size, k=1)
        left, right = rows[li], rows[ri]
        prob = np.asarray(score(frame, left, right), dtype=np.float64).ravel()
        local = {int(r): k for k, r in enumerate(rows.tolist())}
        keep = prob >= thresholds.merge
        cannot = [(local[row_of[a]], local[row_of[b]]) for a, b in pairs]
        # Without the old evidence the kept members may fall apart into singletons; the
        # largest part keeps the id so most references stay valid.
        parts = cluster_pairs(
            rows.size,
            li[keep],
            ri[keep],
            prob[keep],
            cannot_link=np.array(cannot, dtype=np.int64),
            guard=ChainGuard(max_diameter=None),
        ).labels
        groups: dict[int, list[int]] = {}
        for k, label in enumerate(parts.tolist()):
            groups.setdefault(label, []).append(k)
        ordered = sorted(groups.values(), key=lambda g: (-len(g), str(ids[rows[g[0]]])))
        out: list[tuple[str, list[str]]] = []
        for group in ordered[1:]:
            new_id = make_id()
            created[new_id] = created.get(master_id, "")
            base_master[rows[group]] = new_id
            out.append((new_id, [str(ids[rows[k]]) for k in group]))
        result[master_id] = out
    return base_master, result


class _Ages:
    """Created timestamps of masters: the caller's mapping (copied), or what its function
    answers for the ids :meth:`need` names (each asked once), plus the run's new ids."""

    def __init__(self, source: Mapping[str, Any] | CreatedFn) -> None:
        self.known: dict[str, Any] = dict(source) if isinstance(source, Mapping) else {}
        self.ask = None if isinstance(source, Mapping) else source

    def need(self, master_ids: Iterable[str]) -> None:
        """Make sure the ages of ``master_ids`` are known (one call of the function)."""
        if self.ask is None:
            return
        wanted = sorted({m for m in master_ids if m not in self.known})
        if not wanted:
            return
        found = self.ask(wanted)
        missing = [m for m in wanted if m not in found]
        if missing:
            raise KeyError(f"master_created has no created timestamp for master ids {missing[:5]}")
        self.known.update((m, found[m]) for m in wanted)

    def __getitem__(self, master_id: str) -> Any:
        return self.known[master_id]

    def __setitem__(self, master_id: str, value: Any) -> None:
        self.known[master_id] = value

    def get(self, master_id: str, default: Any = None) -> Any:
        return self.known.get(master_id, default)


def _final_master_lookup(
    ids: npt.NDArray[Any],
    base_master: npt.NDArray[Any],
    n_base: int,
    assignments: Mapping[str, str],
) -> Callable[[int], str]:
    def lookup(row: int) -> str:
        rid = str(ids[row])
        if rid in assignments:
            return assignments[rid]
        return str(base_master[row]) if row < n_base else ""

    return lookup


def _review_frame(
    ids: npt.NDArray[Any],
    left: IntArray,
    right: IntArray,
    prob: npt.NDArray[np.float64],
    mask: BoolArray,
    final_master: Callable[[int], str],
) -> pd.DataFrame:
    rows = np.flatnonzero(mask)
    keep = [k for k in rows.tolist() if final_master(int(left[k])) != final_master(int(right[k]))]
    return pd.DataFrame(
        {
            "left_id": ids[left[keep]],
            "right_id": ids[right[keep]],
            "probability": prob[keep],
            "left_master_id": [final_master(int(left[k])) for k in keep],
            "right_master_id": [final_master(int(right[k])) for k in keep],
        }
    )
