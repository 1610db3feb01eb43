"""`crmhub ingest` against real tap processes: state, crashes, bad lines, no duplicates."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from singer_project import Project, record, schema, state

from crmhub.errors import ConfigurationError, FatalError, RetriableError


def rows(project: Project, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(project.root / "master.db") as conn:
        return conn.execute(sql).fetchall()


def customers(n: int, start: int = 0) -> list[str]:
    return [
        record(id=i, first=f"Given{i}", last=f"Family{i}", email=f"p{i}@example.nl")
        for i in range(start, start + n)
    ]


def test_ingest_writes_records_state_and_run(project: Project) -> None:
    project.configure([schema(), *customers(250), state({"skip": 999})])
    result = project.cli("ingest", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    assert summary["records"] == 250 and summary["new"] == 250 and summary["state_saved"]
    assert rows(project, "SELECT count(*) FROM source_record") == [(250,)]
    canonical = rows(project, "SELECT canonical FROM source_record WHERE source_key='7'")[0][0]
    assert json.loads(str(canonical)) == {
        "given_name": "Given7",
        "family_name": "Family7",
        "emails": ["p7@example.nl"],
        "kind": "person",
    }
    saved = rows(project, "SELECT value FROM state WHERE scope='source' AND name='shop'")
    assert json.loads(str(saved[0][0])) == {"skip": 999}
    assert rows(project, "SELECT kind, target, status FROM run") == [
        ("ingest", "shop", "succeeded")
    ]
    # the tap got a catalog from discovery
    assert project.invocations()[0]["catalog"] is True


def test_second_run_passes_state_and_duplicates_nothing(project: Project) -> None:
    lines = [schema(), *customers(10), state({"skip": 0})]
    project.configure(lines)
    assert project.cli("ingest").exit_code == 0
    assert project.cli("ingest", "--json").exit_code == 0
    assert project.invocations()[1]["state"] == {"skip": 0}
    assert rows(project, "SELECT count(*) FROM source_record") == [(10,)]
    # a changed record is updated in place and waits for matching again
    lines[3] = record(id=2, first="Changed", last="Family2", email="p2@example.nl")
    project.configure(lines)
    result = project.cli("ingest", "--json")
    summary = json.loads(result.output)[0]
    assert (summary["new"], summary["changed"], summary["unchanged"]) == (0, 1, 9)
    assert rows(project, "SELECT count(*) FROM source_record") == [(10,)]


def test_tap_crash_keeps_committed_records_and_state_behind_them(project: Project) -> None:
    lines = [schema(), *customers(150), state({"skip": 151}), *customers(150, 150)]
    # the tap dies after sending 220 records: 150 before its STATE, 70 after
    project.configure(lines, exit_after=1 + 150 + 1 + 70, exit_code=3)
    result = project.cli("ingest")
    assert result.exit_code == FatalError.exit_code
    assert "exited with code 3" in result.output and "simulated crash" in result.output
    saved = rows(project, "SELECT value FROM state")
    assert json.loads(str(saved[0][0])) == {"skip": 151}, "state advanced only to its STATE line"
    assert rows(project, "SELECT status FROM run") == [("failed",)]
    committed = rows(project, "SELECT count(*) FROM source_record")[0][0]
    assert 150 <= int(str(committed)) <= 220
    # the re-run resumes from the saved state and duplicates nothing
    project.configure(lines)
    result = project.cli("ingest", "--json")
    assert result.exit_code == 0, result.output
    assert project.invocations()[-1]["state"] == {"skip": 151}
    assert rows(project, "SELECT count(*) FROM source_record") == [(300,)]
    assert rows(project, "SELECT count(DISTINCT source_key) FROM source_record") == [(300,)]


def test_tap_killed_by_signal(project: Project) -> None:
    project.configure(
        [schema(), *customers(50), state({"skip": 51}), *customers(5, 50)], kill_after=30
    )
    result = project.cli("ingest")
    assert result.exit_code == FatalError.exit_code
    assert "killed by signal 9" in result.output
    assert rows(project, "SELECT count(*) FROM state") == [(0,)]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("this is not json", "line 3 of the tap's output is not JSON"),
        ('{"type": "RECORD", "stream": "customers", "record": {"id": 9', "truncated message"),
        ('["a list"]', "line 3 of the tap's output is not a Singer message"),
        (record(stream="orders", id=1), "RECORD for stream 'orders' before its SCHEMA"),
    ],
)
def test_bad_lines_fail_the_run_with_the_line_number(
    project: Project, bad: str, expected: str
) -> None:
    project.configure(
        [schema(), record(id=1, first="A", last="B", email="a@b.nl"), bad, *customers(3, 5)]
    )
    result = project.cli("ingest")
    assert result.exit_code == FatalError.exit_code, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    # what came before the broken line is kept
    assert rows(project, "SELECT source_key FROM source_record") == [("1",)]
    assert rows(project, "SELECT status FROM run") == [("failed",)]


def test_unmappable_records_go_to_quarantine_with_reasons(project: Project) -> None:
    project.mapping = {
        "key": "id",
        "fields": {
            "given_name": "first",
            "family_name": {"from": "last", "required": True},
            "birth_date": {"from": "born", "date": "%d-%m-%Y"},
        },
    }
    project.configure(
        [
            schema(fields=("id", "first", "last", "born")),
            record(id=1, first="Anna", last="Bakker", born="31-12-1980"),
            record(id=2, first="Kees", last="", born="01-01-1970"),
            record(id=3, first="Piet", last="Jansen", born="31-02-1980"),
            record(first="no key", last="Visser", born="01-01-1990"),
        ]
    )
    result = project.cli("ingest", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["quarantined"] == 3
    reasons = {
        key: [r["code"] for r in json.loads(str(raw))]
        for key, raw in rows(project, "SELECT source_key, reasons FROM quarantine")
    }
    assert reasons["2"] == ["required"]
    assert reasons["3"] == ["invalid_date"]
    assert [k for k in reasons if str(k).startswith("#")], "a record without key is kept too"
    assert rows(project, "SELECT count(*) FROM source_record") == [(4,)]
    good = rows(project, "SELECT canonical FROM source_record WHERE source_key='1'")[0][0]
    assert json.loads(str(good))["birth_date"] == "1980-12-31"


def test_mapping_naming_a_missing_field_stops_before_any_record(project: Project) -> None:
    project.mapping = {"key": "id", "fields": {"given_name": "voornaam", "family_name": "last"}}
    project.configure([schema(), *customers(5)])
    result = project.cli("ingest")
    assert result.exit_code == ConfigurationError.exit_code
    assert "names field(s) 'voornaam' that stream 'customers' does not have" in result.output
    assert rows(project, "SELECT count(*) FROM source_record") == [(0,)]


def test_batch_messages_are_read(project: Project, tmp_path: Path) -> None:
    part = tmp_path / "part-1.jsonl"
    part.write_text(
        "\n".join(
            json.dumps({"id": i, "first": "A", "last": "B", "email": f"x{i}@y.nl"})
            for i in range(40)
        )
    )
    batch = json.dumps(
        {
            "type": "BATCH",
            "stream": "customers",
            "encoding": {"format": "jsonl", "compression": "none"},
            "manifest": [part.as_uri()],
        }
    )
    project.configure([schema(), batch, state({"skip": 0})])
    result = project.cli("ingest", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["new"] == 40


def test_unknown_source_and_missing_tap(project: Project) -> None:
    project.configure([schema()])
    result = project.cli("ingest", "nosuch")
    assert result.exit_code == ConfigurationError.exit_code
    assert "unknown source(s) nosuch (sources in crmhub.yml: shop)" in result.output
    doc = json.loads((project.root / "crmhub.yml").read_text())
    doc["sources"]["shop"]["tap"] = "tap-that-is-not-installed"
    (project.root / "crmhub.yml").write_text(json.dumps(doc))
    result = project.cli("ingest")
    assert result.exit_code == ConfigurationError.exit_code
    assert "'tap-that-is-not-installed' is not installed" in result.output


def test_locked_master_is_a_retriable_error(project: Project) -> None:
    project.configure([schema(), *customers(3)])
    assert project.cli("ingest").exit_code == 0
    conn = sqlite3.connect(project.root / "master.db")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        result = project.cli("ingest")
    finally:
        conn.rollback()
        conn.close()
    assert result.exit_code == RetriableError.exit_code, result.output
    assert "is locked by another process" in result.output


def test_locked_postgresql_master_is_a_retriable_error(project: Project, postgres_url: str) -> None:
    """Another session holding a table lock: the run gives up after busy_timeout_s with exit
    code 75, as on SQLite, instead of waiting for ever."""
    import time

    import psycopg
    from sqlalchemy import make_url

    project.master_url = postgres_url
    project.configure([schema(), *customers(3)])
    assert project.cli("ingest").exit_code == 0
    # (the test project's crmhub.yml sets busy_timeout_s: 1)
    url = make_url(postgres_url)
    holder = psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=False
    )
    try:
        holder.execute("LOCK TABLE source_record IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = project.cli("ingest")
        waited = time.monotonic() - started
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == RetriableError.exit_code, result.output
    assert "is locked by another process" in result.output
    assert waited < 30


def test_second_run_while_one_holds_the_project_lock(project: Project) -> None:
    from crmhub.locking import run_lock

    project.configure([schema(), *customers(3)])
    with run_lock(project.root / ".crmhub"):
        result = project.cli("ingest")
    assert result.exit_code == RetriableError.exit_code
    assert "another crmhub run" in result.output


def test_unreachable_database_url(project: Project) -> None:
    project.master_url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    project.configure([schema()])
    result = project.cli("ingest")
    assert result.exit_code == RetriableError.exit_code, result.output
    assert (
        "cannot open the master database postgresql+psycopg://nobody@127.0.0.1:9/none"
        in result.output
    )


def test_remap_releases_quarantined_records_without_running_the_tap(project: Project) -> None:
    project.mapping = {
        "key": "id",
        "fields": {"given_name": "first", "birth_date": {"from": "born", "date": "%d-%m-%Y"}},
    }
    project.configure(
        [
            schema(fields=("id", "first", "born")),
            record(id=1, first="Anna", born="31.12.1980"),
            record(id=2, first="Kees", born="01-01-1970"),
        ]
    )
    assert json.loads(project.cli("ingest", "--json").output)[0]["quarantined"] == 1
    runs_before = len(project.invocations())
    project.mapping["fields"]["birth_date"]["date"] = ["%d-%m-%Y", "%d.%m.%Y"]
    project.configure([schema(fields=("id", "first", "born"))])
    result = project.cli("ingest", "--remap", "--json")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)[0]["streams"]["customers"]
    assert counts["quarantine_resolved"] == 1 and counts["quarantined"] == 0
    assert len(project.invocations()) == runs_before, "no tap ran"
    assert rows(project, "SELECT status, match_state FROM source_record WHERE source_key='1'") == [
        ("ok", "pending")
    ]
    assert rows(project, "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL") == [(0,)]
