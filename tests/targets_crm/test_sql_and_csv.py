"""target-crm sql profile on SQLite, PostgreSQL and MariaDB; csv-import layouts."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from singer_input import order, organization, person, read_results, run_target, singer_text


@pytest.fixture(params=["sqlite", "postgres", "mysql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crm.db'}"
    return str(request.getfixturevalue(f"{request.param}_url"))


def _rows(url: str, table: str) -> dict[str, dict[str, Any]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {table}")).mappings().all()
    engine.dispose()
    key = "master_id" if table == "customers" else "record_id"
    return {r[key]: dict(r) for r in rows}


def test_sql_upsert_merge_retire_and_idempotence(sql_url: str, out: dict[str, Any]) -> None:
    config = {"profile": "sql", "sqlalchemy_url": sql_url, **out}
    customers = [organization(1), person(1, organization_master_id="O0000001"), person(2)]
    text = singer_text({"customers": customers, "orders": [order(1, "M0000002")]})
    states, code = run_target(config, text)
    assert code == 0 and states
    rows = _rows(sql_url, "customers")
    assert rows["M0000001"]["family_name"] == "Sharma"
    assert rows["M0000001"]["organization_master_id"] == "O0000001"
    emails = rows["M0000001"]["emails"]
    assert (json.loads(emails) if isinstance(emails, str) else emails) == ["person1@example.org"]
    # same input again: all skipped; an interrupted run re-sent with a change: upsert
    run_target(config, text)
    assert {ln["action"] for ln in read_results(config["results_path"])[4:]} == {"skip"}
    run_target(config, singer_text({"customers": [person(1, given_name="P.")]}))
    assert len(_rows(sql_url, "customers")) == 3
    # merge M2 into M1: archived, merged_into set, its order re-pointed
    _, code = run_target(config, singer_text({"customers": [person(2, merged_into="M0000001")]}))
    assert code == 0
    rows = _rows(sql_url, "customers")
    assert rows["M0000002"]["crmhub_archived"] and rows["M0000002"]["crmhub_merged_into"] == (
        "M0000001"
    )
    assert _rows(sql_url, "orders")["R0000001"]["master_id"] == "M0000001"
    run_target(
        {**config, "delete_policy": "delete"},
        singer_text({"customers": [organization(1, retired=True)]}),
    )
    assert "O0000001" not in _rows(sql_url, "customers")


def test_sql_dry_run_creates_nothing(tmp_path: Path, out: dict[str, Any]) -> None:
    url = f"sqlite:///{tmp_path / 'dry.db'}"
    config = {"profile": "sql", "sqlalchemy_url": url, "dry_run": True, **out}
    _, code = run_target(config, singer_text({"customers": [person(1), person(2)]}))
    assert code == 0
    assert sa.inspect(sa.create_engine(url)).get_table_names() == []
    report = json.loads(Path(out["report_path"]).read_text())
    assert report["totals"]["create"] == 2 and report["dry_run"]
    assert not Path(out["results_path"]).exists()


def test_sql_bad_url_is_a_clear_error(out: dict[str, Any], caplog: Any) -> None:
    config = {
        "profile": "sql",
        "sqlalchemy_url": "postgresql+psycopg://nobody@127.0.0.1:1/x",
        **out,
    }
    _, code = run_target(config, singer_text({"customers": [person(1)]}))
    assert code == 1 and "cannot connect to the database" in caplog.text


@pytest.mark.parametrize(
    ("layout", "files", "header"),
    [
        ("salesforce-data-import-wizard", {"Contact", "Account"}, "Last Name"),
        ("hubspot-import", {"contacts", "companies"}, "Last Name"),
        ("dynamics-import", {"contact", "account"}, "Address 1: City"),
    ],
)
def test_csv_import_layouts(
    layout: str, files: set[str], header: str, tmp_path: Path, out: dict[str, Any]
) -> None:
    config = {
        "profile": "csv-import",
        "layout": layout,
        "output_dir": str(tmp_path / "files"),
        **out,
    }
    customers = [organization(1), person(1), person(2, name_particle="van der", family_name="Berg")]
    _, code = run_target(config, singer_text({"customers": customers}))
    assert code == 0
    written = {p.name.rsplit("-", 1)[0]: p for p in (tmp_path / "files").glob("*.csv")}
    assert set(written) == files
    person_file = next(p for k, p in written.items() if k.lower().startswith("contact"))
    rows = list(csv.DictReader(person_file.open(encoding="utf-8")))
    assert header in rows[0]
    assert [r[next(iter(rows[0]))] for r in rows] == ["M0000001", "M0000002"]
    last = rows[1].get("Last Name")
    assert last in (None, "van der Berg")
    # second run: nothing changed, nothing written
    run_target(
        {**config, "output_dir": str(tmp_path / "again")}, singer_text({"customers": customers})
    )
    assert not list((tmp_path / "again").glob("*.csv"))


def test_sqlite_stores_empty_columns_as_null_and_flags_as_integers(
    tmp_path: Path, out: dict[str, Any]
) -> None:
    # None and booleans reach SQLite through registered adapters (speed): the stored values
    # must be exactly what binding them directly stored, NULL and the integers 0 and 1
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    config = {"profile": "sql", "sqlalchemy_url": url, **out}
    people = [person(1, consent_phone=None), person(2, consent_phone=True)]
    _, code = run_target(config, singer_text({"customers": people}))
    assert code == 0
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT master_id, typeof(name_prefix), typeof(consent_email), consent_email, "
                "typeof(consent_phone), consent_phone, typeof(crmhub_archived), "
                "crmhub_archived, typeof(crmhub_merged_into) FROM customers ORDER BY master_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in stored] == [
        ("M0000001", "null", "integer", 0, "null", None, "integer", 0, "null"),
        ("M0000002", "null", "integer", 1, "integer", 1, "integer", 0, "null"),
    ]
