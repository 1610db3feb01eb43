"""Between batches target-crm freezes what survives for the garbage collector; a run leaves
nothing frozen behind, and records of every batch still reach the CRM exactly once."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from singer_input import person, read_results, run_target, singer_text
from singer_sdk.exceptions import InvalidInputLine


def test_many_batches_each_record_once_and_nothing_left_frozen(
    tmp_path: Path, out: dict[str, Any]
) -> None:
    config = {
        "profile": "sql",
        "sqlalchemy_url": f"sqlite:///{tmp_path / 'crm.db'}",
        "batch_size": 7,
        **out,
    }
    assert gc.get_freeze_count() == 0
    _, code = run_target(config, singer_text({"customers": (person(i) for i in range(50))}, 10))
    assert code == 0
    lines = read_results(config["results_path"])
    assert sorted(ln["key"] for ln in lines) == sorted({ln["key"] for ln in lines})
    assert len(lines) == 50 and {ln["action"] for ln in lines} == {"create"}
    # the run froze objects after each batch and released them at the end
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_a_stopped_run_leaves_nothing_frozen(tmp_path: Path, out: dict[str, Any]) -> None:
    config = {"profile": "sql", "sqlalchemy_url": f"sqlite:///{tmp_path / 'crm.db'}", **out}
    text = singer_text({"customers": [person(1)]}) + '{"type": "RECORD", "stream": "nope"\n'
    with pytest.raises(InvalidInputLine):
        run_target({**config, "batch_size": 1}, text)
    assert gc.get_freeze_count() == 0


def test_a_run_leaves_the_collector_as_it_found_it(tmp_path: Path, out: dict[str, Any]) -> None:
    # the run pauses automatic collection (it collects once per batch instead); a caller
    # that had switched it off itself still has it off afterwards
    config = {"profile": "sql", "sqlalchemy_url": f"sqlite:///{tmp_path / 'crm.db'}", **out}
    gc.disable()
    try:
        _, code = run_target({**config, "batch_size": 3}, singer_text({"customers": [person(1)]}))
        assert code == 0
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()
    _, code = run_target({**config, "batch_size": 3}, singer_text({"customers": [person(2)]}))
    assert code == 0 and gc.isenabled()
