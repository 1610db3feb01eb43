"""A real Tryton ERP server for tests: template database once, a running trytond per test.

Building a Tryton database (trytond-admin activating party, company, country, currency, sale
and sale_opportunity on SQLite) costs 30-60 s of CPU, copying the SQLite file costs
milliseconds. So a test session builds one *template* database and every test starts its own
``trytond`` process on a copy of it, bound to a free loopback port.

Public API (kept small and stable; target-crm's tryton profile imports it too)::

    template = cached_template(cache_dir)          # or create_template(directory)
    with running_trytond(tmp_path, template) as server:
        server.url, server.db, server.user, server.password   # what a client needs
        rpc = server.client()                       # logged-in JSON-RPC client for seeding
        party_ids = rpc.call("model.party.party.create", [{"name": "Acme"}], server.context)
        server.expire_sessions()                    # every logged-in client must log in again
        server.stop(); server.start()               # Tryton down, then back (same port, data)
        server.restart()                            # the same in one call
        seeded = server.snapshot(tmp_path / "seeded.sqlite")   # a new template

The template holds the activated modules, an administrator ``admin`` whose password is
``TEMPLATE_PASSWORD``, the currencies EUR, USD, GBP and INR, the countries NL, DE, GB, IN
and US, and one company ("crmhub Test B.V.", EUR) set as the administrator's company.
``TrytonServer.context`` is the RPC context (company, language): Tryton takes a context as
the last positional parameter of every model call, and sales and opportunities need the
company in it. ``TrytonRPC.call`` raises ``TrytonRPCError`` with Tryton's message.

trytond runs in the test mode of Tryton's own test suite (``Pool.test``); the only effect
that matters here is that email addresses are validated without a DNS look-up of their
domain (trytond otherwise resolves MX records, and CI has no DNS). Everything else is the
stock server.

Tryton facts this module relies on (trytond 8.2): the JSON-RPC endpoint is
``POST /<db>/rpc/``, ``common.db.login`` returns ``[uid, token, ...]``, later
calls send ``Authorization: Session base64(login:uid:token)``; the server is started with
``-d <db>``; SQLite allows one writer at a time, so seed from one client at a time.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import gzip
import importlib.metadata
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

TRYTON_MODULES = ("party", "company", "country", "currency", "sale", "sale_opportunity")
TEMPLATE_DB = "crmhub"
TEMPLATE_USER = "admin"
TEMPLATE_PASSWORD = "crmhub-admin-pw"
COUNTRIES = (
    ("NL", "Netherlands"),
    ("DE", "Germany"),
    ("GB", "United Kingdom"),
    ("IN", "India"),
    ("US", "United States"),
)
CURRENCIES = (
    ("EUR", "Euro", "€"),
    ("USD", "US Dollar", "$"),
    ("GBP", "Pound Sterling", "£"),
    ("INR", "Indian Rupee", "₹"),
)
# Bump when the template's content changes, so cached templates are rebuilt.
TEMPLATE_VERSION = "1"

_BIN = Path(sys.executable).parent
# trytond's own server entry point, in the test mode Tryton's test suite uses: the only
# difference that matters here is that email addresses are validated without a DNS look-up
# of their domain (trytond otherwise resolves MX records, and CI has no DNS).
_TRYTOND_MAIN = (
    "import sys; from trytond.pool import Pool; Pool.test = True; "
    "from trytond.cli import main; sys.argv[0] = 'trytond'; sys.exit(main())"
)
_START_TIMEOUT = 90.0


class TrytonServerError(RuntimeError):
    """trytond could not be set up or started; the message says which step and shows its log."""


@dataclass(frozen=True)
class TrytonTemplate:
    """A ready Tryton SQLite database file to copy for each test."""

    database_file: Path
    db: str = TEMPLATE_DB
    user: str = TEMPLATE_USER
    password: str = TEMPLATE_PASSWORD


# --------------------------------------------------------------------------- JSON-RPC client


def _encode(obj: Any) -> Any:
    """Tryton's JSON extension: typed values travel as ``{"__class__": ...}`` objects."""
    if isinstance(obj, dt.datetime):
        return {
            "__class__": "datetime",
            "year": obj.year,
            "month": obj.month,
            "day": obj.day,
            "hour": obj.hour,
            "minute": obj.minute,
            "second": obj.second,
            "microsecond": obj.microsecond,
        }
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    if isinstance(obj, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(obj).decode()}
    raise TypeError(f"cannot send {type(obj).__name__} to Tryton")


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    return obj


class TrytonRPCError(RuntimeError):
    """Tryton answered a call with an error (user error, access error, bad domain...)."""


@dataclass
class TrytonRPC:
    """A minimal logged-in JSON-RPC client, for seeding and inspecting test data.

    Deliberately independent of tap-tryton's own client, so a bug there cannot hide
    itself in the test data.
    """

    url: str
    db: str
    user: str
    password: str
    timeout: float = 60.0
    _auth: str | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The database's JSON-RPC endpoint."""
        return f"{self.url}{self.db}/rpc/"

    def login(self) -> None:
        """Log in with ``common.db.login`` and keep the session for later calls."""
        # trytond 8.2 answers [uid, token, <password-expiry or None>].
        answer = self._post("common.db.login", [self.user, {"password": self.password}], auth=False)
        uid, token = answer[0], answer[1]
        raw = f"{self.user}:{uid}:{token}".encode()
        self._auth = "Session " + base64.b64encode(raw).decode()

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` (e.g. ``model.party.party.search_read``) with positional params."""
        if self._auth is None:
            self.login()
        return self._post(method, list(params), auth=True)

    def _post(self, method: str, params: list[Any], *, auth: bool) -> Any:
        body = json.dumps({"id": 1, "method": method, "params": params}, default=_encode)
        request = urllib.request.Request(  # noqa: S310 - http on loopback only
            self.endpoint,
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept-Encoding": "gzip"},
        )
        if auth and self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
        except urllib.error.HTTPError as exc:
            raise TrytonRPCError(f"{method}: HTTP {exc.code} {exc.read()[:300]!r}") from exc
        payload = json.loads(raw, object_hook=_decode)
        if payload.get("error"):
            raise TrytonRPCError(f"{method}: {payload['error']!r}"[:2000])
        return payload["result"]


# --------------------------------------------------------------------------- server process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(directory: Path, port: int) -> Path:
    config = directory / "trytond.conf"
    config.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {directory}\n"
        "[web]\n"
        f"listen = 127.0.0.1:{port}\n"
        "[session]\n"
        # Tests log in with wrong passwords on purpose; never lock the test client out.
        "max_attempt = 1000\n"
        "max_attempt_ip_network = 10000\n"
        "[password]\n"
        # The template's admin password is short and public; it only guards a test db.
        "length = 4\n"
        "entropy = 0\n",
        encoding="utf-8",
    )
    return config


@dataclass
class TrytonServer:
    """A trytond process serving one SQLite database on 127.0.0.1.

    ``url`` is the server's base URL (``http://127.0.0.1:PORT/``); the JSON-RPC endpoint is
    ``url + db + "/rpc/"``.
    """

    url: str
    db: str
    user: str
    password: str
    directory: Path
    port: int
    context: dict[str, Any] = field(default_factory=dict)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def database_file(self) -> Path:
        """The SQLite file the server uses."""
        return self.directory / f"{self.db}.sqlite"

    @property
    def log_file(self) -> Path:
        """trytond's stdout and stderr."""
        return self.directory / "trytond.log"

    def client(self) -> TrytonRPC:
        """A new, logged-in JSON-RPC client for this server."""
        rpc = TrytonRPC(self.url, self.db, self.user, self.password)
        rpc.login()
        return rpc

    def start(self) -> None:
        """Start trytond and wait until a login succeeds."""
        if self._process is not None:
            return
        config = _write_config(self.directory, self.port)
        log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-c", _TRYTOND_MAIN, "-c", str(config), "-d", self.db],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "TRYTOND_CONFIG": str(config)},
        )
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            try:
                TrytonRPC(self.url, self.db, self.user, self.password, timeout=10).login()
                return
            except (OSError, TrytonRPCError) as exc:
                last_error = exc
                time.sleep(0.1)
        self.stop()
        tail = self.log_file.read_text(errors="replace")[-3000:]
        raise TrytonServerError(
            f"trytond on port {self.port} did not accept a login within {_START_TIMEOUT:.0f}s "
            f"(last error: {last_error}); log {self.log_file}:\n{tail}"
        )

    def stop(self) -> None:
        """Stop trytond (SIGTERM, then SIGKILL after 10 s)."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again on the same port and database."""
        self.stop()
        self.start()

    def snapshot(self, target: Path) -> TrytonTemplate:
        """Copy the database (consistently, WAL included) to ``target``, a new template.

        Works while the server runs; use it to save seeded data for later tests.
        """
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        with (
            contextlib.closing(sqlite3.connect(self.database_file, timeout=30)) as source,
            contextlib.closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
        return TrytonTemplate(
            database_file=target, db=self.db, user=self.user, password=self.password
        )

    def expire_sessions(self) -> int:
        """Delete every login session, as an expired session would be; returns how many."""
        with contextlib.closing(sqlite3.connect(self.database_file, timeout=30)) as conn, conn:
            deleted = conn.execute("DELETE FROM ir_session").rowcount
        return int(deleted)


@contextlib.contextmanager
def running_trytond(
    tmp_dir: Path, template: TrytonTemplate | None = None
) -> Iterator[TrytonServer]:
    """Copy ``template`` into ``tmp_dir`` and run trytond on it until the block exits.

    Without a template one is built in ``tmp_dir / "template"`` first (slow: prefer
    ``cached_template`` in a session-scoped fixture).
    """
    tmp_dir = Path(tmp_dir)
    if template is None:
        template = create_template(tmp_dir / "template")
    directory = tmp_dir / "trytond"
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.database_file, directory / f"{template.db}.sqlite")
    port = _free_port()
    server = TrytonServer(
        url=f"http://127.0.0.1:{port}/",
        db=template.db,
        user=template.user,
        password=template.password,
        directory=directory,
        port=port,
    )
    try:
        server.start()
        rpc = server.client()
        company_ids = rpc.call("model.company.company.search", [], 0, 1, None, {})
        server.context = {"company": company_ids[0] if company_ids else None, "language": "en"}
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- template


def _run_admin(directory: Path, db: str, password: str) -> None:
    config = _write_config(directory, _free_port())
    passfile = directory / "admin.pass"
    passfile.write_text(password + "\n", encoding="utf-8")
    (directory / f"{db}.sqlite").touch()
    command = [
        str(_BIN / "trytond-admin"),
        "-c",
        str(config),
        "-d",
        db,
        "-u",
        *TRYTON_MODULES,
        "--activate-dependencies",
    ]
    # trytond-admin asks for the admin's email on a new database: answer "none".
    result = subprocess.run(
        command,
        input=b"\n",
        capture_output=True,
        timeout=900,
        check=False,
        env={**os.environ, "TRYTONPASSFILE": str(passfile), "TRYTOND_CONFIG": str(config)},
    )
    passfile.unlink()
    if result.returncode != 0:
        raise TrytonServerError(
            f"trytond-admin failed ({result.returncode}) in {directory}:\n"
            + result.stderr.decode(errors="replace")[-3000:]
        )


def _set_up_company(server: TrytonServer) -> None:
    rpc = server.client()
    ctx: dict[str, Any] = {}
    currency_ids = rpc.call(
        "model.currency.currency.create",
        [
            {"code": code, "name": name, "symbol": symbol, "digits": 2, "rounding": Decimal("0.01")}
            for code, name, symbol in CURRENCIES
        ],
        ctx,
    )
    rpc.call(
        "model.country.country.create",
        [{"code": code, "name": name} for code, name in COUNTRIES],
        ctx,
    )
    party_ids = rpc.call("model.party.party.create", [{"name": "crmhub Test B.V."}], ctx)
    company_ids = rpc.call(
        "model.company.company.create", [{"party": party_ids[0], "currency": currency_ids[0]}], ctx
    )
    user_ids = rpc.call("model.res.user.search", [("login", "=", server.user)], 0, 1, None, ctx)
    rpc.call(
        "model.res.user.write",
        user_ids,
        {"companies": [("add", company_ids)], "company": company_ids[0]},
        ctx,
    )


def create_template(directory: Path) -> TrytonTemplate:
    """Build a template database in ``directory`` (30-60 s): modules, currencies, company."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _run_admin(directory, TEMPLATE_DB, TEMPLATE_PASSWORD)
    port = _free_port()
    server = TrytonServer(
        url=f"http://127.0.0.1:{port}/",
        db=TEMPLATE_DB,
        user=TEMPLATE_USER,
        password=TEMPLATE_PASSWORD,
        directory=directory,
        port=port,
    )
    server.start()
    try:
        _set_up_company(server)
        server.expire_sessions()
        return server.snapshot(directory / "template.sqlite")
    finally:
        server.stop()


def _template_key() -> str:
    versions = [importlib.metadata.version("trytond")]
    versions += [importlib.metadata.version(f"trytond_{module}") for module in TRYTON_MODULES]
    return f"v{TEMPLATE_VERSION}-" + "-".join(versions)


def cached_template(cache_dir: Path) -> TrytonTemplate:
    """The template under ``cache_dir``, built once and shared by processes and runs.

    The cache key holds the trytond and module versions, so an upgrade rebuilds it. A file
    lock makes parallel workers (pytest-xdist) wait for one build instead of each building.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / _template_key()
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        database_file = target / f"{TEMPLATE_DB}.sqlite"
        if not database_file.exists():
            build = Path(tempfile.mkdtemp(prefix="build-", dir=cache_dir))
            try:
                create_template(build)
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir()
                # Copy then rename: a build killed half-way never looks finished.
                partial = target / "partial.sqlite"
                shutil.copyfile(build / "template.sqlite", partial)
                partial.replace(database_file)
            finally:
                shutil.rmtree(build, ignore_errors=True)
    return TrytonTemplate(database_file=database_file)
