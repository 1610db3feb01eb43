"""tap-crmhub: singer-sdk's standard tap tests on a real SQLite master, and what it sends."""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from master_rows import accept, build_master
from singer_sdk.testing import get_tap_test_class

from crmhub.publish.tap import TapCrmhub

_FOLDER = Path(tempfile.mkdtemp(prefix="tap-crmhub-test-"))
atexit.register(shutil.rmtree, _FOLDER, True)
MASTER_URL = build_master(_FOLDER / "master.db")

TestTapCrmhub = get_tap_test_class(TapCrmhub, config={"master_url": MASTER_URL, "target": "t"})


def _run_tap(config: dict[str, Any], tmp_path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Run the console script as a process; records per stream and key."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    exe = Path(sys.executable).with_name("tap-crmhub")
    done = subprocess.run(
        [str(exe), "--config", str(path)], capture_output=True, text=True, check=True
    )
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for line in done.stdout.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            record = message["record"]
            key = record.get("master_id") if message["stream"] == "customers" else None
            out.setdefault(message["stream"], {})[record.get("record_id") or key] = record
    return out


def test_tap_sends_contract_records_and_skips_what_the_target_accepted(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    sent = _run_tap({"master_url": url, "target": "crm"}, tmp_path)
    customers = sent["customers"]
    assert set(customers) == {"M-PERSON", "M-ORG", "M-LOSER", "M-GONE"}
    person = customers["M-PERSON"]
    assert person["kind"] == "person" and person["version"] == 2
    assert person["organization_master_id"] == "M-ORG"
    assert person["addresses"][0]["city"] == "Bengaluru"
    assert person["retired"] is False and person["merged_into"] is None
    assert customers["M-LOSER"]["merged_into"] == "M-PERSON"
    assert customers["M-GONE"]["retired"] is True
    # Related records are keyed source:stream:key and follow the merge to the survivor.
    assert sent["orders"]["erp:orders:r1"]["master_id"] == "M-PERSON"
    assert sent["orders"]["erp:orders:r1"]["lines"] == [{"sku": "X"}]
    assert sent["interactions"]["erp:calls:r1"]["channel"] == "phone"
    assert sent["tickets"]["erp:cases:r1"]["subject"] == "Refund"

    # Accepted in this version: not sent. Failed last time: sent again, with its remote id.
    accept(url, "crm", "customers", "M-PERSON", person["content_hash"], "accepted")
    accept(url, "crm", "customers", "M-ORG", customers["M-ORG"]["content_hash"], "failed")
    accept(url, "crm", "orders", "erp:orders:r1", "an-older-version", "accepted")
    again = _run_tap({"master_url": url, "target": "crm"}, tmp_path)
    assert set(again["customers"]) == {"M-ORG", "M-LOSER", "M-GONE"}
    assert again["customers"]["M-ORG"]["remote_id"] == "remote-M-ORG"
    assert again["orders"]["erp:orders:r1"]["remote_id"] == "remote-erp:orders:r1"
    # Another target's ledger does not count; only_changed false sends everything.
    assert len(_run_tap({"master_url": url, "target": "other"}, tmp_path)["customers"]) == 4
    full = _run_tap({"master_url": url, "target": "crm", "only_changed": False}, tmp_path)
    assert len(full["customers"]) == 4


def test_tap_on_a_master_without_the_publish_table_says_what_to_do(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "old.db").close()
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"master_url": f"sqlite:///{tmp_path / 'old.db'}"}))
    exe = Path(sys.executable).with_name("tap-crmhub")
    done = subprocess.run([str(exe), "--config", str(path)], capture_output=True, text=True)
    assert done.returncode == 78
    assert "no publish_record table" in done.stderr and "crmhub db upgrade" in done.stderr
    assert "Traceback" not in done.stderr
