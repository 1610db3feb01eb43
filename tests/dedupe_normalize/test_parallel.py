"""normalize_batches: several worker processes give exactly normalize_frame's results."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import pandas as pd
import pytest

from crmhub_dedupe.normalize import NormalizeInputError, normalize_batches, normalize_frame


def _batch(start: int, size: int) -> list[dict[str, Any]]:
    countries = ["NL", "Deutschland", "France", "India", None]
    out = []
    for k in range(start, start + size):
        out.append(
            {
                "record_id": f"r{k}",
                "source": "test",
                "given_name": ["Jan", "Anna", "Ravi", "Émile", ""][k % 5],
                "family_name": ["van den Berg", "Müller", "Sharma", "Dupont", None][k % 5],
                "emails": [f"user{k}@example.nl"] if k % 3 else ["not an email"],
                "phones": [f"06 {10000000 + k}"] if k % 4 else [],
                "addresses": [
                    {"street": f"Hauptstr. {k % 50}", "postal_code": "1012 AB",
                     "city": "Amsterdam", "country": countries[k % 5]}
                ],
                "birth_date": "31-12-1980" if k % 2 else "garbage",
            }
        )  # fmt: skip
    return out


BATCHES = [_batch(0, 700), _batch(700, 500), _batch(1200, 1)]


@pytest.mark.parametrize("workers", [1, 2])
def test_same_frames_and_issues_as_normalize_frame_in_input_order(workers: int) -> None:
    results = list(normalize_batches(iter(BATCHES), workers=workers, default_country="NL"))
    assert len(results) == len(BATCHES)
    for batch, result in zip(BATCHES, results, strict=True):
        expected = normalize_frame(batch, default_country="NL")
        pd.testing.assert_frame_equal(result.frame, expected.frame)
        pd.testing.assert_frame_equal(result.issues, expected.issues)
    assert len(results[0].issues) > 0  # the batches carry garbage the issues must report


def test_dataframe_batches_and_extra_fields() -> None:
    frames = [pd.DataFrame(b).assign(extras=[{"vip": "Yes"}] * len(b)) for b in BATCHES[:2]]
    results = list(normalize_batches(frames, workers=2, extra_fields=["vip"]))
    assert [len(r.frame) for r in results] == [700, 500]
    assert set(results[1].frame["x_vip"]) == {"yes"}


def test_a_bad_batch_raises_its_input_error_in_the_caller() -> None:
    bad = _batch(0, 3) + _batch(0, 1)  # record id r0 twice
    results = normalize_batches(iter([BATCHES[0], bad, BATCHES[1]]), workers=2)
    assert len(next(results).frame) == 700
    with pytest.raises(NormalizeInputError, match="r0"):
        next(results)


def test_pool_of_workers_when_another_thread_runs() -> None:
    # forking beside a running thread could copy a held lock: the batches go to a pool
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        results = list(normalize_batches(iter(BATCHES), workers=2, default_country="NL"))
    finally:
        stop.set()
        thread.join()
    for batch, result in zip(BATCHES, results, strict=True):
        expected = normalize_frame(batch, default_country="NL")
        pd.testing.assert_frame_equal(result.frame, expected.frame)
        pd.testing.assert_frame_equal(result.issues, expected.issues)


def test_abandoned_iteration_leaves_no_child_running() -> None:
    results = normalize_batches(iter(BATCHES * 3), workers=2)
    assert len(next(results).frame) == 700
    results.close()
    assert [p for p in multiprocessing.active_children() if p.name == "crmhub-normalize"] == []
