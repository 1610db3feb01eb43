"""Bad input: a clear one-line error with what to do, the right exit code, nothing lost."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from erp_schema import ErpCounts
from tap_runner import discover, run_in_process, run_process

from tap_sql.errors import (
    TapSQLConfigurationError,
    TapSQLError,
    TapSQLFatalError,
    TapSQLRetriableError,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raises(config: dict[str, Any], kind: type[TapSQLError], *, catalog: Any = None) -> str:
    with pytest.raises(kind) as info:
        run_in_process(config, catalog=catalog)
    return info.value.render()


def test_error_classes_map_to_exit_codes() -> None:
    assert TapSQLConfigurationError("x").exit_code == 78
    assert TapSQLRetriableError("x").exit_code == 75
    assert TapSQLFatalError("x").exit_code == 70


@pytest.mark.postgres
def test_wrong_credentials_postgres(postgres_url: str) -> None:
    url = sa.make_url(postgres_url).set(username="no_such_erp_user", password="s3cret-pw")
    message = _raises(
        {"sqlalchemy_url": url.render_as_string(hide_password=False)}, TapSQLConfigurationError
    )
    assert "cannot log in" in message and "no_such_erp_user" in message
    assert "s3cret-pw" not in message, "the password never reaches a message"
    assert "hint:" in message


@pytest.mark.mysql
def test_wrong_credentials_mysql(mysql_url: str) -> None:
    url = sa.make_url(mysql_url).set(password="wrong-password")
    message = _raises(
        {"sqlalchemy_url": url.render_as_string(hide_password=False)}, TapSQLConfigurationError
    )
    assert "cannot log in" in message and "Access denied" in message
    assert "wrong-password" not in message


@pytest.mark.parametrize("scheme", ["postgresql+psycopg://postgres@", "mysql+pymysql://root@"])
def test_unreachable_host_is_retriable(scheme: str) -> None:
    url = f"{scheme}127.0.0.1:{_free_port()}/erp"
    message = _raises({"sqlalchemy_url": url, "connect_timeout": 3}, TapSQLRetriableError)
    assert "cannot reach the database server" in message and "check host and port" in message


def test_missing_sqlite_file(tmp_path: Path) -> None:
    message = _raises(
        {"sqlalchemy_url": f"sqlite:///{tmp_path / 'nope.db'}"}, TapSQLConfigurationError
    )
    assert "nope.db" in message and "does not exist" in message
    assert not (tmp_path / "nope.db").exists(), "no empty database was created"


def test_vanished_table_is_reported_before_anything_is_emitted(
    tmp_path: Path, sqlite_url: str
) -> None:
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.exec_driver_sql("CREATE TABLE tickets (id INTEGER PRIMARY KEY, subject TEXT)")
        conn.exec_driver_sql("INSERT INTO customers VALUES (1, 'Anna')")
    catalog = discover({"sqlalchemy_url": sqlite_url})
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE tickets")
    engine.dispose()
    cfg = {"sqlalchemy_url": sqlite_url}
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    result = run_process(tmp_path, cfg, "--catalog", str(tmp_path / "catalog.json"))
    assert result.returncode == 78
    assert "stream 'tickets'" in result.stderr and "no longer exists" in result.stderr
    assert "tap-sql --discover" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.messages.lines == [], "nothing half-done: no stream started"


def test_vanished_column_is_named(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, fax TEXT)")
    catalog = discover({"sqlalchemy_url": sqlite_url})
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE customers DROP COLUMN fax")
    engine.dispose()
    message = _raises({"sqlalchemy_url": sqlite_url}, TapSQLConfigurationError, catalog=catalog)
    assert "['fax']" in message and "no longer" in message


def test_a_source_column_named_row_error_is_refused_not_overwritten(
    tmp_path: Path, sqlite_url: str
) -> None:
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE customers (id INTEGER PRIMARY KEY, _row_error TEXT)")
        conn.exec_driver_sql("INSERT INTO customers VALUES (1, 'kept by the ERP')")
    engine.dispose()
    result = run_process(tmp_path, {"sqlalchemy_url": sqlite_url}, "--discover")
    assert result.returncode == 78
    assert "stream 'customers' has a column named '_row_error'" in result.stderr
    assert "'_row_error'" in result.stderr and "custom query" in result.stderr
    assert "Traceback" not in result.stderr
    # the way out the message names works: the column renamed by a custom query
    cfg = {
        "sqlalchemy_url": sqlite_url,
        "exclude_tables": ["customers"],
        "custom_queries": [
            {
                "name": "customers_renamed",
                "sql": "SELECT id, _row_error AS source_row_error FROM customers",
                "key_properties": ["id"],
            }
        ],
    }
    records = run_in_process(cfg).records("customers_renamed")
    assert records == [{"id": 1, "source_row_error": "kept by the ERP", "_row_error": None}]


def test_custom_query_syntax_error(tmp_path: Path, sqlite_erp: tuple[str, ErpCounts]) -> None:
    url, _ = sqlite_erp
    cfg = {
        "sqlalchemy_url": url,
        "custom_queries": [
            {
                "name": "customer_360",
                "sql": "SELEC id FROM customers JOIN",
                "key_properties": ["id"],
            }
        ],
    }
    result = run_process(tmp_path, cfg, "--discover")
    assert result.returncode == 78
    assert "custom_queries[0] ('customer_360')" in result.stderr
    assert "syntax error" in result.stderr and "fix the SQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_custom_query_on_a_missing_table_postgres_and_bad_settings(
    sqlite_erp: tuple[str, ErpCounts],
) -> None:
    url, _ = sqlite_erp
    message = _raises(
        {"sqlalchemy_url": url, "custom_queries": [{"name": "q", "sql": "SELECT * FROM gone"}]},
        TapSQLConfigurationError,
    )
    assert "no such table: gone" in message
    message = _raises(
        {
            "sqlalchemy_url": url,
            "stream_settings": {"customers": {"replication_key": "changed_on"}},
        },
        TapSQLConfigurationError,
    )
    assert "replication_key 'changed_on' is not a column of stream 'customers'" in message
    message = _raises(
        {
            "sqlalchemy_url": url,
            "custom_queries": [{"name": "a", "sql": "SELECT 1"}, {"name": "a", "sql": ""}],
        },
        TapSQLConfigurationError,
    )
    assert "name 'a' is used twice" in message and "'sql' is empty" in message
    message = _raises(
        {
            "sqlalchemy_url": url,
            "include_tables": ["customers"],
            "stream_settings": {"customers": {"column_charsets": {"name": "klingon-8"}}},
        },
        TapSQLConfigurationError,
    )
    assert "column_charsets names columns ['name']" in message


def test_bad_url(tmp_path: Path) -> None:
    message = _raises({"sqlalchemy_url": "not a url"}, TapSQLConfigurationError)
    assert "not a SQLAlchemy URL" in message
    message = _raises({"sqlalchemy_url": "nosuchdb://u:pw@h/d"}, TapSQLConfigurationError)
    assert "no SQLAlchemy dialect or driver" in message and "pw" not in message.split("driver")[1]


def test_sqlite_date_column_with_text_that_is_no_date(tmp_path: Path) -> None:
    """SQLite stores any text in a DATE column; the row is emitted, the text kept as written."""
    import json
    import sqlite3
    import subprocess
    import sys

    db = tmp_path / "erp.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, born DATE, seen TIMESTAMP)")
        conn.executemany(
            "INSERT INTO customers VALUES (?, ?, ?)",
            [(1, "1980-12-31", "2024-01-02 10:00:00"), (2, "31-02-1980", "not a time")],
        )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"sqlite:///{db}"}))
    tap = str(Path(sys.executable).parent / "tap-sql")
    done = subprocess.run(
        [tap, "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    records = [
        json.loads(line)["record"]
        for line in done.stdout.splitlines()
        if line.startswith('{"type":"RECORD"') or '"type": "RECORD"' in line
    ]
    by_id = {r["id"]: r for r in records}
    assert by_id[1]["born"] == "1980-12-31"
    assert by_id[1]["seen"].startswith("2024-01-02T10:00:00")
    assert by_id[2]["born"] == "31-02-1980" and by_id[2]["seen"] == "not a time"
