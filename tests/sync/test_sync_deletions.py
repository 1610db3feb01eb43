"""Deletion detection rules on their own (the end-to-end path is in test_sync.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crmhub.store import open_master
from crmhub.store.models import SourceRecord
from crmhub.sync.deletions import is_incremental, mark_tombstones, partition_count


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


def test_tombstones_are_read_from_the_payload_not_its_text(tmp_path: Path) -> None:
    """Only a non-empty ``_sdc_deleted_at`` field marks a record deleted; the field's name as
    a value, a null or empty field, a matched or another source's record do not."""
    master = open_master(f"sqlite:///{tmp_path / 'master.db'}")
    payloads: list[tuple[str, str, dict[str, Any], str]] = [
        ("shop", "a", {"id": "a", "_sdc_deleted_at": "2026-01-01T00:00:00Z"}, "pending"),
        ("shop", "b", {"id": "b", "_sdc_deleted_at": None}, "pending"),
        ("shop", "c", {"id": "c", "_sdc_deleted_at": ""}, "pending"),
        ("shop", "d", {"id": "d", "note": "_sdc_deleted_at"}, "pending"),
        ("shop", "e", {"id": "e", "note": '"_sdc_deleted_at"'}, "pending"),
        ("shop", "f", {"id": "f", "_sdc_deleted_at": "2026-01-02"}, "matched"),
        ("erp", "g", {"id": "g", "_sdc_deleted_at": "2026-01-03"}, "pending"),
        ("shop", "h", {"id": "h", "nested": {"_sdc_deleted_at": "x"}}, "pending"),
        ("shop", "i", {"_sdc_deleted_at": "2026-01-04", "id": "i"}, "pending"),
    ]
    with master.session() as s:
        s.add_all(
            SourceRecord(
                source=source,
                stream="customers" if key != "i" else "orders",
                source_key=key,
                entity="customer",
                payload=payload,
                content_hash=key,
                match_state=state,
            )
            for source, key, payload, state in payloads
        )
    assert mark_tombstones(master, "shop") == {"customers": 1, "orders": 1}
    with master.session() as s:
        deleted = s.scalars(select(SourceRecord.source_key).where(SourceRecord.deleted.is_(True)))
        assert sorted(deleted) == ["a", "i"]
