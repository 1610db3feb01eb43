"""Incremental runs: stable master ids, merges into the oldest, steward decisions kept."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmhub_dedupe.incremental import (
    IncrementalResult,
    Thresholds,
    exact_key_blocker,
    match_incremental,
)

BLOCK = exact_key_blocker("person", "phone")


def score(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Same person key: 0.99; only the same phone: 0.7 (review); else 0.05."""
    person = frame["person"].to_numpy(dtype=object)
    phone = frame["phone"].to_numpy(dtype=object)
    same_person = (person[left] == person[right]) & pd.notna(person[left])
    same_phone = (phone[left] == phone[right]) & pd.notna(phone[left])
    return np.where(same_person, 0.99, np.where(same_phone, 0.7, 0.05))


def ids(prefix: str = "M") -> Callable[[], str]:
    counter: Iterator[int] = itertools.count(1)
    return lambda: f"{prefix}{next(counter)}"


def frame(*rows: tuple[str, str | None, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"record_id": r, "person": p, "phone": ph} for r, p, ph in rows],
        columns=["record_id", "person", "phone"],
    )


class Master:
    """A tiny master store: applies a run's result like the hub would."""

    def __init__(self) -> None:
        self.records = frame()
        self.records["master_id"] = pd.Series(dtype=object)
        self.created: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.clock = itertools.count(1)
        self.make_id = ids()

    def run(self, changes: pd.DataFrame, **kw: Any) -> IncrementalResult:
        result = match_incremental(
            self.records,
            changes,
            block=BLOCK,
            score=score,
            master_created=self.created,
            new_master_id=self.make_id,
            **kw,
        )
        stamp = f"2024-01-{next(self.clock):02d}"
        for m in result.new_masters:
            self.created.setdefault(m, stamp)
        gone = set(kw.get("deleted", ())) | set(changes["record_id"])
        kept = self.records[~self.records["record_id"].isin(gone)].copy()
        moved = kept["record_id"].map(result.assignments).astype(object)
        kept["master_id"] = moved.where(moved.notna(), kept["master_id"].astype(object))
        added = changes[~changes["record_id"].isin(set(kw.get("deleted", ())))].copy()
        added["master_id"] = added["record_id"].map(result.assignments)
        self.records = pd.concat([kept, added], ignore_index=True)
        for loser, survivor in result.merges:
            self.redirects[loser] = survivor
        return result

    def master_of(self, rid: str) -> str:
        row = self.records.loc[self.records["record_id"] == rid, "master_id"]
        return str(row.iloc[0])


def test_first_run_creates_masters_then_ids_stay_stable() -> None:
    m = Master()
    first = m.run(frame(("a", "P1", "111"), ("b", "P1", None), ("c", "P2", None)))
    assert first.new_masters == ["M1", "M2"]
    assert m.master_of("a") == m.master_of("b") == "M1" and m.master_of("c") == "M2"
    second = m.run(frame(("d", "P1", None), ("e", "P3", None)))
    assert second.assignments == {"d": "M1", "e": "M3"}
    assert second.new_masters == ["M3"]
    assert second.merges == [] and second.recompute == {"M1", "M3"}
    # Re-running the same records changes nothing but what they already are.
    third = m.run(frame(("d", "P1", None), ("e", "P3", None)))
    assert third.assignments == {"d": "M1", "e": "M3"} and third.new_masters == []


def test_two_masters_merge_into_the_older_and_the_other_redirects() -> None:
    m = Master()
    m.run(frame(("a", "P1", "555")))  # M1, older
    m.run(frame(("b", "P9", "777")))  # M2, newer
    # c has a's person key and is approved with b by a steward.
    result = m.run(frame(("c", "P1", None)), approved=[("c", "b")])
    assert result.merges == [("M2", "M1")]
    assert result.assignments == {"c": "M1", "b": "M1"}
    assert result.recompute == {"M1"}
    assert m.redirects == {"M2": "M1"}
    # Older wins even when the older master has the larger id.
    m2 = Master()
    m2.created = {"X9": "2019-01-01", "A1": "2022-01-01"}
    m2.records = pd.DataFrame(
        {
            "record_id": ["p", "q"],
            "person": ["K", "L"],
            "phone": ["1", "2"],
            "master_id": ["X9", "A1"],
        }
    )
    result = m2.run(frame(("r", "K", "2")), approved=[("r", "q")])
    assert result.merges == [("A1", "X9")]


def test_rejected_pair_is_never_merged_nor_proposed_again() -> None:
    m = Master()
    m.run(frame(("a", "P1", "555")))
    rejected = [("a", "n")]
    for _ in range(3):
        result = m.run(frame(("n", "P1", "555")), rejected=rejected)
        assert m.master_of("n") != m.master_of("a")
        assert result.review.empty
    # The rejection also blocks a chain through a third record.
    result = m.run(frame(("z", "P1", None)), rejected=rejected)
    assert not (m.master_of("z") == m.master_of("a") == m.master_of("n"))


def test_review_candidates_between_different_masters_only() -> None:
    m = Master()
    m.run(frame(("a", "P1", "555")))
    result = m.run(frame(("b", "P2", "555")))
    assert result.review[["left_id", "right_id"]].values.tolist() in ([["a", "b"]], [["b", "a"]])
    assert result.review["probability"].tolist() == [0.7]
    assert set(result.review.columns) >= {"left_master_id", "right_master_id"}


def test_approved_pair_stays_merged_across_runs() -> None:
    m = Master()
    m.run(frame(("a", "P1", None), ("b", "P2", None)), approved=[("a", "b")])
    assert m.master_of("a") == m.master_of("b")
    # b changes completely; the approval still holds it.
    m.run(frame(("b", "P7", "999")), approved=[("a", "b")])
    assert m.master_of("a") == m.master_of("b") == "M1"


def test_deletion_recomputes_or_retires() -> None:
    m = Master()
    m.run(frame(("a", "P1", None), ("b", "P1", None), ("c", "P2", None)))
    result = m.run(frame(), deleted=["b"])
    assert result.recompute == {"M1"} and result.retired == [] and result.removed == ["b"]
    result = m.run(frame(), deleted=["c", "never-seen"])
    assert result.retired == ["M2"] and result.removed == ["c"]
    assert "M2" not in result.recompute


def test_changed_record_alone_keeps_its_id_and_a_moved_one_redirects() -> None:
    m = Master()
    m.run(frame(("a", "P1", None), ("b", "P2", None)))
    result = m.run(frame(("a", "P1x", "1")))
    assert result.assignments == {"a": "M1"} and result.new_masters == []
    # a now describes the customer of M2: M1 (older) survives, M2 redirects.
    result = m.run(frame(("a", "P2", "1")))
    assert result.merges == [("M2", "M1")]
    assert m.master_of("b") == "M1"


def test_changed_record_leaves_a_shared_master() -> None:
    m = Master()
    m.run(frame(("a", "P1", None), ("b", "P1", None)))
    result = m.run(frame(("b", "P5", None)))
    assert result.assignments == {"b": "M2"}
    assert result.recompute == {"M1", "M2"}
    assert m.master_of("a") == "M1"


def test_rejecting_a_pair_inside_a_master_splits_it() -> None:
    m = Master()
    m.run(frame(("a", "P1", "1"), ("b", "P1", "1"), ("c", "P1", "1")))
    assert {m.master_of(x) for x in "abc"} == {"M1"}
    # The steward says b and c are not the same customer; with the person key everywhere,
    # the split keeps one side whole and takes the other out.
    result = m.run(frame(), rejected=[("b", "c")])
    assert result.split == ["M1"]
    assert m.master_of("b") != m.master_of("c")
    assert len({m.master_of(x) for x in "abc"}) == 2
    assert result.recompute == {"M1", *result.new_masters}


def test_new_records_cluster_among_themselves() -> None:
    m = Master()
    rows = [(f"r{i}", f"P{i // 2}", None) for i in range(6)]
    result = m.run(frame(*rows))
    assert result.new_masters == ["M1", "M2", "M3"]
    assert [result.assignments[f"r{i}"] for i in range(6)] == ["M1", "M1", "M2", "M2", "M3", "M3"]


def test_chain_guard_applies_to_new_evidence() -> None:
    # x0 - x1 - ... - x7: each only like its neighbour; a chain of 7 links is cut.
    def all_pairs(f: pd.DataFrame, is_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        li, ri = np.triu_indices(len(f), k=1)
        return li, ri

    def chain(f: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        num = f["record_id"].str[1:].astype(int).to_numpy()
        gap = np.abs(num[left] - num[right])
        return np.where(gap == 1, 0.96 + 0.001 * num[left], 0.0)

    master = pd.DataFrame(columns=["record_id", "person", "phone", "master_id"])
    changes = frame(*[(f"x{i}", None, None) for i in range(8)])
    result = match_incremental(
        master, changes, block=all_pairs, score=chain, master_created={}, new_master_id=ids()
    )
    groups: dict[str, list[int]] = {}
    for rid, mid in result.assignments.items():
        groups.setdefault(mid, []).append(int(rid[1:]))
    assert len(groups) >= 2
    assert all(max(g) - min(g) <= 4 for g in groups.values()), groups


def test_bad_input_is_named() -> None:
    master = pd.DataFrame(
        {"record_id": ["a"], "person": ["P"], "phone": [None], "master_id": ["M1"]}
    )
    with pytest.raises(KeyError, match="no created timestamp for master ids \\['M1'\\]"):
        match_incremental(master, frame(), block=BLOCK, score=score, master_created={})
    with pytest.raises(KeyError, match="master frame lacks column"):
        match_incremental(
            master.drop(columns="master_id"), frame(), block=BLOCK, score=score, master_created={}
        )
    with pytest.raises(ValueError, match="changes frame repeats record ids \\['x'\\]"):
        match_incremental(
            master,
            frame(("x", "P", None), ("x", "P", None)),
            block=BLOCK,
            score=score,
            master_created={"M1": "t"},
        )
    with pytest.raises(ValueError, match="score returned 0 probabilities for 1 pairs"):
        match_incremental(
            master,
            frame(("x", "P", None)),
            block=BLOCK,
            score=lambda f, lt, rt: [],
            master_created={"M1": "t"},
        )
    with pytest.raises(ValueError, match="review <= merge"):
        Thresholds(merge=0.5, review=0.9)


def test_ten_thousand_new_against_a_large_master_is_quick() -> None:
    import time

    n = 200_000
    rng = np.random.default_rng(5)
    master = pd.DataFrame(
        {
            "record_id": [f"m{i}" for i in range(n)],
            "person": [f"P{i // 2}" for i in range(n)],
            "phone": [None] * n,
            "master_id": [f"M{i // 2}" for i in range(n)],
        }
    )
    created = {f"M{i}": f"2020-01-{1 + i % 28:02d}" for i in range(n // 2)}
    picks = rng.integers(0, n, 10_000)
    changes = pd.DataFrame(
        {
            "record_id": [f"n{i}" for i in range(10_000)],
            "person": [f"P{p // 2}" if k % 3 else f"Q{k}" for k, p in enumerate(picks)],
            "phone": [None] * 10_000,
        }
    )
    start = time.perf_counter()
    result = match_incremental(
        master, changes, block=BLOCK, score=score, master_created=created, new_master_id=ids("N")
    )
    elapsed = time.perf_counter() - start
    assert len(result.assignments) >= 10_000
    assert sum(
        v.startswith("N") for k, v in result.assignments.items() if k.startswith("n")
    ) == len([k for k in range(10_000) if k % 3 == 0])
    assert elapsed < 30, f"10k new vs 200k master took {elapsed:.1f}s (seed=5)"


def test_master_ages_from_a_function_are_asked_only_where_they_pick_a_survivor() -> None:
    master = frame(("r1", "A", None), ("r2", "A", None), ("r3", "C", None), ("r4", "E", None))
    master["master_id"] = ["M1", "M2", "M3", "M4"]
    changes = frame(("n1", "A", None), ("n2", "D", None), ("n3", "E", None))
    ages = {"M1": "2024-02-01", "M2": "2024-01-01", "M3": "2023-01-01", "M4": "2022-01-01"}
    asked: list[list[str]] = []

    def created(master_ids: Any) -> dict[str, str]:
        asked.append(list(master_ids))
        return {m: ages[m] for m in master_ids}

    def run(given: Any) -> IncrementalResult:
        return match_incremental(
            master, changes, block=BLOCK, score=score, master_created=given, new_master_id=ids("N")
        )

    by_map, by_function = run(ages), run(created)
    assert by_function.merges == by_map.merges == [("M1", "M2")]  # into the older
    assert by_function.assignments == by_map.assignments
    assert by_function.new_masters == by_map.new_masters == ["N1"]
    assert by_function.recompute == by_map.recompute
    # M4 gains a record but merges with nothing: its age is not asked for
    assert asked == [["M1", "M2"]]
    with pytest.raises(KeyError, match="M1"):
        run(lambda master_ids: {})
