"""The ledger's index beside the results file: read only what was appended since, rebuilt
whenever it no longer matches the file, and always what reading the whole file would say."""

from __future__ import annotations

import json
from pathlib import Path

from target_crm.ledger_index import index_path
from target_crm.results import Ledger, Outcome


def _line(key: str, action: str, remote: str | None, chash: str, **extra: str) -> str:
    return (
        json.dumps(
            {
                "stream": "customers",
                "key": key,
                "action": action,
                "remote_id": remote,
                "content_hash": chash,
                "object": "contact",
                **extra,
            }
        )
        + "\n"
    )


def _read(path: Path) -> dict[str, tuple[str | None, str | None]]:
    """(remote id, hash) per key, as the ledger reads them (through the index)."""
    ledger = Ledger.from_results(path)
    out = {}
    for key in ("M1", "M2", "M3", "M4"):
        entry = ledger.get("customers", key)
        out[key] = (entry.remote_id, entry.content_hash) if entry else (None, None)
    ledger.close(0)
    return out


def _whole_file(path: Path) -> dict[str, tuple[str | None, str | None]]:
    """What the rules make of the whole file, read from scratch (no index)."""
    index_path(path).unlink(missing_ok=True)
    return _read(path)


_with_index = _read


def test_a_run_reads_back_what_earlier_runs_accepted_through_the_index(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(_line("M1", "create", "1", "a") + _line("M2", "create", "2", "b"))
    ledger = Ledger.from_results(results)
    assert index_path(results).exists()
    assert ledger.get("customers", "M1").content_hash == "a"  # type: ignore[union-attr]
    # this run: M1 updated (the CRM gives no new id: the old one stays), M3 created
    outcomes = [
        Outcome("customers", "M1", "update", None, "a2", object="contact"),
        Outcome("customers", "M3", "create", "3", "c", object="contact"),
    ]
    ledger.record_outcomes(outcomes)
    text = "".join(json.dumps(o.line("2026-12-06T00:00:00Z")) + "\n" for o in outcomes)
    with results.open("a") as handle:
        handle.write(text)
    ledger.close(len(text.encode()))
    # the next run finds everything in the index, with nothing left to read in the file
    again = Ledger.from_results(results)
    assert again.offset == results.stat().st_size
    m1 = again.get("customers", "M1")
    assert m1 is not None and m1.remote_id == "1" and m1.content_hash == "a2"
    assert again.get("customers", "M3").remote_id == "3"  # type: ignore[union-attr]
    again.close(0)
    assert _with_index(results) == _whole_file(results)


def test_lines_of_a_run_that_stopped_before_its_index_update_are_read_back(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(_line("M1", "create", "1", "a"))
    Ledger.from_results(results).close(0)
    # a run killed after writing its lines, before its ledger was closed; its last line cut
    with results.open("a") as handle:
        handle.write(_line("M2", "create", "2", "b") + _line("M1", "update", None, "a2")[:30])
    middle = _with_index(results)
    assert middle["M2"] == ("2", "b") and middle["M1"] == ("1", "a")
    # the next run appends after the cut line: that one line is lost, nothing else
    with results.open("a") as handle:
        handle.write(_line("M3", "create", "3", "c") + _line("M4", "create", "4", "d"))
    assert _with_index(results) == _whole_file(results)
    assert _with_index(results)["M4"] == ("4", "d")


def test_a_replaced_shortened_or_broken_index_is_rebuilt_from_the_file(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(_line("M1", "create", "1", "a") + _line("M2", "create", "2", "b"))
    Ledger.from_results(results).close(0)
    # the file replaced by another one of the same size: other beginning, other entries
    results.write_text(_line("M1", "create", "9", "z") + _line("M3", "create", "3", "c"))
    assert _with_index(results)["M1"] == ("9", "z")
    assert _with_index(results)["M2"] == (None, None)
    # the file cut shorter than the index's mark
    results.write_text(_line("M4", "create", "4", "d"))
    assert _with_index(results) == {
        "M1": (None, None),
        "M2": (None, None),
        "M3": (None, None),
        "M4": ("4", "d"),
    }
    # an index that is no database at all
    index_path(results).write_bytes(b"not a database" * 100)
    assert _with_index(results)["M4"] == ("4", "d")


def test_another_writer_appending_keeps_the_mark_where_it_was(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    results.write_text(_line("M1", "create", "1", "a"))
    ledger = Ledger.from_results(results)
    ledger.record("customers", "M2", "create", "2", "b", "contact", "live")
    mine = _line("M2", "create", "2", "b")
    with results.open("a") as handle:
        handle.write(mine + _line("M3", "create", "3", "c"))  # someone else's line too
    ledger.close(len(mine.encode()))
    again = Ledger.from_results(results)
    assert again.get("customers", "M3").remote_id == "3"  # type: ignore[union-attr]
    assert again.get("customers", "M2").remote_id == "2"  # type: ignore[union-attr]
    again.close(0)
