"""A batch's ledger entries looked up at once give what looking each one up gives."""

from __future__ import annotations

import json
from pathlib import Path

from target_crm.results import Ledger, Outcome


def _results(path: Path) -> None:
    lines = [
        {"stream": "customers", "key": "M1", "action": "create", "remote_id": "1",
         "content_hash": "a", "object": "contact"},
        {"stream": "customers", "key": "M2", "action": "create", "remote_id": "2",
         "content_hash": "b", "object": "contact", "disposition": "merged"},
        {"stream": "orders", "key": "M1", "action": "create", "remote_id": "o1",
         "content_hash": "c", "object": "deal"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def _seen(ledger: Ledger, stream: str, keys: list[str]) -> dict[str, object]:
    return {k: ledger.get(stream, k) for k in keys}


def test_prefetched_entries_are_the_ones_looked_up_one_by_one(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    _results(results)
    keys = ["M1", "M2", "M3", "M1"]
    one_by_one = Ledger.from_results(results)
    expected = _seen(one_by_one, "customers", keys)
    one_by_one.close(0)
    assert expected["M2"] is not None and expected["M2"].disposition == "merged"  # type: ignore[attr-defined]
    assert expected["M3"] is None

    batched = Ledger.from_results(results)  # now through the index built above
    batched.prefetch("customers", keys)
    # this run's own record is not replaced by what earlier runs say
    batched.record_outcomes([Outcome("customers", "M4", "create", "4", "d", object="contact")])
    batched.prefetch("customers", ["M4"])
    assert _seen(batched, "customers", keys) == expected
    assert batched.get("customers", "M4").content_hash == "d"  # type: ignore[union-attr]
    # the same key in another stream is another record
    assert batched.get("orders", "M1").remote_id == "o1"  # type: ignore[union-attr]
    batched.close(0)


def test_a_first_publish_finds_nothing_to_look_up(tmp_path: Path) -> None:
    ledger = Ledger.from_results(tmp_path / "results.jsonl")  # no file yet
    ledger.prefetch("customers", ["M1", "M2"])
    assert ledger.get("customers", "M1") is None
    ledger.record_outcomes([Outcome("customers", "M1", "create", "1", "a", object="contact")])
    assert ledger.get("customers", "M1").content_hash == "a"  # type: ignore[union-attr]
    ledger.close(0)
