"""Open the master database: engine, sessions, pragmas, automatic migrations, clear errors."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from crmhub.errors import ConfigurationError, DatabaseUnreachableError, MasterLockedError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = str(Path(__file__).with_name("migrations"))


def display_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations inside the package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    return cfg


def translate_operational_error(exc: OperationalError, url: str) -> Exception:
    """Turn a driver error into one of ours: locked (retriable) or unreachable."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    # 55P03: PostgreSQL's lock_not_available (lock_timeout passed)
    lock_timeout = getattr(exc.orig, "sqlstate", None) == "55P03"
    if lock_timeout or "locked" in text.lower() or "busy" in text.lower():
        return MasterLockedError(
            f"the master database {display_url(url)} is locked by another process",
            hint="wait for the other crmhub command to finish (see `crmhub runs`), then re-run",
        )
    return DatabaseUnreachableError(
        f"cannot open the master database {display_url(url)}: {text.strip().splitlines()[0]}",
        hint="check master.url in crmhub.yml and that the database server is running",
    )


class Master:
    """The master store: an engine and a session factory, migrated to the newest schema."""

    def __init__(self, url: str, *, busy_timeout_s: float = 10.0) -> None:
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigurationError(
                f"master.url {url!r} is not a database URL: {exc}",
                hint="use e.g. sqlite:///master.db or postgresql+psycopg://user@host/db",
            ) from None
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": busy_timeout_s}
        else:
            kwargs["pool_pre_ping"] = True
            if self.dialect == "postgresql":
                kwargs["connect_args"] = {
                    "connect_timeout": max(1, int(busy_timeout_s)),
                    # a lock held by another process fails after busy_timeout_s, as on
                    # SQLite, instead of waiting for ever (0 would mean no limit)
                    "options": f"-c lock_timeout={max(1, int(busy_timeout_s * 1000))}",
                }
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise ConfigurationError(
                f"cannot use master.url {display_url(url)}: {exc}",
                hint="install the driver: pip install 'crmhub[postgres]' or 'crmhub[mysql]'",
            ) from None
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(busy_timeout_s))
            # New ORM rows get their ids from the cursor (lastrowid), not from INSERT ...
            # RETURNING: SQLite gives a RETURNING insert a statement journal, and with 16 KiB
            # pages an insert touching a table and a few indexes outgrows the journal's 64 KiB
            # in memory, so each such row was also written to a temporary file (15,000 pages
            # for the 2,075 review candidates of a 10,000-record match run). The ORM inserts
            # these rows one statement per row either way (SQLite does not order RETURNING).
            self.engine.dialect.insert_returning = False
            self.engine.dialect.insert_executemany_returning = False
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction; driver errors become crmhub errors."""
        try:
            with self.sessions() as s, s.begin():
                yield s
        except OperationalError as exc:
            raise translate_operational_error(exc, self.url) from exc

    def upgrade(self) -> list[str]:
        """Apply pending migrations; return the revisions applied (empty when current)."""
        # Alembic is imported here, not at the top: a third of a second that processes
        # which only read the master (tap-crmhub, started for every publish) never need.
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(alembic_config())
        head = script.get_current_head()
        try:
            with self.engine.begin() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current == head:
                    return []
                applied = [
                    rev.revision for rev in script.iterate_revisions(head, current or "base")
                ]
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise translate_operational_error(exc, self.url) from exc
        log.info("master schema migrated to %s (%d steps)", head, len(applied))
        return list(reversed(applied))

    def current_revision(self) -> str | None:
        """The schema revision the database is at."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_pragmas(busy_timeout_s: float) -> Any:
    def on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # Applies only to a master not yet created (a no-op afterwards): 16 KiB pages hold
        # ~16 source records each instead of ~4, so bulk ingest splits and writes fewer pages
        # (writer CPU 13-14.5 -> 11.2-11.5 us per record in a micro-benchmark at load ~8).
        # Must precede journal_mode, which writes the header of a new file.
        cur.execute("PRAGMA page_size=16384")
        # WAL lets readers (the review app, `crmhub status`) work while a run writes.
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Bulk ingest writes tens of MB per transaction: checkpoint the WAL every ~64 MB
        # instead of every 4 MB (each checkpoint syncs the disk), and give B-tree updates of
        # the big indexes a 64 MB page cache.
        cur.execute("PRAGMA wal_autocheckpoint=16384")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()

    return on_connect


def open_master(url: str, *, busy_timeout_s: float = 10.0, upgrade: bool = True) -> Master:
    """Open (and by default migrate) the master at ``url``."""
    master = Master(url, busy_timeout_s=busy_timeout_s)
    if upgrade:
        master.upgrade()
    return master
