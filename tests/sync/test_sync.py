"""`crmhub sync` end to end: real tap processes, the real master, a real target-crm process."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sync_project import SyncProject, people

from crmhub.locking import run_lock


def _step(summary: dict[str, object], name: str) -> dict[str, object]:
    steps = summary["steps"]
    assert isinstance(steps, list)
    found: dict[str, object] = next(s for s in steps if s["step"] == name)
    return found


def test_incremental_runs_only_do_what_changed(project: SyncProject) -> None:
    first = project.sync()
    assert first["status"] == "succeeded"
    assert _step(first, "ingest")["counts"]["new"] == 6  # type: ignore[index]
    assert _step(first, "match")["counts"]["golden_created"] == 6  # type: ignore[index]
    assert _step(first, "publish")["counts"]["accepted"] == 6  # type: ignore[index]
    assert len(project.crm_customers()) == 6

    # nothing changed: the taps run (that is how changes are found), nothing else does
    second = project.sync()
    assert _step(second, "ingest")["counts"]["unchanged"] == 6  # type: ignore[index]
    assert _step(second, "match")["counts"]["changed"] == 0  # type: ignore[index]
    assert _step(second, "match")["status"] == "skipped"  # nothing for it to do
    assert _step(second, "publish")["counts"]["up_to_date"] == ["crm"]  # type: ignore[index]
    assert _step(second, "publish")["counts"]["sent"] == 0  # type: ignore[index]

    # one changed, one new: exactly those two reach the CRM
    project.sources["shop"][0]["last"] = "Bergman"
    project.sources["shop"].append(people(1, start=50)[0])
    project.write()
    third = project.sync()
    assert _step(third, "ingest")["counts"]["new"] == 1  # type: ignore[index]
    assert _step(third, "ingest")["counts"]["changed"] == 1  # type: ignore[index]
    assert _step(third, "publish")["counts"]["accepted"] == 2  # type: ignore[index]
    actions = project.pushes()
    assert sorted(a for _, _, a in actions).count("create") == 7
    assert [a for _, _, a in actions].count("update") == 1

    # the run history: one sync row per run, its steps as child runs
    rows = project.query("SELECT id, kind, status, parent_id, log_path FROM run ORDER BY id")
    syncs = [r for r in rows if r[1] == "sync"]
    assert [r[2] for r in syncs] == ["succeeded"] * 3
    children = {r[1] for r in rows if r[3] == third["run_id"]}
    assert children == {"ingest", "match", "publish"}
    log_file = Path(str(syncs[-1][4]))
    assert log_file.exists() and "sync run" in log_file.read_text()
    # personal data never reaches the run log
    text = " ".join(p.read_text() for p in log_file.parent.glob("*.log"))
    assert "@example" not in text.replace("***@example", "")


def test_deleted_records_retire_their_golden_record_and_archive_in_the_crm(
    project: SyncProject,
) -> None:
    project.sync()
    gone = project.sources["shop"].pop(2)  # removed from the full-table source
    project.sources["shop"][0]["_sdc_deleted_at"] = "2026-01-01T00:00:00Z"  # a tombstone
    project.write()
    summary = project.sync()
    deletions = _step(summary, "deletions")["counts"]
    assert deletions["deleted"] == 2  # type: ignore[index]
    deleted = project.query("SELECT source_key FROM source_record WHERE deleted")
    assert sorted(k for (k,) in deleted) == sorted([gone["id"], project.sources["shop"][0]["id"]])
    assert _step(summary, "match")["counts"]["golden_retired"] == 2  # type: ignore[index]
    retired = project.query("SELECT count(*) FROM golden_record WHERE status = 'retired'")
    assert retired == [(2,)]
    # target-crm's default delete_policy (archive): two rows archived, none removed
    actions = [a for _, _, a in project.pushes()]
    assert actions.count("archive") == 2
    crm = project.crm_customers()
    assert len(crm) == 6


def test_one_source_down_makes_a_partial_run_retried_next_time(project: SyncProject) -> None:
    project.sources["erp"] = people(3, start=100, prefix="e")
    project.tap_options["erp"] = {"exit_after": 2}
    project.write()
    result = project.cli("sync")
    assert result.exit_code == 75, result.output
    assert "partial" in result.output and "erp" in result.output
    assert "crmhub sync --source erp" in result.output
    # shop synced all the way to the CRM (and erp what it sent before it crashed)
    assert 6 <= len(project.crm_customers()) < 9
    status = project.query("SELECT status FROM run WHERE kind = 'sync'")
    assert status == [("partial",)]

    project.tap_options["erp"] = {}
    project.write()
    summary = project.sync()
    assert summary["status"] == "succeeded"
    assert len(project.crm_customers()) == 9


def test_crm_down_fails_at_publish_and_the_next_run_publishes(project: SyncProject) -> None:
    good = project.targets["crm"]["config"]["sqlalchemy_url"]
    project.targets["crm"]["config"]["sqlalchemy_url"] = "sqlite:////nonexistent/dir/crm.db"
    project.write()
    result = project.cli("sync")
    assert result.exit_code == 70, result.output
    assert "failed at step publish" in result.output
    assert "crmhub publish crm" in result.output
    project.targets["crm"]["config"]["sqlalchemy_url"] = good
    project.write()
    summary = project.sync()
    assert _step(summary, "publish")["counts"]["accepted"] == 6  # type: ignore[index]


def test_a_second_sync_exits_at_once_while_one_runs(project: SyncProject) -> None:
    with run_lock(project.root / ".crmhub"):
        result = project.cli("sync")
    assert result.exit_code == 75
    assert "another crmhub run" in result.output and "--wait" in result.output
    assert project.query("SELECT count(*) FROM run") == [(0,)]


def test_renamed_source_is_reported(project: SyncProject) -> None:
    project.targets = {}
    project.write()
    project.sync()
    project.sources = {"webshop": project.sources.pop("shop")}
    project.write()
    result = project.cli("sync", "--json")
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert any("'shop'" in n and "not in crmhub.yml" in n for n in notes)


def test_json_log_format_writes_json_lines(project: SyncProject) -> None:
    project.targets = {}
    project.write()
    result = project.cli("--log-format", "json", "sync")
    assert result.exit_code == 0, result.output
    log_path = project.query("SELECT log_path FROM run WHERE kind = 'sync'")[0][0]
    lines = [json.loads(x) for x in Path(log_path).read_text().splitlines()]
    assert any(x["message"].startswith("sync run") for x in lines)
    assert {"time", "level", "logger", "message"} <= set(lines[0])


def test_master_locked_by_another_process_is_one_clear_retriable_error(
    project: SyncProject,
) -> None:
    project.targets = {}
    project.extra["master"] = {"url": "sqlite:///master.db", "busy_timeout_s": 0.5}
    project.write()
    assert project.cli("sync").exit_code == 0  # creates the master
    holder = sqlite3.connect(project.root / "master.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        result = project.cli("sync")
    finally:
        holder.close()
    assert result.exit_code == 75, result.output
    assert "locked by another process" in result.output
    assert "Traceback" not in result.output
