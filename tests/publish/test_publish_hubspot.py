"""`crmhub publish` into the HubSpot simulator: real ids back in the ledger, a real merge."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from master_rows import PERSON, build_master

from crmhub.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "targets_crm"))
from simulators.hubspot import HubSpotSimulator

pytestmark = pytest.mark.slow


def _publish(root: Path) -> dict[str, object]:
    result = CliRunner().invoke(main, ["-p", str(root), "publish", "--json"])
    assert result.exit_code == 0, result.output
    (outcome,) = json.loads(result.stdout)
    return outcome  # type: ignore[no-any-return]


def test_publish_to_hubspot_records_remote_ids_and_merges(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    sim = HubSpotSimulator(rate_limit=None).start()
    try:
        config = {
            "profile": "hubspot",
            "base_url": sim.url,
            "access_token": "good-token",
            "max_retries": 1,
            "backoff_base_seconds": 0.05,
        }
        doc = {
            "version": 1,
            "master": {"url": url},
            "targets": {"hubspot": {"target": "target-crm", "config": config}},
        }
        (tmp_path / "crmhub.yml").write_text(json.dumps(doc))
        with sqlite3.connect(tmp_path / "master.db") as conn:
            conn.execute(
                "INSERT INTO golden_record (master_id, kind, data, provenance, overrides, flags,"
                " version, status, created_at, updated_at) VALUES ('M-DUP', 'person', ?, '{}',"
                " '{}', '[]', 1, 'active', '2026-11-25', '2026-11-25')",
                (json.dumps({**PERSON, "emails": ["dup@example.in"]}),),
            )
        first = _publish(tmp_path)
        assert first["failed"] == 0, first
        with sqlite3.connect(tmp_path / "master.db") as conn:
            ledger = dict(
                conn.execute(
                    "SELECT record_key, remote_id FROM publish_record WHERE stream = 'customers'"
                ).fetchall()
            )
        contacts = sim.objects["contacts"]
        by_master = {c["properties"]["crmhub_master_id"]: oid for oid, c in contacts.items()}
        assert ledger["M-PERSON"] == by_master["M-PERSON"]
        assert ledger["M-DUP"] == by_master["M-DUP"]

        assert _publish(tmp_path)["sent"] == 0

        # The matcher merges M-DUP into M-PERSON: HubSpot gets a real merge call.
        with sqlite3.connect(tmp_path / "master.db") as conn:
            conn.execute(
                "UPDATE golden_record SET status = 'merged', merged_into = 'M-PERSON',"
                " version = 2 WHERE master_id = 'M-DUP'"
            )
        third = _publish(tmp_path)
        assert third["sent"] == 1 and third["counts"]["merge"] == 1, third
        assert sim.merged == {by_master["M-DUP"]: by_master["M-PERSON"]}
        with sqlite3.connect(tmp_path / "master.db") as conn:
            status, disposition = conn.execute(
                "SELECT status, disposition FROM publish_record WHERE record_key = 'M-DUP'"
            ).fetchone()
        assert (status, disposition) == ("accepted", "merged")
        assert _publish(tmp_path)["sent"] == 0
    finally:
        sim.stop()
