"""The CLI's schema check without Alembic, and migrations 0007-0008 on a master that has data."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from crmhub.cli.context import CliContext, newest_revision, schema_is_current
from crmhub.match.stage import _merged_records
from crmhub.store import open_master
from crmhub.store.engine import alembic_config


def test_newest_migration_file_is_alembics_head() -> None:
    """The CLI reads the newest revision from the file names: every migration file must be
    named after its revision id, and the newest one is Alembic's head."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())
    assert len(revisions) >= 7
    for revision in revisions:
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_"), revision.path
    assert newest_revision() == script.get_current_head()


def _project(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "crmhub.yml"
    doc = {"version": 1, "name": "t", "master": {"url": url}, "sources": {}}
    path.write_text(json.dumps(doc))
    return path


def test_the_cli_migrates_an_existing_master_that_is_behind(
    master_url: str, tmp_path: Path
) -> None:
    old = open_master(master_url, upgrade=False)
    try:
        assert not schema_is_current(old), "no version table yet"
        with old.engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            conn.exec_driver_sql(
                "INSERT INTO source_record (id, source, stream, source_key, payload, "
                "content_hash, entity, status, match_state, deleted, first_seen, last_seen) "
                "VALUES (1, 'erp', 'c', '1', '{}', 'h', 'customer', 'ok', 'matched', false, "
                "'2026-01-01', '2026-01-01'), (2, 'shop', 'c', '2', '{}', 'h', 'customer', "
                "'ok', 'matched', false, '2026-01-01', '2026-01-01'), (3, 'shop', 'c', '3', "
                "'{}', 'h', 'customer', 'ok', 'matched', false, '2026-01-01', '2026-01-01'), "
                "(4, 'shop', 'o', '4', '{}', 'h', 'order', 'ok', 'matched', false, "
                "'2026-01-01', '2026-01-01')"
            )
            conn.exec_driver_sql(
                "INSERT INTO xref (source_record_id, master_id, method, matched_at) VALUES "
                "(1, 'MA', 'auto', '2026-01-01'), (2, 'MA', 'auto', '2026-01-01'), "
                "(3, 'MB', 'auto', '2026-01-01'), (4, 'MB', 'rule', '2026-01-01')"
            )
        assert not schema_is_current(old), "an older revision"
    finally:
        old.dispose()
    ctx = CliContext(project_path=_project(tmp_path, master_url))
    try:
        master = ctx.master()
        assert master.current_revision() == newest_revision()
        assert schema_is_current(master)
        with master.engine.connect() as conn:
            indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("xref")}
        assert indexes["ix_xref_master_id_method"] == ["master_id", "method", "source_record_id"]
        assert "ix_xref_master_id" not in indexes, "0008 drops the index 0007 made redundant"
        if master.dialect == "sqlite":
            with master.engine.connect() as conn:
                plan = conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT source_record_id FROM xref WHERE master_id = 'MA'"
                ).fetchall()
            assert "COVERING INDEX ix_xref_master_id_method" in str(plan)
        with master.session() as s:
            # MA's two customers share it; MB's order is linked by rule and does not count
            assert _merged_records(s) == 2
    finally:
        ctx.close()
