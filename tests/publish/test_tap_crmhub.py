"""tap-crmhub: singer-sdk's standard tap tests on a real SQLite master, and what it sends."""

from __future__ import annotations

import atexit
import json
import os
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


def _messages(config: dict[str, Any], tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    exe = Path(sys.executable).with_name("tap-crmhub")
    # unbuffered stdout, as under the hub's usual environment: the tap must batch itself
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [str(exe), "--config", str(path)], capture_output=True, text=True, check=True, env=env
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_records_sit_between_their_schema_and_state(tmp_path: Path) -> None:
    # Records are written in blocks; a STATE (or SCHEMA) must never overtake them.
    url = build_master(tmp_path / "master.db")
    messages = _messages({"master_url": url, "target": "crm"}, tmp_path)
    for stream in ("customers", "orders", "interactions", "tickets"):
        at = [i for i, m in enumerate(messages) if m.get("stream") == stream]
        schema = next(i for i in at if messages[i]["type"] == "SCHEMA")
        records = [i for i in at if messages[i]["type"] == "RECORD"]
        assert records and min(records) > schema
        # the stream's final STATE follows its last record, before the next stream starts
        state = next(i for i, m in enumerate(messages) if i > max(records) and m["type"] == "STATE")
        assert all(m["type"] != "RECORD" for m in messages[max(records) + 1 : state])
        assert messages[records[0]]["time_extracted"]
    assert messages[-1]["type"] == "STATE"


def test_stream_maps_still_apply_to_records(tmp_path: Path) -> None:
    # With a stream map the records take singer-sdk's own path (no direct writing).
    url = build_master(tmp_path / "master.db")
    config = {
        "master_url": url,
        "target": "crm",
        "stream_maps": {"customers": {"addresses": None, "country_count": "1"}},
    }
    records = [
        m["record"]
        for m in _messages(config, tmp_path)
        if m["type"] == "RECORD" and m["stream"] == "customers"
    ]
    assert {r["master_id"] for r in records} == {"M-PERSON", "M-ORG", "M-LOSER", "M-GONE"}
    assert all("addresses" not in r and r["country_count"] == 1 for r in records)
