"""A target that stops half-way: the run fails with its log, what it accepted is kept."""

from __future__ import annotations

import json
import sqlite3
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from master_rows import build_master

from crmhub.cli import main

pytestmark = pytest.mark.slow

# A real target process: confirms the first record in the results file, then dies.
BROKEN_TARGET = textwrap.dedent(
    """
    import json, sys
    args = sys.argv[1:]
    config = json.load(open(args[args.index("--config") + 1]))
    for line in sys.stdin:
        message = json.loads(line)
        if message["type"] != "RECORD":
            continue
        record = message["record"]
        with open(config["results_path"], "a") as results:
            results.write(json.dumps({
                "stream": message["stream"], "key": record["master_id"], "action": "create",
                "remote_id": "R1", "content_hash": record["content_hash"], "error": None,
                "at": "2026-11-25T10:00:00Z", "object": "contacts", "disposition": "live"}) + "\\n")
            results.write('{"stream": "customers", "key": "cut sh')
        sys.stderr.write("broken-target: the CRM connection was reset\\n")
        sys.exit(3)
    """
)


def _write_project(root: Path, url: str, target: list[str] | str, config: dict[str, str]) -> None:
    doc = {
        "version": 1,
        "master": {"url": url},
        "targets": {"crm": {"target": target, "config": config}},
    }
    (root / "crmhub.yml").write_text(json.dumps(doc))


def _ledger(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT record_key, status, remote_id FROM publish_record").fetchall()
    return {k: (s, r) for k, s, r in rows}


def test_failing_target_keeps_what_it_accepted_and_rerun_sends_the_rest(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    script = tmp_path / "broken_target.py"
    script.write_text(BROKEN_TARGET)
    _write_project(tmp_path, url, [sys.executable, str(script)], {})
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "publish", "crm"])
    assert result.exit_code == 70, result.output
    assert "exited with code 3" in result.output
    assert "the CRM connection was reset" in result.output  # the tail of its log
    assert "1 records it accepted" in result.output
    assert _ledger(tmp_path / "master.db") == {"M-PERSON": ("accepted", "R1")}
    with sqlite3.connect(tmp_path / "master.db") as conn:
        status, error = conn.execute(
            "SELECT status, error FROM run WHERE kind = 'publish' ORDER BY id DESC"
        ).fetchone()
    assert status == "failed" and "exited with code 3" in error

    # The real target now: everything but the accepted record goes out, nothing twice.
    _write_project(
        tmp_path, url, "target-crm", {"profile": "sql", "sqlalchemy_url": "sqlite:///crm.db"}
    )
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "publish", "--json"])
    assert result.exit_code == 0, result.output
    (outcome,) = json.loads(result.stdout)
    assert outcome["sent"] == 6  # 3 of 4 customers + order, interaction, ticket
    ledger = _ledger(tmp_path / "master.db")
    assert ledger["M-PERSON"] == ("accepted", "R1")
    assert ledger["erp:orders:r1"][0] == "accepted"


def test_unknown_target_is_a_configuration_error(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    _write_project(tmp_path, url, "target-crm", {"profile": "sql"})
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "publish", "nowhere"])
    assert result.exit_code == 78
    assert "unknown target(s) nowhere" in result.output and "targets in crmhub.yml: crm" in (
        result.output
    )


def test_target_without_results_file_is_reported_not_recorded(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    script = tmp_path / "silent_target.py"
    script.write_text("import sys\nfor _ in sys.stdin:\n    pass\n")
    _write_project(tmp_path, url, [sys.executable, str(script)], {})
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "publish"])
    assert result.exit_code == 0, result.output
    assert "wrote no results file" in result.output
    assert _ledger(tmp_path / "master.db") == {}


# A target that confirms one record, leaves the next line half-written and waits until the
# hub has recorded the first one in the ledger before it finishes.
WAITING_TARGET = textwrap.dedent(
    """
    import json, sqlite3, sys, time
    args = sys.argv[1:]
    config = json.load(open(args[args.index("--config") + 1]))
    messages = [json.loads(line) for line in sys.stdin]
    first, second = [
        m["record"] for m in messages
        if m["type"] == "RECORD" and m["stream"] == "customers"][:2]
    def line(record):
        return json.dumps({
            "stream": "customers", "key": record["master_id"], "action": "create",
            "remote_id": "R-" + record["master_id"], "content_hash": record["content_hash"],
            "error": None, "at": "2026-11-25T10:00:00Z", "object": "contacts",
            "disposition": "live"})
    seen = False
    with open(config["results_path"], "a") as results:
        results.write(line(first) + "\\n" + line(second)[:25])
        results.flush()
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
            with sqlite3.connect(config["master_db"]) as conn:
                seen = conn.execute(
                    "SELECT count(*) FROM publish_record WHERE record_key = ?",
                    (first["master_id"],)).fetchone()[0] == 1
        results.write(line(second)[25:] + "\\n")
    sys.stderr.write("waiting-target: first record in the ledger while running: %s\\n" % seen)
    """
)


def test_ledger_is_recorded_while_the_target_runs(tmp_path: Path) -> None:
    url = build_master(tmp_path / "master.db")
    script = tmp_path / "waiting_target.py"
    script.write_text(WAITING_TARGET)
    _write_project(
        tmp_path,
        url,
        [sys.executable, str(script)],
        {"master_db": str(tmp_path / "master.db")},
    )
    result = CliRunner().invoke(main, ["-p", str(tmp_path), "publish", "--json"])
    assert result.exit_code == 0, result.output
    (outcome,) = json.loads(result.stdout)
    # the half-written line seen mid-run was neither taken nor counted as unreadable
    assert outcome["sent"] == 2 and outcome["error"] is None, outcome
    ledger = _ledger(tmp_path / "master.db")
    assert {status for status, _ in ledger.values()} == {"accepted"} and len(ledger) == 2
    (log,) = (tmp_path / ".crmhub" / "logs").glob("run-*-publish-crm.log")
    assert "first record in the ledger while running: True" in log.read_text()
