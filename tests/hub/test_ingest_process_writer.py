"""Big ingests commit from a child process: same rows, same state rules, same errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from singer_project import Project, record, schema, state

from crmhub.errors import ConfigurationError, FatalError

ALWAYS = {"CRMHUB_INGEST_PROCESS_AFTER": "0"}
NEVER = {"CRMHUB_INGEST_PROCESS_AFTER": "-1"}


def rows(project: Project, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(project.root / "master.db") as conn:
        return conn.execute(sql).fetchall()


def customers(n: int, start: int = 0, first: str = "Given") -> list[str]:
    return [
        record(id=i, first=f"{first}{i}", last=f"Family{i}", email=f"p{i}@example.nl")
        for i in range(start, start + n)
    ]


CONTENT = (
    "SELECT source_key, entity, payload, canonical, content_hash, status, match_state, deleted "
    "FROM source_record ORDER BY source_key"
)


def test_process_writer_stores_what_the_thread_writer_stores(tmp_path: Path) -> None:
    lines = [schema(), *customers(450), state({"skip": 451}), *customers(60, 450)]
    lines.append(record(id=7, first="Again", last="Family7", email="x@example.nl"))
    lines.append(record(id=None, first="NoKey", last="X", email="n@example.nl"))
    results = {}
    for name, env in (("thread", NEVER), ("process", ALWAYS), ("switch", {})):
        (tmp_path / name).mkdir()
        project = Project(tmp_path / name)
        project.configure(lines)
        env = env or {"CRMHUB_INGEST_PROCESS_AFTER": "200"}  # moves mid-run
        result = project.cli("ingest", "--json", env=env)
        assert result.exit_code == 0, result.output
        summary = json.loads(result.output)[0]
        del summary["run_id"], summary["seconds"], summary["records_per_second"]
        stored = rows(project, CONTENT)
        state_value = rows(project, "SELECT value FROM state")[0][0]
        results[name] = (summary, stored, state_value)
    assert results["process"] == results["thread"] == results["switch"]
    summary, stored, state_value = results["thread"]
    assert summary["records"] == 512 and summary["new"] == 511 and summary["quarantined"] == 1
    assert len(stored) == 511 and json.loads(str(state_value)) == {"skip": 451}


@pytest.mark.parametrize("env", [NEVER, ALWAYS], ids=["thread", "process"])
def test_content_hash_is_blake2b_of_the_sorted_payload(
    project: Project, env: dict[str, str]
) -> None:
    # Stored hashes decide "changed" on every later run: the literals pin them to what
    # earlier versions stored, wherever (reader or writer) they are computed.
    project.configure(
        [
            schema(),
            record(id=1, first="Jürgen", last="Müller", email="j@example.nl"),
            record(id=None, first="NoKey", last="X", email="n@example.nl"),
        ]
    )
    result = project.cli("ingest", env=env)
    assert result.exit_code == 0, result.output
    assert rows(project, "SELECT source_key, content_hash, status FROM source_record") == [
        ("1", "ec74349895e0fc7f269dd1483fcfd329", "ok"),
        ("#5aef166819a3cbb27b9a87c7d78a43c5", "5aef166819a3cbb27b9a87c7d78a43c5", "quarantined"),
    ]


def test_process_writer_rerun_duplicates_nothing_and_updates_changes(project: Project) -> None:
    lines = [schema(), *customers(300), state({"skip": 0})]
    project.configure(lines)
    assert project.cli("ingest", env=ALWAYS).exit_code == 0
    lines[5] = record(id=4, first="Changed", last="Family4", email="p4@example.nl")
    project.configure(lines)
    result = project.cli("ingest", "--json", env=ALWAYS)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    assert (summary["new"], summary["changed"], summary["unchanged"]) == (0, 1, 299)
    assert rows(project, "SELECT count(*), count(DISTINCT source_key) FROM source_record") == [
        (300, 300)
    ]


def test_tap_crash_with_process_writer_keeps_state_behind_committed_records(
    project: Project,
) -> None:
    lines = [schema(), *customers(250), state({"skip": 251}), *customers(250, 250)]
    project.configure(lines, exit_after=1 + 250 + 1 + 120, exit_code=3)
    result = project.cli("ingest", env=ALWAYS)
    assert result.exit_code == FatalError.exit_code
    assert json.loads(str(rows(project, "SELECT value FROM state")[0][0])) == {"skip": 251}
    committed = int(str(rows(project, "SELECT count(*) FROM source_record")[0][0]))
    assert 250 <= committed <= 370
    project.configure(lines)
    assert project.cli("ingest", env=ALWAYS).exit_code == 0
    assert rows(project, "SELECT count(*), count(DISTINCT source_key) FROM source_record") == [
        (500, 500)
    ]


def test_an_error_in_the_writer_process_fails_the_run_with_its_message(
    project: Project,
) -> None:
    project.configure([schema(), *customers(10)])
    assert project.cli("ingest").exit_code == 0  # creates the master
    with sqlite3.connect(project.root / "master.db") as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON source_record WHEN NEW.source_key = '250' "
            "BEGIN SELECT RAISE(ABORT, 'record 250 refused by a trigger'); END"
        )
    project.configure([schema(), *customers(400), state({"skip": 401})])
    result = project.cli("ingest", env=ALWAYS)
    assert result.exit_code != 0
    assert "record 250 refused by a trigger" in result.output
    assert "Traceback" not in result.output
    # batches of 100: the two before the refused one are committed, the state is not
    assert rows(project, "SELECT count(*) FROM source_record") == [(200,)]
    assert rows(project, "SELECT count(*) FROM state") == [(0,)]
    assert rows(project, "SELECT status FROM run ORDER BY id DESC LIMIT 1") == [("failed",)]


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_a_copy_error_on_postgresql_fails_the_run_with_its_message(
    project: Project, postgres_url: str, writer: str
) -> None:
    """COPY runs below SQLAlchemy: its errors must still become the run's one clear message."""
    from sqlalchemy import create_engine, text

    project.master_url = postgres_url
    project.configure([schema(), *customers(10)])
    assert project.cli("ingest").exit_code == 0  # creates the master
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.source_key = '250' THEN "
                    "RAISE EXCEPTION 'record 250 refused by a trigger'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON source_record "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
        project.configure([schema(), *customers(400), state({"skip": 401})])
        env = ALWAYS if writer == "process" else {"CRMHUB_INGEST_PROCESS_AFTER": "1000000"}
        result = project.cli("ingest", env=env)
        assert result.exit_code == FatalError.exit_code, result.output
        assert "record 250 refused by a trigger" in result.output
        assert "writing a batch of stream" in result.output
        assert "Traceback" not in result.output
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM state")).scalar() == 0
            assert (
                conn.execute(text("SELECT status FROM run ORDER BY id DESC LIMIT 1")).scalar()
                == "failed"
            )
    finally:
        engine.dispose()


def test_bad_setting_is_a_configuration_error(project: Project) -> None:
    project.configure([schema(), *customers(3)])
    result = project.cli("ingest", env={"CRMHUB_INGEST_PROCESS_AFTER": "lots"})
    assert result.exit_code == ConfigurationError.exit_code
    assert "CRMHUB_INGEST_PROCESS_AFTER='lots' is not a whole number" in result.output


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_sigkill_of_the_hub_loses_nothing_and_the_writer_process_stops(project: Project) -> None:
    n = 6000
    lines = [schema()]
    for start in range(0, n, 500):
        lines += customers(500, start)
        lines.append(state({"skip": 1 + start + 500 + start // 500 + 1}))  # the next line
    # a slow tap: the hub is killed while records are still flowing
    project.configure(lines, sleep_every=200)
    crmhub = Path(sys.executable).parent / "crmhub"
    proc = subprocess.Popen(
        [str(crmhub), "-p", str(project.root), "ingest"],
        env={**os.environ, **ALWAYS},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    writers: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        writers = writers or _children(proc.pid, b"crmhub.ingest.writer_process")
        try:
            if writers and rows(project, "SELECT count(*) FROM source_record")[0][0] >= 1000:
                break
        except sqlite3.OperationalError:
            continue  # the master is still being created
    assert proc.poll() is None and writers, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # the writer process reads end of file and ends by itself
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _running(writers[0]):
        time.sleep(0.1)
    assert not _running(writers[0])
    committed = int(str(rows(project, "SELECT count(*) FROM source_record")[0][0]))
    assert committed < n
    saved = rows(project, "SELECT value FROM state")
    if saved:
        # every record before the saved state is committed
        position = json.loads(str(saved[0][0]))["skip"]
        assert committed >= sum(1 for x in lines[:position] if '"RECORD"' in x)
    project.configure(lines)
    result = project.cli("ingest", env=ALWAYS)
    assert result.exit_code == 0, result.output
    assert rows(project, "SELECT count(*), count(DISTINCT source_key) FROM source_record") == [
        (n, n)
    ]


def _children(pid: int, marker: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and marker in cmdline:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def test_process_writer_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    import sqlalchemy

    lines = [schema(), *customers(250), state({"skip": 251}), *customers(50, 250)]
    lines.append(record(id=None, first="NoKey", last="X", email="n@example.nl"))
    project = Project(tmp_path)
    project.master_url = postgres_url
    project.configure(lines)
    result = project.cli("ingest", "--json", env=ALWAYS)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)[0]
    assert (summary["records"], summary["new"], summary["quarantined"]) == (301, 301, 1)
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            counts = conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT source_key), count(canonical) FROM source_record"
            ).one()
            saved = conn.exec_driver_sql("SELECT value FROM state").scalar_one()
    finally:
        engine.dispose()
    assert tuple(counts) == (301, 301, 300)
    assert json.loads(saved) == {"skip": 251}
