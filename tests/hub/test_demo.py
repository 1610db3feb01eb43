"""`crmhub demo` end to end: three real taps as processes, a SQLite master, a summary."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from crmhub.cli import main


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--dir", str(folder), "--customers", "300", "--seed", "7", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    by_source = {r["source"]: r for r in summary["ingest"]}
    assert set(by_source) == {"webshop", "erp", "legacy"}
    for name, counts in by_source.items():
        assert counts["records"] > 50, name
        assert counts["new"] == counts["records"], name
    # the demo breaks some records on purpose: an impossible date, a corrupt COMP-3 field
    assert summary["quarantine_by_reason"].get("invalid_date", 0) >= 1
    assert summary["quarantine_by_reason"].get("source_unreadable", 0) >= 1
    assert summary["quality_vs_truth"]["f1"] > 0.9, summary["quality_vs_truth"]
    # the golden records went to CRM import files through tap-crmhub | target-crm
    assert summary["publish"][0]["sent"] >= summary["status"]["golden_records"]["active"]
    contacts = [f for f in summary["import_files"] if "contact" in Path(f).name]
    assert contacts, summary["import_files"]
    assert len(Path(contacts[0]).read_text(encoding="utf-8").splitlines()) > 50
    match = summary["match"]
    assert match["records"] > match["clusters"] > 0, "duplicates were merged"
    assert match["related_linked"] > 0 and match["related_orphans"] == 0
    with sqlite3.connect(folder / "master.db") as conn:
        golden = conn.execute("SELECT count(*) FROM golden_record WHERE status='active'").fetchone()
        xref = conn.execute("SELECT count(DISTINCT source_record_id) FROM xref").fetchone()
        raw_hex = conn.execute(
            "SELECT payload FROM source_record WHERE source='legacy' AND status='quarantined'"
        ).fetchone()
    assert golden[0] == summary["status"]["golden_records"]["active"]
    assert xref[0] >= match["records"]
    assert raw_hex is not None and "_raw_hex" in raw_hex[0], "the broken bytes are kept"


def test_demo_refuses_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 78
    assert "is not a crmhub demo folder" in result.output
    assert (tmp_path / "precious.txt").exists()
