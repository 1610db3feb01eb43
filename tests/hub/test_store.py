"""The master store on SQLite and on a real PostgreSQL: schema, bulk writes, ingest."""

from __future__ import annotations

import json

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from singer_project import Project, record, schema, state
from sqlalchemy import func, select

from crmhub.store import open_master
from crmhub.store.engine import alembic_config
from crmhub.store.models import Base, Quarantine, SourceRecord
from crmhub.store.source_records import IncomingRecord, write_batch

TABLES = {
    "source_record",
    "golden_record",
    "xref",
    "match_candidate",
    "quarantine",
    "audit_event",
    "run",
    "state",
    "app_user",
}


def _rec(key: str, content: str, status: str = "ok") -> IncomingRecord:
    reasons = (
        json.dumps([{"code": "required", "field": "x", "message": "x"}])
        if status == "quarantined"
        else None
    )
    return IncomingRecord(
        key, json.dumps({"v": content}), f"h-{content}", "customer", "{}", status, reasons
    )


def test_migrations_create_every_table_and_match_the_models(master_url: str) -> None:
    master = open_master(master_url)
    try:
        assert (
            master.current_revision()
            == ScriptDirectory.from_config(alembic_config()).get_current_head()
        )
        assert master.upgrade() == [], "a second upgrade has nothing to do"
        with master.engine.connect() as conn:
            names = set(conn.dialect.get_table_names(conn))
            assert names >= TABLES
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
        assert diff == [], f"models and migrations drifted: {diff}"
    finally:
        master.dispose()


def test_write_batch_tells_new_changed_unchanged_apart(master_url: str) -> None:
    master = open_master(master_url)
    try:
        with master.session() as s:
            counts = write_batch(
                s.connection(),
                source="erp",
                stream="customers",
                records=[
                    _rec("1", "a"),
                    _rec("2", "b"),
                    _rec("2", "b2"),
                    _rec("3", "c", "quarantined"),
                ],
                run_id=1,
                mapping_version="v1",
            )
        assert (counts.new, counts.changed, counts.unchanged) == (3, 0, 0)
        assert counts.repeated_in_batch == 1 and counts.quarantined == 1
        with master.session() as s:
            counts = write_batch(
                s.connection(),
                source="erp",
                stream="customers",
                records=[_rec("1", "a"), _rec("2", "b3"), _rec("3", "c-fixed"), _rec("4", "d")],
                run_id=2,
                mapping_version="v1",
            )
        assert (counts.new, counts.changed, counts.unchanged) == (1, 2, 1)
        assert counts.quarantine_resolved == 1
        with master.session() as s:
            assert s.scalar(select(func.count()).select_from(SourceRecord)) == 4
            two = s.scalar(select(SourceRecord).where(SourceRecord.source_key == "2"))
            assert two is not None and two.payload == {"v": "b3"} and two.last_run_id == 2
            open_q = s.scalar(
                select(func.count()).select_from(Quarantine).where(Quarantine.resolved_at.is_(None))
            )
            assert open_q == 0
        # a new mapping version re-maps unchanged content
        with master.session() as s:
            counts = write_batch(
                s.connection(),
                source="erp",
                stream="customers",
                records=[_rec("1", "a")],
                run_id=3,
                mapping_version="v2",
            )
        assert counts.changed == 1
    finally:
        master.dispose()


def test_ingest_and_match_on_each_backend(project: Project, master_url: str) -> None:
    project.master_url = master_url
    project.configure(
        [
            schema(),
            record(id=1, first="Jan", last="Jansen", email="jan@example.nl"),
            record(id=2, first="J.", last="Jansen", email="JAN@example.nl"),
            record(id=3, first="Anna", last="Bakker", email="anna@example.nl"),
            state({"skip": 0}),
        ]
    )
    result = project.cli("ingest", "--json")
    assert result.exit_code == 0, result.output
    result = project.cli("match", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["records"] == 3 and summary["clusters"] == 2
    status = json.loads(project.cli("status", "--json").output)
    assert status["golden_records"]["active"] == 2 and status["xref"] == 3


def test_xref_and_golden_exports(project: Project, tmp_path: object) -> None:
    import csv
    import io

    project.configure(
        [
            schema(),
            record(id=1, first="Jan", last="Jansen", email="jan@example.nl"),
            record(id=2, first="J.", last="Jansen", email="JAN@example.nl"),
            record(id=3, first="Anna", last="Bakker", email="anna@example.nl"),
        ]
    )
    assert project.cli("ingest").exit_code == 0
    assert project.cli("match").exit_code == 0
    result = project.cli("xref", "export")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["source_key"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["master_id"] == rows[1]["master_id"] != rows[2]["master_id"]
    result = project.cli("golden", "export", "--format", "jsonl")
    golden = [json.loads(line) for line in result.output.splitlines()]
    assert len(golden) == 2
    jan = next(g for g in golden if g["master_id"] == rows[0]["master_id"])
    assert jan["data"]["emails"] == ["jan@example.nl"], "emails are a union without repeats"
    result = project.cli("golden", "export")
    table = list(csv.DictReader(io.StringIO(result.output)))
    assert {r["family_name"] for r in table} == {"Jansen", "Bakker"}


def test_optimistic_write_batch_falls_back_when_a_key_exists(master_url: str) -> None:
    master = open_master(master_url)
    try:
        with master.session() as s:
            counts = write_batch(
                s.connection(),
                source="erp",
                stream="customers",
                records=[
                    _rec("1", "a"),
                    _rec("2", "b"),
                    _rec("2", "b2"),
                    _rec("3", "c", "quarantined"),
                ],
                run_id=1,
                mapping_version="v1",
                optimistic=True,
            )
        assert (counts.new, counts.changed, counts.unchanged) == (3, 0, 0)
        assert counts.repeated_in_batch == 1 and counts.quarantined == 1
        with master.session() as s:
            conn = s.connection()
            # Another stream's rows of the same run, written in the same transaction before
            # the refused insert, must survive its undo.
            write_batch(
                conn,
                source="erp",
                stream="orders",
                records=[_rec("9", "o")],
                run_id=2,
                mapping_version="v1",
            )
            counts = write_batch(
                conn,
                source="erp",
                stream="customers",
                records=[_rec("4", "d"), _rec("5", "e"), _rec("3", "c-fixed"), _rec("1", "a")],
                run_id=2,
                mapping_version="v1",
                optimistic=True,
            )
        assert (counts.new, counts.changed, counts.unchanged) == (2, 1, 1)
        assert counts.quarantine_resolved == 1
        with master.session() as s:
            keys = s.execute(
                select(SourceRecord.stream, SourceRecord.source_key, SourceRecord.payload).order_by(
                    SourceRecord.stream, SourceRecord.source_key
                )
            ).all()
            assert [tuple(k) for k in keys] == [
                ("customers", "1", {"v": "a"}),
                ("customers", "2", {"v": "b2"}),
                ("customers", "3", {"v": "c-fixed"}),
                ("customers", "4", {"v": "d"}),
                ("customers", "5", {"v": "e"}),
                ("orders", "9", {"v": "o"}),
            ]
            assert s.scalar(select(func.count()).select_from(Quarantine)) == 1
    finally:
        master.dispose()


def test_sqlite_inserts_take_ids_without_returning(tmp_path: object) -> None:
    """New ORM rows on SQLite get their ids from lastrowid: an INSERT ... RETURNING gets a
    statement journal that, with 16 KiB pages, spilled to a temporary file per row."""
    from pathlib import Path

    from sqlalchemy import event

    from crmhub.store.models import MatchCandidate

    master = open_master(f"sqlite:///{Path(str(tmp_path)) / 'master.db'}")
    statements: list[str] = []
    event.listen(
        master.engine,
        "before_cursor_execute",
        lambda _c, _cur, sql, *_rest: statements.append(sql),
    )
    try:
        with master.session() as s:
            records = [
                SourceRecord(
                    source="crm",
                    stream="contacts",
                    source_key=str(k),
                    entity="customer",
                    payload={"id": k},
                    canonical={"kind": "person"},
                    content_hash=f"h{k}",
                )
                for k in range(3)
            ]
            s.add_all(records)
            s.flush()
            pairs = [
                MatchCandidate(
                    left_record_id=records[0].id, right_record_id=records[k].id, score=0.5
                )
                for k in (1, 2)
            ]
            s.add_all(pairs)
            s.flush()
            ids = [p.id for p in pairs]
        inserts = [q for q in statements if q.lstrip().upper().startswith("INSERT")]
        assert inserts and not [q for q in inserts if "RETURNING" in q.upper()]
        assert len(set(ids)) == 2 and all(isinstance(i, int) for i in ids)
        with master.session() as s:
            assert sorted(s.scalars(select(MatchCandidate.id))) == sorted(ids)
    finally:
        master.dispose()
