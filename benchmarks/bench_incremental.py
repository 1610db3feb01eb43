"""Incremental matching: 10,000 new records against a 1,000,000-record master.

The synthetic set (:mod:`crmhub.synthetic`, cached under ``.bench/``) of master + new
records is shuffled with a fixed seed, so new records have duplicates in the master, among
themselves, or nowhere. The master's state is what a previous run would have stored: its
normalized frame (cached), master ids (the generator's entity ids, as if the previous run
were perfect, so every error counted here is the incremental run's own) and a model trained
on a 100,000-record sample. None of that setup is timed.

Timed: normalize the new records, then :func:`crmhub_dedupe.incremental.match_incremental`
with the pipeline's blocking rules (linkage mode new vs master, plus dedupe among the new)
and its scoring and look-alike guards. Printed: time, peak memory, what the run decided, and
pairwise precision/recall/F1 over the pairs that involve a new record.

    .venv/bin/python benchmarks/bench_incremental.py
    .venv/bin/python benchmarks/bench_incremental.py --master 100000 --new 2000 --json
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedupe_1m import CACHE, load, load_avg, peak_gib


class PipelineMatcher:
    """``block`` and ``score`` callables for match_incremental, over the engine's pipeline."""

    def __init__(self, settings: Any, model: Any) -> None:
        self.settings = settings
        self.model = model
        self._frame: pd.DataFrame | None = None
        self._cache: Any = None

    def cache(self, frame: pd.DataFrame) -> Any:
        from crmhub_dedupe.comparison import ColumnCache

        if self._frame is not frame:
            self._frame, self._cache = frame, ColumnCache(frame)
        return self._cache

    def block(self, frame: pd.DataFrame, is_new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from crmhub_dedupe.blocking import block

        rules = self.settings.blocking_rules
        linked = block(frame, rules, link_only_between=is_new, cache=self.cache(frame))
        rows = np.flatnonzero(is_new)
        inner = block(frame.iloc[rows].reset_index(drop=True), rules)
        return (
            np.concatenate([linked.left, rows[inner.left]]),
            np.concatenate([linked.right, rows[inner.right]]),
        )

    def score(self, frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        from crmhub_dedupe.comparison import compare
        from crmhub_dedupe.scoring import classify, score

        cache = self.cache(frame)
        gamma = compare(cache, self.settings, left, right)
        scores = score(cache, self.settings, self.model, left, right, gamma)
        classes = np.asarray(
            classify(cache, self.settings, left, right, gamma, scores.probability).classification
        )
        # A pair a look-alike guard capped must not auto-merge: keep it below the threshold.
        cap = np.nextafter(self.settings.thresholds.auto_merge, 0.0)
        return np.where(classes == "merge", scores.probability, np.minimum(scores.probability, cap))


def pairs_with_new(groups: Counter[Any], new_groups: Counter[Any]) -> int:
    """Pairs inside groups that involve at least one new record."""
    total = 0
    for g, size in groups.items():
        old = size - new_groups.get(g, 0)
        total += size * (size - 1) // 2 - old * (old - 1) // 2
    return total


def run(n_master: int, n_new: int, seed: int) -> dict[str, Any]:
    from crmhub_dedupe.incremental import Thresholds, match_incremental
    from crmhub_dedupe.normalize import normalize_frame
    from crmhub_dedupe.pipeline import train
    from crmhub_dedupe.settings import MatchSettings

    records, truth, _ = load(n_master + n_new, seed, 0.0)
    order = np.random.default_rng(seed).permutation(len(records))
    master_recs = [records[k] for k in order[:n_master].tolist()]
    new_recs = [records[k] for k in order[n_master:].tolist()]
    del records

    # --- setup (not timed): what the previous run stored ---------------------------------
    settings = MatchSettings.default()
    frame_cache = CACHE / f"incremental_master_{n_master}_{n_new}_{seed}.pkl"
    if frame_cache.exists():
        with frame_cache.open("rb") as fh:
            master = pickle.load(fh)  # noqa: S301 - our own cache file
    else:
        print(f"normalizing the {n_master:,}-record master once (cached) ...", flush=True)
        master = normalize_frame(master_recs).frame
        with frame_cache.open("wb") as fh:
            pickle.dump(master, fh, protocol=5)
    master["master_id"] = master["record_id"].map(truth)
    created = {e: f"2020-01-01T00:00:{int(e[1:]) % 60:02d}+00:00" for e in set(truth.values())}
    sample = master.sample(n=min(100_000, len(master)), random_state=seed).drop(columns="master_id")
    model = train(sample.reset_index(drop=True), settings)
    del master_recs

    # --- timed -----------------------------------------------------------------------------
    load_start = load_avg()
    started = time.perf_counter()
    new_frame = normalize_frame(new_recs).frame
    t_norm = time.perf_counter() - started
    matcher = PipelineMatcher(settings, model)
    fresh = iter(range(10**9))
    result = match_incremental(
        master,
        new_frame,
        block=matcher.block,
        score=matcher.score,
        master_created=created,
        thresholds=Thresholds(settings.thresholds.auto_merge, settings.thresholds.review),
        new_master_id=lambda: f"new{next(fresh)}",
    )
    elapsed = time.perf_counter() - started

    # --- quality over pairs that involve a new record -----------------------------------------
    new_ids = set(new_frame["record_id"])
    final = dict(zip(master["record_id"], master["master_id"], strict=True))
    final.update(result.assignments)
    predicted = Counter(final.values())
    predicted_new = Counter(final[r] for r in new_ids)
    true_groups = Counter(truth[r] for r in final)
    true_new = Counter(truth[r] for r in new_ids)
    cells = Counter((final[r], truth[r]) for r in final)
    cells_new = Counter((final[r], truth[r]) for r in new_ids)
    tp = pairs_with_new(cells, cells_new)
    n_pred = pairs_with_new(predicted, predicted_new)
    n_true = pairs_with_new(true_groups, true_new)
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "master_records": len(master),
        "new_records": len(new_frame),
        "seconds": round(elapsed, 2),
        "normalize_new_s": round(t_norm, 2),
        "peak_rss_gib": round(peak_gib(), 2),
        **result.summary(),
        "precision_new_pairs": round(precision, 4),
        "recall_new_pairs": round(recall, 4),
        "f1_new_pairs": round(f1, 4),
        "true_pairs_with_new": n_true,
        "load_at_start": load_start,
        "load_at_end": load_avg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = run(args.master, args.new, args.seed)
    if args.json:
        print(json.dumps(out))
        return
    for key, value in out.items():
        print(f"{key:<22} {value}")


if __name__ == "__main__":
    main()
