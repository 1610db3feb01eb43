"""A JSON-RPC client for one Tryton database: login, session re-login, retries, gzip.

Protocol facts (trytond 8.2): the endpoint is ``POST <url>/<database>/rpc/``; a body is
``{"id", "method", "params"}``; ``common.db.login(login, {"password": ...})`` answers
``[uid, token, ...]``; later calls send ``Authorization: Session base64(login:uid:token)``.
An unknown or expired session, like a wrong password, answers HTTP 401. Errors raised by
Tryton itself (``UserError``, ``AccessError``...) come back as HTTP 200 with an ``error``.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from tap_tryton.codec import decode_object, encode_value
from tap_tryton.errors import (
    TapTrytonConfigurationError,
    TapTrytonFatalError,
    TapTrytonRetriableError,
)

# HTTP answers that mean "the server is not (yet) able to answer": retry with back-off.
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# Tryton errors worth retrying: SQLite's single writer, PostgreSQL serialization conflicts.
_TRANSIENT_MARKERS = ("database is locked", "could not serialize", "deadlock detected")
_MAX_BACKOFF = 30.0


@dataclass(frozen=True)
class ConnectionSettings:
    """Where and how to reach Tryton; built from the tap's config."""

    url: str
    database: str
    username: str
    password: str
    timeout: float = 60.0
    max_retries: int = 5
    retry_backoff: float = 1.0

    @property
    def endpoint(self) -> str:
        """The database's JSON-RPC endpoint."""
        return f"{self.url.rstrip('/')}/{quote(self.database, safe='')}/rpc/"


class _SessionRejected(Exception):
    """HTTP 401: the session is unknown or expired (or, at login, the password is wrong)."""


class TrytonClient:
    """Calls Tryton's JSON-RPC API, logging in again when the session expires mid-run."""

    def __init__(self, settings: ConnectionSettings, logger: logging.Logger) -> None:
        self.settings = settings
        self.logger = logger
        self.http = requests.Session()
        self.http.headers.update({"Content-Type": "application/json", "Accept-Encoding": "gzip"})
        self._authorization: str | None = None
        self._request_id = 0
        self.logins = 0  # how many times this client logged in (re-logins included)

    def close(self) -> None:
        """Close the HTTP connections (the Tryton session simply expires server-side)."""
        self.http.close()

    # ------------------------------------------------------------------ public calls

    def login(self) -> None:
        """Log in with ``common.db.login``; wrong credentials raise a configuration error."""
        params = [self.settings.username, {"password": self.settings.password}]
        try:
            answer = self._post("common.db.login", params, authorization=None)
        except _SessionRejected:
            raise TapTrytonConfigurationError(
                f"Tryton at {self.settings.endpoint} refused the login of user "
                f"'{self.settings.username}': wrong username or password",
                hint="check the tap's username and password settings",
            ) from None
        if not isinstance(answer, list) or len(answer) < 2:
            raise TapTrytonFatalError(
                f"Tryton at {self.settings.endpoint} answered common.db.login with "
                f"{type(answer).__name__}, not [uid, token]: is this a Tryton server?"
            )
        uid, token = answer[0], answer[1]
        raw = f"{self.settings.username}:{uid}:{token}".encode()
        self._authorization = "Session " + base64.b64encode(raw).decode("ascii")
        self.logins += 1

    def call(self, method: str, *params: Any) -> Any:
        """Call ``method`` with positional ``params``; log in (again) when needed."""
        if self._authorization is None:
            self.login()
        try:
            return self._post(method, list(params), authorization=self._authorization)
        except _SessionRejected:
            # The session expired or was deleted (logout, server-side clean-up): log in
            # again once and repeat the call; a second refusal is a real access problem.
            self.logger.warning(
                "Tryton session expired during %s; logging in again as '%s'",
                method,
                self.settings.username,
            )
            self.login()
            try:
                return self._post(method, list(params), authorization=self._authorization)
            except _SessionRejected:
                raise TapTrytonConfigurationError(
                    f"Tryton at {self.settings.endpoint} refused {method} right after a "
                    f"fresh login of user '{self.settings.username}'",
                    hint="check that the user is active and may use the JSON-RPC API",
                ) from None

    def search_read(
        self,
        model: str,
        domain: Sequence[Any],
        *,
        fields: Sequence[str],
        order: Sequence[tuple[str, str]],
        limit: int,
        context: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """``model.<model>.search_read`` (offset 0: callers page by keyset, not offset)."""
        result = self.call(
            f"model.{model}.search_read",
            list(domain),
            0,
            limit,
            [list(item) for item in order],
            list(fields),
            context,
        )
        if not isinstance(result, list):
            raise TapTrytonFatalError(
                f"Tryton answered model.{model}.search_read with {type(result).__name__}, "
                "not a list of records"
            )
        return result

    # ------------------------------------------------------------------ transport

    def _post(self, method: str, params: list[Any], *, authorization: str | None) -> Any:
        """One call with retries on network failures and transient server errors."""
        attempts = self.settings.max_retries + 1
        delay = self.settings.retry_backoff
        started = time.monotonic()
        last_problem = ""
        for attempt in range(1, attempts + 1):
            try:
                return self._post_once(method, params, authorization)
            except _Transient as exc:
                last_problem = str(exc)
            if attempt < attempts:
                self.logger.warning(
                    "Tryton call %s failed (%s); retry %d of %d in %.1fs",
                    method,
                    last_problem,
                    attempt,
                    self.settings.max_retries,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, _MAX_BACKOFF)
        raise TapTrytonRetriableError(
            f"Tryton at {self.settings.endpoint} did not answer {method} after {attempts} "
            f"attempt(s) over {time.monotonic() - started:.0f}s: {last_problem}",
            hint="check that the server is running and the url is right, then re-run "
            "with the last STATE; nothing emitted so far is lost",
        )

    def _post_once(self, method: str, params: list[Any], authorization: str | None) -> Any:
        self._request_id += 1
        body = json.dumps(
            {"id": self._request_id, "method": method, "params": params},
            default=encode_value,
        )
        headers = {"Authorization": authorization} if authorization else {}
        try:
            response = self.http.post(
                self.settings.endpoint,
                data=body.encode("utf-8"),
                headers=headers,
                timeout=self.settings.timeout,
            )
        except requests.Timeout as exc:
            raise _Transient(f"no answer within {self.settings.timeout:.0f}s") from exc
        except requests.ConnectionError as exc:
            raise _Transient(f"cannot connect ({_root_cause(exc)})") from exc
        if response.status_code == 401:
            raise _SessionRejected
        if response.status_code in _RETRY_STATUS:
            raise _Transient(f"HTTP {response.status_code} {response.reason}")
        if response.status_code == 404:
            raise TapTrytonConfigurationError(
                f"Tryton at {self.settings.url} has no database '{self.settings.database}' "
                f"(HTTP 404 for {self.settings.endpoint})",
                hint="check the database setting; the server must serve it (trytond -d)",
            )
        if response.status_code == 403:
            raise TapTrytonConfigurationError(
                f"Tryton at {self.settings.endpoint} forbids {method} for user "
                f"'{self.settings.username}' (HTTP 403)",
                hint="check the user's access rights and the password",
            )
        if response.status_code != 200:
            raise TapTrytonFatalError(
                f"Tryton at {self.settings.endpoint} answered {method} with HTTP "
                f"{response.status_code} {response.reason}: {response.text[:200]}"
            )
        try:
            payload = json.loads(response.content, object_hook=decode_object)
        except ValueError as exc:
            raise TapTrytonFatalError(
                f"{self.settings.endpoint} answered {method} with something that is not "
                f"JSON ({response.text[:120]!r}): is the url a Tryton server?"
            ) from exc
        if not isinstance(payload, dict):
            raise TapTrytonFatalError(f"unexpected JSON-RPC answer to {method}: {payload!r}")
        error = payload.get("error")
        if error:
            _raise_tryton_error(method, error)
        return payload.get("result")


class _Transient(Exception):
    """A failure worth retrying: network error, timeout, 5xx, locked database."""


def _root_cause(exc: BaseException) -> str:
    while exc.__context__ is not None and exc.__context__ is not exc:
        exc = exc.__context__
    return f"{type(exc).__name__}: {exc}"[:200]


def _raise_tryton_error(method: str, error: Any) -> None:
    """Turn Tryton's ``error`` member into the right tap error."""
    kind = error[0] if isinstance(error, list) and error else str(error)
    detail = error[1] if isinstance(error, list) and len(error) > 1 else ""
    if isinstance(detail, list):
        detail = " ".join(str(part) for part in detail if part)
    text = f"{kind}: {detail}" if detail else str(kind)
    if any(marker in text for marker in _TRANSIENT_MARKERS):
        raise _Transient(text[:200])
    if kind == "AccessError":
        raise TapTrytonConfigurationError(
            f"Tryton refused {method}: {detail}",
            hint="give the tap's user read access to the model, or deselect the stream",
        )
    # Generic server faults carry a traceback as the second member: keep only the first line.
    first_line = text.strip().splitlines()[0] if text.strip() else repr(error)
    raise TapTrytonFatalError(f"Tryton answered {method} with an error: {first_line[:500]}")
