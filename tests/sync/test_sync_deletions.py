"""Deletion detection rules on their own (the end-to-end path is in test_sync.py)."""

from __future__ import annotations

from typing import Any

import pytest

from crmhub.sync.deletions import is_incremental, partition_count


@pytest.mark.parametrize(
    ("state", "incremental"),
    [
        (None, False),
        ({}, False),
        ({"skip": 3}, False),
        ({"bookmarks": {"customers": {}}}, False),
        ({"bookmarks": {"customers": {"replication_key_value": "2026-01-01"}}}, True),
        ({"bookmarks": {"orders": {"replication_key_value": 5}}}, False),
        (
            {"bookmarks": {"customers": {"partitions": [{"replication_key_value": 1}]}}},
            True,
        ),
        ({"bookmarks": {"customers": {"partitions": [{"file_sha256": "ab"}]}}}, False),
    ],
)
def test_which_streams_are_full_table(state: Any, incremental: bool) -> None:
    assert is_incremental(state, "customers") is incremental


def test_partitions_are_counted() -> None:
    two = {"bookmarks": {"customers": {"partitions": [{"a": 1}, {"b": 2}]}}}
    assert partition_count(two, "customers") == 2
    assert partition_count({"bookmarks": {"customers": {}}}, "customers") == 0
    assert partition_count(None, "customers") == 0
