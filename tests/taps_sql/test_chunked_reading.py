"""Rows are fetched and converted a chunk at a time, column by column, on the fast path;
every message (records, their key order and values, and each STATE with its bookmark) must
be exactly what the row-by-row loop writes, on every backend."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from erp_schema import build_erp
from tap_runner import Messages, run_in_process

from tap_sql.errors import TapSQLConfigurationError
from tap_sql.stream import TapSQLStream
from tap_sql.tap import TapSQL


def comparable(messages: Messages) -> list[str]:
    # Compared as JSON text: key order and number forms (5 versus 5.0) count too.
    lines = messages.lines
    return [
        json.dumps({k: v for k, v in message.items() if k != "time_extracted"}) for message in lines
    ]


def both_loops(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, Any], state: dict[str, Any] | None = None
) -> tuple[Messages, Messages]:
    chunked = run_in_process(config, state)
    with monkeypatch.context() as patched:
        # A post_process override sends the stream through the row-by-row loop.
        patched.setattr(TapSQLStream, "post_process", lambda self, row, context=None: row)
        by_row = run_in_process(config, state)
    return chunked, by_row


def configs(url: str) -> list[dict[str, Any]]:
    base = {"sqlalchemy_url": url, "include_tables": ["customers", "orders", "order_lines"]}
    # Odd sizes: fetches and STATE intervals cut each other mid-chunk.
    small = {**base, "chunk_size": 17, "state_every_records": 23}
    incremental = {
        **small,
        "stream_settings": {
            name: {"replication_key": "updated_at"} for name in ("customers", "orders")
        },
    }
    return [base, small, incremental]


def check_backend(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    build_erp(url, customers=120)
    for config in configs(url):
        chunked, by_row = both_loops(monkeypatch, config)
        assert comparable(chunked) == comparable(by_row)
        assert len(chunked.records("customers")) == 120
    # A resumed incremental run: the bookmarks of the first run, then new rows only.
    incremental = configs(url)[2]
    first = run_in_process(incremental)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE customers SET updated_at = :t WHERE id % 10 = 3"),
            {"t": "2031-01-01 00:00:00"},
        )
    engine.dispose()
    chunked, by_row = both_loops(monkeypatch, incremental, first.last_state)
    assert comparable(chunked) == comparable(by_row)
    assert len(chunked.records("customers")) == 12


def test_sqlite(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    check_backend(monkeypatch, sqlite_url)


@pytest.mark.postgres
def test_postgres(monkeypatch: pytest.MonkeyPatch, postgres_url: str) -> None:
    check_backend(monkeypatch, postgres_url)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE odd_values (id int PRIMARY KEY, amount numeric, at timestamptz, "
            "naive timestamp, doc bytea, u uuid, span interval)"
        )
        # Non-finite numerics, aware and naive timestamps, NULLs mixed into every column.
        conn.exec_driver_sql(
            "INSERT INTO odd_values VALUES "
            "(1, 'NaN', '2024-06-01 10:00:00+02', '2024-06-01 10:00:00.5', '\\x00ff', "
            "'9b2e8f9e-1f7b-4a5e-9a8e-0c1d2e3f4a5b', '1 day 2 hours'), "
            "(2, 1.50, NULL, NULL, NULL, NULL, NULL), "
            "(3, 1.500, '2024-06-01 10:00:00+00', '2024-06-01 10:00:00', '\\x', "
            "'00000000-0000-0000-0000-000000000000', '-3 seconds'), "
            "(4, NULL, '2024-06-01 10:00:00+00', '2024-06-01 10:00:00', NULL, NULL, NULL)"
        )
    engine.dispose()
    config = {"sqlalchemy_url": postgres_url, "include_tables": ["odd_values"]}
    chunked, by_row = both_loops(monkeypatch, config)
    assert comparable(chunked) == comparable(by_row)
    records = chunked.records("odd_values")
    assert records[0]["amount"] is None
    assert records[0]["at"] == "2024-06-01T08:00:00+00:00"
    assert records[0]["naive"] == "2024-06-01T10:00:00.500000+00:00"


@pytest.mark.mysql
def test_mysql_with_undecodable_text(monkeypatch: pytest.MonkeyPatch, mysql_url: str) -> None:
    check_backend(monkeypatch, mysql_url)
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE legacy (id INT PRIMARY KEY, name VARCHAR(60) CHARACTER SET latin1, "
            "raw_name VARBINARY(60))"
        )
        rows = ", ".join(
            f"({i}, 'Smith {i}', _binary 0x{'4DFC6C6C6572' if i % 7 == 0 else '536D697468'})"
            for i in range(1, 60)
        )
        conn.exec_driver_sql(f"INSERT INTO legacy VALUES {rows}")
    engine.dispose()
    config = {
        "sqlalchemy_url": mysql_url,
        "include_tables": ["legacy"],
        "chunk_size": 10,
        "stream_settings": {"legacy": {"column_charsets": {"raw_name": "utf-8"}}},
    }
    chunked, by_row = both_loops(monkeypatch, config)
    assert comparable(chunked) == comparable(by_row)
    marked = [r for r in chunked.records("legacy") if r["_row_error"]]
    assert [r["id"] for r in marked] == list(range(7, 60, 7))


def test_a_column_named_like_the_row_error_property(sqlite_url: str) -> None:
    """Never two keys in a record, and never the source's values replaced: refused up front
    (test_bad_input.py runs the process and the custom-query way out)."""
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, _row_error TEXT)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'from the source'), (2, NULL)")
    engine.dispose()
    with pytest.raises(TapSQLConfigurationError, match="column named '_row_error'"):
        TapSQL(config={"sqlalchemy_url": sqlite_url, "include_tables": ["t"]}).sync_all()
