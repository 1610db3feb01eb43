"""Shared fixtures: real database servers, each test run in its own uniquely named database.

On a laptop without the servers the tests that need them skip with the reason. CI sets
``CRMHUB_REQUIRE_SERVERS=1``, which turns those skips into failures.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

PG_HOST = os.environ.get("CRMHUB_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CRMHUB_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CRMHUB_TEST_PG_USER", "postgres")
MY_HOST = os.environ.get("CRMHUB_TEST_MYSQL_HOST", "127.0.0.1")
MY_PORT = int(os.environ.get("CRMHUB_TEST_MYSQL_PORT", "3306"))
MY_USER = os.environ.get("CRMHUB_TEST_MYSQL_USER", "root")


def _servers_required() -> bool:
    return os.environ.get("CRMHUB_REQUIRE_SERVERS", "") not in ("", "0", "false", "no")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _unavailable(what: str, host: str, port: int) -> None:
    reason = f"{what} is not reachable on {host}:{port}"
    if _servers_required():
        pytest.fail(f"{reason}, and CRMHUB_REQUIRE_SERVERS is set (CI must run server tests)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (SQLAlchemy URL, psycopg 3), dropped after the test."""
    if not _reachable(PG_HOST, PG_PORT):
        _unavailable("PostgreSQL", PG_HOST, PG_PORT)
    import psycopg

    name = f"crmhub_test_{uuid.uuid4().hex[:12]}"
    admin = f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database (SQLAlchemy URL, PyMySQL), dropped after the test."""
    if not _reachable(MY_HOST, MY_PORT):
        _unavailable("MariaDB/MySQL", MY_HOST, MY_PORT)
    import pymysql

    name = f"crmhub_test_{uuid.uuid4().hex[:12]}"
    conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password="")
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    try:
        yield f"mysql+pymysql://{MY_USER}@{MY_HOST}:{MY_PORT}/{name}?charset=utf8mb4"
    finally:
        conn = pymysql.connect(host=MY_HOST, port=MY_PORT, user=MY_USER, password="")
        try:
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            conn.close()
