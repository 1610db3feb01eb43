"""Incremental replication: ties on the bookmark, chunk boundaries, interruption, NULL keys."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tap_runner import TAP_BIN, parse, run_in_process

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
TIE = dt.datetime(2024, 5, 1, 12, 30, 0)


def _events_table(md: sa.MetaData) -> sa.Table:
    return sa.Table(
        "customer_events",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_number", sa.String(20), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=True),
    )


def make_events(url: str, *, tied: int = 120, nulls: int = 0) -> list[int]:
    """10 rows before, ``tied`` rows sharing one updated_at, 10 after; NULL-key rows first."""
    engine = sa.create_engine(url)
    md = sa.MetaData()
    table = _events_table(md)
    md.create_all(engine)
    rows: list[dict[str, Any]] = []
    # Ids are shuffled against time so that ordering by id alone would be wrong.
    for i in range(nulls):
        rows.append({"id": 5000 + i, "customer_number": f"N{i}", "updated_at": None})
    for i in range(10):
        rows.append(
            {"id": 900 - i, "customer_number": f"B{i}", "updated_at": T0 + dt.timedelta(minutes=i)}
        )
    for i in range(tied):
        rows.append({"id": 1000 + (i * 37) % tied, "customer_number": f"T{i}", "updated_at": TIE})
    for i in range(10):
        rows.append(
            {
                "id": 10 + i,
                "customer_number": f"A{i}",
                "updated_at": TIE + dt.timedelta(minutes=1 + i),
            }
        )
    with engine.begin() as conn:
        conn.execute(table.insert(), rows)
    engine.dispose()
    return sorted(r["id"] for r in rows)


def config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "sqlalchemy_url": url,
        "include_tables": ["customer_events"],
        "stream_settings": {"customer_events": {"replication_key": "updated_at"}},
        **extra,
    }


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [int(r["id"]) for r in records]


def test_full_then_incremental_reads_only_changed_rows_and_new_ties(sqlite_url: str) -> None:
    all_ids = make_events(sqlite_url)
    first = run_in_process(config(sqlite_url, chunk_size=7, state_every_records=10))
    got = ids(first.records("customer_events"))
    assert sorted(got) == all_ids and len(got) == len(set(got))
    bookmark = first.last_state["bookmarks"]["customer_events"]
    assert bookmark["replication_key_value"] == (TIE + dt.timedelta(minutes=10)).isoformat()
    assert bookmark["replication_key_tiebreaker"] == {"id": 19}

    engine = sa.create_engine(sqlite_url)
    table = _events_table(sa.MetaData())
    with engine.begin() as conn:
        # Changed later: re-read. Inserted with the bookmark's own timestamp and a higher
        # id: read (the tie-breaker must not hide it). Untouched rows: not read.
        conn.execute(
            table.update()
            .where(table.c.id.in_([1005, 895]))
            .values(updated_at=TIE + dt.timedelta(hours=1))
        )
        conn.execute(
            table.insert().values(
                id=20, customer_number="NEW", updated_at=TIE + dt.timedelta(minutes=10)
            )
        )
    engine.dispose()
    second = run_in_process(config(sqlite_url), state=first.last_state)
    assert ids(second.records("customer_events")) == [20, 895, 1005]


def _resume_after_kill(tmp_path: Path, url: str, *, kill_after_states: int) -> None:
    """Kill -9 the tap in the middle of the tied rows, resume from the last STATE it wrote.

    A target commits records only up to the last STATE it received, so the records before
    that STATE plus the resumed run must be every row exactly once.
    """
    all_ids = make_events(url, tied=120)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(config(url, chunk_size=7, state_every_records=10)))
    proc = subprocess.Popen(
        [TAP_BIN, "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    committed: list[int] = []
    pending: list[int] = []
    last_state: dict[str, Any] | None = None
    states = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            pending.append(int(message["record"]["id"]))
        elif message["type"] == "STATE" and pending:
            committed += pending
            pending = []
            last_state = message["value"]
            states += 1
            if states == kill_after_states:
                proc.kill()
                break
    proc.wait()
    assert last_state is not None
    bookmark = last_state["bookmarks"]["customer_events"]
    # The kill happened among the 120 rows that share TIE.
    assert bookmark["replication_key_value"] == TIE.isoformat()
    resumed = subprocess.run(
        [TAP_BIN, "--config", str(cfg), "--state", _write(tmp_path / "state.json", last_state)],
        capture_output=True,
        check=True,
    )
    rest = ids(parse(resumed.stdout).records("customer_events"))
    assert not set(committed) & set(rest), "rows repeated after resume"
    assert sorted(committed + rest) == all_ids, "rows lost after resume"


def _write(path: Path, value: dict[str, Any]) -> str:
    path.write_text(json.dumps(value))
    return str(path)


@pytest.mark.slow
def test_interrupted_run_in_tied_rows_loses_and_repeats_nothing_sqlite(
    tmp_path: Path, sqlite_url: str
) -> None:
    _resume_after_kill(tmp_path, sqlite_url, kill_after_states=5)


@pytest.mark.postgres
@pytest.mark.slow
def test_interrupted_run_in_tied_rows_postgres(tmp_path: Path, postgres_url: str) -> None:
    _resume_after_kill(tmp_path, postgres_url, kill_after_states=7)


@pytest.mark.mysql
@pytest.mark.slow
def test_interrupted_run_in_tied_rows_mysql(tmp_path: Path, mysql_url: str) -> None:
    _resume_after_kill(tmp_path, mysql_url, kill_after_states=4)


def test_null_replication_keys_emitted_in_full_run_and_counted_later(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    all_ids = make_events(sqlite_url, tied=5, nulls=3)
    first = run_in_process(config(sqlite_url))
    got = ids(first.records("customer_events"))
    assert sorted(got) == all_ids
    assert got[:3] == [5000, 5001, 5002], "NULL-key rows come first"
    with caplog.at_level(logging.WARNING):
        second = run_in_process(config(sqlite_url), state=first.last_state)
    assert second.records("customer_events") == []
    assert "3 rows have NULL in replication key 'updated_at'" in caplog.text


def test_resume_inside_null_key_rows(sqlite_url: str) -> None:
    """A state written while still among NULL-key rows resumes after the last one."""
    all_ids = make_events(sqlite_url, tied=5, nulls=4)
    state = {
        "bookmarks": {
            "customer_events": {
                "replication_key": "updated_at",
                "replication_key_value": None,
                "replication_key_tiebreaker": {"id": 5001},
            }
        }
    }
    got = ids(run_in_process(config(sqlite_url), state=state).records("customer_events"))
    assert sorted(got) == [i for i in all_ids if i not in (5000, 5001)]


def test_state_without_tiebreaker_reads_ties_again(sqlite_url: str) -> None:
    """A bookmark from another tool (no tie-breaker): rows at the bookmark come again."""
    make_events(sqlite_url, tied=6)
    state = {
        "bookmarks": {
            "customer_events": {
                "replication_key": "updated_at",
                "replication_key_value": TIE.isoformat() + "+00:00",
            }
        }
    }
    got = ids(run_in_process(config(sqlite_url), state=state).records("customer_events"))
    assert len(got) == 6 + 10


def test_integer_replication_key(sqlite_url: str) -> None:
    """An increasing id as replication key (no separate tie-breaker needed, but harmless)."""
    all_ids = make_events(sqlite_url, tied=4)
    cfg = config(sqlite_url)
    cfg["stream_settings"] = {"customer_events": {"replication_key": "id"}}
    first = run_in_process(cfg)
    assert ids(first.records("customer_events")) == all_ids
    assert first.last_state["bookmarks"]["customer_events"]["replication_key_value"] == max(all_ids)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO customer_events VALUES (99999, 'X', NULL)"))
    engine.dispose()
    assert ids(run_in_process(cfg, state=first.last_state).records("customer_events")) == [99999]


def test_rowversion_like_binary_replication_key(sqlite_url: str) -> None:
    """A binary counter (SQL Server rowversion style) as replication key, kept as base64."""
    engine = sa.create_engine(sqlite_url)
    md = sa.MetaData()
    table = sa.Table(
        "tickets",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("subject", sa.String(40)),
        sa.Column("rv", sa.LargeBinary, nullable=False),
    )
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            table.insert(),
            [
                {"id": i, "subject": f"s{i}", "rv": (1000 + i * 3).to_bytes(8, "big")}
                for i in range(1, 31)
            ],
        )
    cfg = {"sqlalchemy_url": sqlite_url, "stream_settings": {"tickets": {"replication_key": "rv"}}}
    first = run_in_process(cfg)
    assert ids(first.records("tickets")) == list(range(1, 31))
    stored = first.last_state["bookmarks"]["tickets"]["replication_key_value"]
    assert base64.b64decode(stored) == (1000 + 90).to_bytes(8, "big")
    with engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == 4).values(rv=(5000).to_bytes(8, "big")))
    engine.dispose()
    assert ids(run_in_process(cfg, state=first.last_state).records("tickets")) == [4]


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_batch_files_and_resuming_from_each_state_after_them(
    tmp_path: Path, sqlite_url: str, compression: str
) -> None:
    """BATCH mode: files of batch_size records; each STATE after a BATCH resumes exactly."""
    import gzip

    all_ids = make_events(sqlite_url, tied=120)
    batched = config(
        sqlite_url,
        chunk_size=7,
        batch_config={
            "encoding": {"format": "jsonl", "compression": compression},
            "storage": {"root": tmp_path.as_uri()},
            "batch_size": 25,
        },
    )
    plain = run_in_process(config(sqlite_url, chunk_size=7)).records("customer_events")
    run = run_in_process(batched)
    assert not run.records("customer_events")
    sent: list[int] = []
    resumed_from = 0
    for message in run.lines:
        if message["type"] == "BATCH":
            assert message["encoding"]["compression"] == compression
            (uri,) = message["manifest"]
            data = Path(uri.removeprefix("file://")).read_bytes()
            lines = (gzip.decompress(data) if compression == "gzip" else data).splitlines()
            assert len(lines) == 25 or len(sent) + len(lines) == len(all_ids)
            sent += [int(json.loads(line)["id"]) for line in lines]
        elif message["type"] == "STATE" and sent:
            rest = ids(
                run_in_process(config(sqlite_url), state=message["value"]).records(
                    "customer_events"
                )
            )
            assert sorted(sent + rest) == all_ids, f"resuming after {len(sent)} records"
            resumed_from += 1
    assert sent == ids(plain)
    kinds = [m["type"] for m in run.lines]
    batches = [i for i, kind in enumerate(kinds) if kind == "BATCH"]
    assert len(batches) == 6 and all(kinds[i + 1] == "STATE" for i in batches)
    assert resumed_from >= len(batches)
