"""Discovery (types, keys, filters, views, custom queries) and faithful values, per backend."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from erp_schema import ErpCounts, build_erp
from tap_runner import Messages, discover, run_in_process

CUSTOMER_360 = """
SELECT c.id AS customer_id, c.customer_number, c.given_name, c.family_name, c.company_name,
       a.street, a.postal_code, a.city, a.country,
       e.value AS email, o.order_count, o.revenue,
       c.updated_at
FROM customers c
LEFT JOIN addresses a ON a.customer_id = c.id AND a.address_type = 'billing'
LEFT JOIN contacts e ON e.customer_id = c.id AND e.contact_type = 'email'
LEFT JOIN (
    SELECT o.customer_id, COUNT(DISTINCT o.id) AS order_count,
           SUM(l.quantity * l.unit_price) AS revenue
    FROM orders o JOIN order_lines l ON l.order_id = o.id
    GROUP BY o.customer_id
) o ON o.customer_id = c.id
"""


def erp_config(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "sqlalchemy_url": url,
        "stream_settings": {"customers": {"replication_key": "updated_at"}},
        "custom_queries": [
            {
                "name": "customer_360",
                "sql": CUSTOMER_360,
                "key_properties": ["customer_id"],
                "replication_key": "updated_at",
            }
        ],
        **extra,
    }


def _streams(catalog: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["tap_stream_id"]: s for s in catalog["streams"]}


def _root(entry: dict[str, Any]) -> dict[str, Any]:
    return next(m["metadata"] for m in entry["metadata"] if not m["breadcrumb"])


def _db_rows(url: str, sql: str) -> list[Any]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)))
    finally:
        engine.dispose()


def check_erp(url: str, counts: ErpCounts, *, typed_expressions: bool = True) -> Messages:
    """Discovery and a full sync of the ERP on any backend, checked against the database."""
    streams = _streams(discover(erp_config(url)))
    assert {
        "customers",
        "addresses",
        "contacts",
        "orders",
        "order_lines",
        "tickets",
        "interactions",
        "open_tickets",
        "customer_360",
    } <= set(streams)
    customers = streams["customers"]
    props = customers["schema"]["properties"]
    assert customers["key_properties"] == ["id"]
    assert streams["order_lines"]["key_properties"] == ["order_id", "line_no"]
    assert "number" in props["credit_limit"]["type"]
    assert props["logo"]["contentEncoding"] == "base64"
    assert props["birth_date"]["format"] == "date"
    assert props["updated_at"]["format"] == "date-time"
    assert "integer" in props["id"]["type"]
    assert props["_row_error"] == {"type": ["string", "null"]}
    assert _root(customers)["replication-key"] == "updated_at"
    assert "updated_at" in _root(customers)["valid-replication-keys"]
    assert _root(streams["open_tickets"]).get("inclusion") == "available"
    revenue = streams["customer_360"]["schema"]["properties"]["revenue"]
    # SQLite has no type for an expression column of a view: string unless overridden.
    assert ("number" if typed_expressions else "string") in revenue["type"]

    messages = run_in_process(erp_config(url))
    records = {r["id"]: r for r in messages.records("customers")}
    assert len(records) == counts.customers
    assert len(messages.records("order_lines")) == counts.order_lines
    assert len(messages.records("open_tickets")) == len(
        _db_rows(url, "SELECT id FROM tickets WHERE status <> 'closed'")
    )
    assert len(messages.records("customer_360")) == counts.customers

    engine = sa.create_engine(url)
    table = sa.Table("customers", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        db_customers = list(conn.execute(table.select()))
    engine.dispose()
    for row in db_customers:
        record = records[row.id]
        assert Decimal(str(record["credit_limit"])) == row.credit_limit
        assert Decimal(str(record["balance"])) == row.balance
        if row.logo is None:
            assert record["logo"] is None
        else:
            assert base64.b64decode(record["logo"]) == bytes(row.logo)
        assert record["birth_date"] == (row.birth_date.isoformat() if row.birth_date else None)
        assert record["given_name"] == row.given_name
        assert record["_row_error"] is None
    return messages


def test_sqlite_erp(sqlite_erp: tuple[str, ErpCounts]) -> None:
    url, counts = sqlite_erp
    messages = check_erp(url, counts, typed_expressions=False)
    names = {r["given_name"] for r in messages.records("customers")}
    assert {"राहुल", "Jürgen", "Siobhán"} <= names


@pytest.mark.postgres
def test_postgres_erp(postgres_url: str) -> None:
    counts = build_erp(postgres_url, customers=80)
    check_erp(postgres_url, counts)
    streams = _streams(discover({"sqlalchemy_url": postgres_url}))
    assert "customers" in streams, "tables of the default schema are named without it"
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA sales")
        conn.exec_driver_sql(
            "CREATE TABLE sales.quotes (id serial PRIMARY KEY, amount numeric(10,2), "
            "valid_until timestamptz, doc bytea)"
        )
        conn.exec_driver_sql(
            "INSERT INTO sales.quotes (amount, valid_until, doc) VALUES "
            "(12.50, '2024-06-01 10:00:00+02', '\\x00ff10'), ('NaN', NULL, NULL)"
        )
    engine.dispose()
    quotes = run_in_process({"sqlalchemy_url": postgres_url, "include_schemas": ["sales"]}).records(
        "sales-quotes"
    )
    assert quotes[0]["valid_until"] == "2024-06-01T08:00:00+00:00"
    assert base64.b64decode(quotes[0]["doc"]) == b"\x00\xff\x10"
    assert quotes[1]["amount"] is None, "numeric NaN has no JSON form: null"

    # A read-only user without the TEMP privilege: custom-query columns are still found
    # (typed as strings, values as text) instead of failing.
    database = sa.make_url(postgres_url).database
    with engine.begin() as conn:
        conn.exec_driver_sql(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
        conn.exec_driver_sql("DROP ROLE IF EXISTS tap_sql_reader")
        conn.exec_driver_sql("CREATE ROLE tap_sql_reader LOGIN")
        conn.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO tap_sql_reader")
    engine.dispose()
    reader_url = sa.make_url(postgres_url).set(username="tap_sql_reader")
    cfg = {
        "sqlalchemy_url": reader_url.render_as_string(hide_password=False),
        "include_tables": ["none"],
        "custom_queries": [
            {
                "name": "q",
                "sql": "SELECT id, credit_limit FROM customers WHERE id = 1",
                "key_properties": ["id"],
            }
        ],
    }
    try:
        record = run_in_process(cfg).records("q")[0]
        assert record["id"] == "1" and record["credit_limit"] is not None
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP OWNED BY tap_sql_reader")
            conn.exec_driver_sql("DROP ROLE tap_sql_reader")
        engine.dispose()


@pytest.mark.mysql
def test_mysql_erp_and_latin1(mysql_url: str) -> None:
    counts = build_erp(mysql_url, customers=60)
    check_erp(mysql_url, counts)
    engine = sa.create_engine(mysql_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE legacy_customers (id INT PRIMARY KEY, "
            "name VARCHAR(60) CHARACTER SET latin1, "
            "city VARCHAR(60) CHARACTER SET utf8mb4, "
            "notes VARCHAR(60) CHARACTER SET latin1, "
            "raw_name VARBINARY(60)) DEFAULT CHARSET=latin1"
        )
        # Stored bytes: latin1 "Müller €" (0x80 is the euro sign in MySQL's latin1),
        # a latin1 column that an old application filled with UTF-8 bytes, and a binary
        # column holding cp1252 text.
        conn.exec_driver_sql(
            "INSERT INTO legacy_customers VALUES "
            "(1, _binary 0x4DFC6C6C65722080, 'Düsseldorf', _binary 0x4BC3B66C6E, _binary 0x4DFC6C6C6572),"
            "(2, 'Smith', 'London', 'plain', _binary 0x536D697468)"
        )
    engine.dispose()
    cfg = {
        "sqlalchemy_url": mysql_url,
        "include_tables": ["legacy_customers"],
        "stream_settings": {
            "legacy_customers": {"column_charsets": {"notes": "utf-8", "raw_name": "utf-8"}}
        },
    }
    records = run_in_process(cfg).records("legacy_customers")
    first, second = records
    assert first["name"] == "Müller €"
    assert first["city"] == "Düsseldorf"
    assert first["notes"] == "Köln", "latin1 column holding UTF-8, declared utf-8"
    # raw_name holds cp1252 bytes but is declared utf-8: marked, not crashed.
    assert first["raw_name"] == "M\ufffdller"
    assert "column 'raw_name'" in first["_row_error"] and "4dfc6c6c6572" in first["_row_error"]
    assert second["raw_name"] == "Smith" and second["_row_error"] is None


def test_sqlite_invalid_utf8_is_marked_not_fatal(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, city TEXT)")
        conn.exec_driver_sql(
            "INSERT INTO people VALUES (1, 'Anna', 'Köln'), "
            "(2, CAST(x'4dfc6c6c6572' AS TEXT), 'M' || CAST(x'fc' AS TEXT) || 'nchen'), "
            "(3, 'राहुल', 'Delhi')"
        )
    engine.dispose()
    records = run_in_process({"sqlalchemy_url": sqlite_url}).records("people")
    assert [r["id"] for r in records] == [1, 2, 3]
    bad = records[1]
    assert bad["name"] == "M\ufffdller" and bad["city"] == "M\ufffdnchen"
    assert "column 'name'" in bad["_row_error"] and "column 'city'" in bad["_row_error"]
    assert records[0]["_row_error"] is None and records[2]["name"] == "राहुल"
    assert "1 rows had text that is not valid" in caplog.text


def test_filters_and_views(sqlite_erp: tuple[str, ErpCounts]) -> None:
    url, _ = sqlite_erp
    only = _streams(
        discover(
            {
                "sqlalchemy_url": url,
                "include_tables": ["cust*", "order*"],
                "exclude_tables": ["*_lines"],
            }
        )
    )
    assert set(only) == {"customers", "orders"}
    no_views = _streams(discover({"sqlalchemy_url": url, "include_views": False}))
    assert "open_tickets" not in no_views and "tickets" in no_views
    by_schema = _streams(discover({"sqlalchemy_url": url, "exclude_schemas": ["main"]}))
    assert by_schema == {}


def test_custom_query_incremental_and_schema_override(sqlite_erp: tuple[str, ErpCounts]) -> None:
    url, counts = sqlite_erp
    cfg = erp_config(url, include_tables=["none"])
    cfg["custom_queries"][0]["schema"] = {"revenue": {"type": ["string", "null"]}}
    catalog = discover(cfg)
    entry = _streams(catalog)["customer_360"]
    assert entry["schema"]["properties"]["revenue"] == {"type": ["string", "null"]}
    first = run_in_process(cfg)
    assert len(first.records("customer_360")) == counts.customers
    state = first.last_state["bookmarks"]["customer_360"]
    assert state["replication_key_tiebreaker"] == {"customer_id": counts.customers}
    again = run_in_process(cfg, state=first.last_state)
    assert again.records("customer_360") == []


def test_deselected_columns_are_not_read(sqlite_erp: tuple[str, ErpCounts]) -> None:
    url, _ = sqlite_erp
    catalog = discover({"sqlalchemy_url": url, "include_tables": ["customers"]})
    for item in catalog["streams"][0]["metadata"]:
        if item["breadcrumb"] == ["properties", "logo"]:
            item["metadata"]["selected"] = False
    records = run_in_process({"sqlalchemy_url": url}, catalog=catalog).records("customers")
    assert "logo" not in records[0] and "given_name" in records[0]


def test_decimal_digits_survive_in_the_json_text(sqlite_erp: tuple[str, ErpCounts]) -> None:
    url, _ = sqlite_erp
    messages = run_in_process({"sqlalchemy_url": url, "include_tables": ["order_lines"]})
    line = json.dumps(messages.records("order_lines")[0])
    assert "quantity" in line
    engine = sa.create_engine(url)
    table = sa.Table("order_lines", sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = {(r.order_id, r.line_no): r.quantity for r in conn.execute(table.select())}
    engine.dispose()
    for record in messages.records("order_lines"):
        assert Decimal(str(record["quantity"])) == rows[(record["order_id"], record["line_no"])]
