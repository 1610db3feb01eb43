"""A first load bigger than SQLite's bound-variable limit (32,766): the whole master is
matched in one run, so no statement may bind one variable per record. The limit is lowered
for the match, after an ordinary ingest, so a small project shows what a million would."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sync_project import SyncProject, people

RECORDS = 1_200
LIMIT = 999  # SQLite's default before 3.32, and fewer than RECORDS


def _lower(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, LIMIT)


@pytest.fixture
def few_variables() -> Iterator[Callable[[], None]]:
    """Call it: from then on new SQLite connections (the hub's, in this process) take LIMIT
    bound variables; undone after the test."""
    installed: list[bool] = []

    def install() -> None:
        event.listen(Engine, "connect", _lower)
        installed.append(True)

    yield install
    if installed:
        event.remove(Engine, "connect", _lower)


def test_a_first_match_binds_no_variable_per_record(
    project: SyncProject, few_variables: Callable[[], None]
) -> None:
    project.sources["shop"] = people(RECORDS)
    project.targets = {}
    project.write()
    ingest = project.cli("ingest")  # the ingest writer may bind up to SQLite's usual limit
    assert ingest.exit_code == 0, ingest.output
    few_variables()
    summary = project.sync()
    match = next(s for s in summary["steps"] if s["step"] == "match")
    assert match["status"] == "succeeded", match
    assert match["counts"]["golden_created"] == RECORDS
    assert project.query("SELECT count(*) FROM xref") == [(RECORDS,)]
