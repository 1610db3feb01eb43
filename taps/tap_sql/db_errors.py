"""Turn driver errors into one clear line that says what to do.

Drivers differ in how they report the same trouble (a wrong password, a refused
connection, a missing table); the patterns below cover PostgreSQL (psycopg), MariaDB /
MySQL (PyMySQL), SQLite and the common phrasing of SQL Server and Oracle drivers.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from tap_sql.errors import (
    TapSQLConfigurationError,
    TapSQLError,
    TapSQLFatalError,
    TapSQLRetriableError,
)

_AUTH = re.compile(
    r"password authentication failed|access denied|authentication failed|login failed"
    r"|role \S+ does not exist|invalid username/password|no password supplied"
    r"|ORA-01017",
    re.IGNORECASE,
)
_NO_DATABASE = re.compile(
    r"database \S+ does not exist|unknown database|unable to open database file"
    r"|cannot open database",
    re.IGNORECASE,
)
_UNREACHABLE = re.compile(
    r"connection refused|can't connect|could not connect|timeout expired|timed out"
    r"|no route to host|network is unreachable|could not translate host name"
    r"|name or service not known|temporary failure in name resolution|server closed"
    r"|lost connection|connection reset|TNS:",
    re.IGNORECASE,
)
_NO_TABLE = re.compile(
    r"relation \S+ does not exist|no such table|table \S+ doesn't exist"
    r"|invalid object name|ORA-00942",
    re.IGNORECASE,
)


def driver_message(exc: BaseException) -> str:
    """The driver's own message, first line only (no SQL echo, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip() or type(orig).__name__
    return text.splitlines()[0].strip()


def safe_url(url: str | sa.URL) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        parsed = sa.make_url(url) if isinstance(url, str) else url
    except sa.exc.ArgumentError:
        return "<unparseable URL>"
    return parsed.render_as_string(hide_password=True)


def connection_error(exc: BaseException, url: str | sa.URL) -> TapSQLError:
    """Classify a failure to connect: credentials, missing database, or unreachable."""
    message = driver_message(exc)
    where = safe_url(url)
    if _AUTH.search(message):
        return TapSQLConfigurationError(
            f"cannot log in to {where}: {message}",
            hint="check the user name and password in sqlalchemy_url "
            "(or the environment variable that sets it)",
        )
    if _NO_DATABASE.search(message):
        return TapSQLConfigurationError(
            f"database of {where} does not exist or cannot be opened: {message}",
            hint="check the database name / file path in sqlalchemy_url",
        )
    if _UNREACHABLE.search(message):
        return TapSQLRetriableError(
            f"cannot reach the database server of {where}: {message}",
            hint="check host and port in sqlalchemy_url and that the server is running "
            "and accepts connections from this machine; then re-run",
        )
    return TapSQLFatalError(
        f"cannot connect to {where}: {message}",
        hint="check sqlalchemy_url and the database server's log",
    )


def is_missing_table(exc: BaseException) -> bool:
    """True when the driver says the table or view does not exist."""
    return isinstance(exc, sa.exc.NoSuchTableError) or bool(_NO_TABLE.search(driver_message(exc)))


def is_connection_failure(exc: BaseException) -> bool:
    """True for errors where the connection itself failed (not the SQL)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return bool(_UNREACHABLE.search(driver_message(exc)))
