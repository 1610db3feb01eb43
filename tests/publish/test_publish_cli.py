"""`crmhub publish` end to end: real tap-crmhub and target-crm processes, a real master."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from publish_project import PublishProject

pytestmark = pytest.mark.slow

LONG_NAME = "Vandenberghe-" + "x" * 80  # longer than the import file's 80-character limit


def _by_target(outcomes: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(o["target"]): o for o in outcomes}


def _tables(db: Path) -> set[str]:
    if not db.exists():
        return set()
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _crm_rows(db: Path, table: str) -> list[dict[str, object]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]


def test_publish_sql_and_csv_import_incremental_with_retries(tmp_path: Path) -> None:
    project = PublishProject(tmp_path)
    project.customers[1]["last"] = LONG_NAME
    project.targets = {
        "crm": {
            "target": "target-crm",
            "config": {"profile": "sql", "sqlalchemy_url": "sqlite:///crm.db"},
        },
        "files": {
            "target": "target-crm",
            "config": {"profile": "csv-import", "output_dir": "import-files"},
        },
    }
    project.refresh()
    masters = project.masters()
    assert len(set(masters.values())) == 3

    # A dry run tells what would happen and changes nothing anywhere.
    dry = _by_target(project.publish("--dry-run"))
    assert dry["crm"]["dry_run"] is True
    assert dry["crm"]["counts"]["create"] == 5  # 3 customers + 2 orders
    assert dry["files"]["counts"]["error"] >= 1
    assert _tables(tmp_path / "crm.db") == set()  # SQLite makes the file on connect
    assert not (tmp_path / "import-files").exists() or not any(
        (tmp_path / "import-files").iterdir()
    )
    assert project.ledger("crm") == [] and project.ledger("files") == []

    # First push: everything goes out; the ledger holds what each CRM accepted.
    first = _by_target(project.publish())
    assert first["crm"]["counts"]["create"] == 5 and first["crm"]["failed"] == 0
    ledger = {(r["stream"], r["record_key"]): r for r in project.ledger("crm")}
    assert {k for s, k in ledger if s == "customers"} == set(masters.values())
    assert {k for s, k in ledger if s == "orders"} == {"shop:orders:A-1", "shop:orders:A-2"}
    assert all(r["status"] == "accepted" and r["remote_id"] for r in ledger.values())
    customers = {r["master_id"]: r for r in _crm_rows(tmp_path / "crm.db", "customers")}
    assert set(customers) == set(masters.values())
    orders = {r["record_id"]: r for r in _crm_rows(tmp_path / "crm.db", "orders")}
    assert orders["shop:orders:A-2"]["master_id"] == masters["3"]

    # The too-long name fails in the import file profile and lands on the retry list.
    files_ledger = {r["record_key"]: r for r in project.ledger("files")}
    bad = files_ledger[masters["2"]]
    assert bad["status"] == "failed" and "80" in bad["error"] and bad["attempts"] == 1
    assert files_ledger[masters["1"]]["status"] == "accepted"
    assert first["files"]["retry_list"] == first["files"]["failed"] >= 1
    errors = list(csv.DictReader((tmp_path / first["files"]["error_file"]).open()))
    assert any(e["key"] == masters["2"] for e in errors)

    # Nothing changed: the SQL target gets zero records, the failed record is sent again.
    second = _by_target(project.publish())
    assert second["crm"]["sent"] == 0
    retried = {r["record_key"]: r for r in project.ledger("files")}[masters["2"]]
    assert retried["status"] == "failed" and retried["attempts"] == 2
    assert second["files"]["sent"] == second["files"]["failed"] == first["files"]["failed"]

    # One source record changes (and the bad name is fixed): exactly those go out.
    project.customers[0]["email"] = "jan@berg.example.nl"
    project.customers[1]["last"] = "Schmidt"
    project.refresh()
    third = _by_target(project.publish())
    crm_counts = third["crm"]["counts"]
    assert third["crm"]["sent"] == 2, third["crm"]
    assert crm_counts["update"] == 2 and crm_counts["create"] == 0
    rows = {r["master_id"]: r for r in _crm_rows(tmp_path / "crm.db", "customers")}
    assert "jan@berg.example.nl" in json.dumps(rows[masters["1"]], default=str)
    fixed = {r["record_key"]: r for r in project.ledger("files")}[masters["2"]]
    assert fixed["status"] == "accepted" and fixed["error"] is None
    assert third["files"]["counts"]["create"] == 1

    fourth = _by_target(project.publish("crm"))
    assert fourth["crm"]["sent"] == 0
