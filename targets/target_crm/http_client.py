"""HTTP with the fault handling every CRM profile needs.

- 429: wait for ``Retry-After`` (seconds or an HTTP date) when given, else back off.
- 5xx, connection errors and timeouts: exponential backoff with full jitter, a bounded number
  of attempts (``max_retries``), then ``BatchError`` for the records in that request.
- 401/403 (and the vendors' expired-session bodies): ``AuthenticationError``; the run stops.
- An HTML (or other non-JSON) answer where JSON is expected: ``ProtocolError`` with the
  status and the start of the body, so the user sees a wrong base URL or a proxy page.
- A client-side sliding-window limiter keeps the run under the CRM's request quota.
"""

from __future__ import annotations

import collections
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from target_crm.errors import (
    AuthenticationError,
    BatchError,
    ProtocolError,
    QuotaExceededError,
    RetriableError,
)

_RETRY_STATUSES = frozenset({500, 502, 503, 504, 408})


class SlidingWindowLimiter:
    """At most ``max_requests`` in any ``window`` seconds.

    A request's slot is stamped when its response arrives: the server saw it earlier than
    that, so the server's own window can never count more than we allow.
    """

    def __init__(self, max_requests: int, window: float) -> None:
        self.max_requests = max_requests
        self.window = window
        self._stamps: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._cond = threading.Condition()

    def acquire(self) -> None:
        """Block until one more request fits in the window."""
        with self._cond:
            while True:
                now = time.monotonic()
                while self._stamps and self._stamps[0] <= now - self.window:
                    self._stamps.popleft()
                if len(self._stamps) + self._in_flight < self.max_requests:
                    self._in_flight += 1
                    return
                wait = self._stamps[0] + self.window - now + 0.001 if self._stamps else 0.01
                self._cond.wait(timeout=max(wait, 0.001))

    def release(self) -> None:
        """Stamp the finished request."""
        with self._cond:
            self._in_flight -= 1
            self._stamps.append(time.monotonic())
            self._cond.notify_all()


@dataclass
class RetryPolicy:
    """How often and how long to retry transient failures."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt`` (1-based retry number)."""
        if retry_after is not None:
            # honour the server, plus a little jitter so parallel workers do not stampede
            return retry_after + random.uniform(0, 0.1)  # noqa: S311
        cap = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return random.uniform(cap / 2, cap)  # noqa: S311


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: an integer or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def is_json(response: requests.Response) -> bool:
    """Whether the response declares (or looks like) JSON."""
    ctype = response.headers.get("Content-Type", "")
    if "json" in ctype:
        return True
    head = response.content[:1].strip()
    return bool(head) and head in (b"{", b"[") and "html" not in ctype


class CRMHttp:
    """A requests session with auth, retries, rate limiting and clear errors."""

    def __init__(
        self,
        crm: str,
        base_url: str,
        policy: RetryPolicy,
        logger: logging.Logger,
        limiter: SlidingWindowLimiter | None = None,
        auth_header: Callable[[], dict[str, str]] | None = None,
        is_auth_failure: Callable[[requests.Response], bool] | None = None,
        quota_message: Callable[[requests.Response], str | None] | None = None,
    ) -> None:
        self.crm = crm
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.logger = logger
        self.limiter = limiter
        self.auth_header = auth_header or (lambda: {})
        self.is_auth_failure = is_auth_failure
        self.quota_message = quota_message
        # one session per thread: profiles may send independent batches in parallel
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self.requests_sent = 0
        self.retries = 0

    @property
    def session(self) -> requests.Session:
        """This thread's HTTP session."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            self._sessions.append(session)
        return session

    def url(self, path: str) -> str:
        """Absolute URL of an API path."""
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> requests.Response:
        """Send a request with retries; return the response (any non-retried status).

        Raises AuthenticationError on 401/403, BatchError once retries are used up.
        """
        attempt = 0
        last = ""
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                hdrs = {**self.auth_header(), **(headers or {})}
                self.requests_sent += 1
                resp = self.session.request(
                    method,
                    self.url(path),
                    json=json_body,
                    data=data,
                    headers=hdrs,
                    params=params,
                    timeout=self.policy.timeout,
                )
                error = self._check(resp, ok)
            except (requests.Timeout, requests.ConnectionError) as exc:
                error = RetriableError(f"{type(exc).__name__}: no answer from {self.crm}")
            finally:
                if self.limiter is not None:
                    self.limiter.release()
            if error is None:
                return resp
            attempt += 1
            last = str(error)
            if attempt > self.policy.max_retries:
                raise BatchError(
                    f"{self.crm} {method} {path}: gave up after {attempt} attempts; last: {last}"
                )
            self.retries += 1
            wait = self.policy.delay(attempt, error.retry_after)
            self.logger.warning(
                "%s: %s; retry %d/%d in %.2fs",
                self.crm,
                last,
                attempt,
                self.policy.max_retries,
                wait,
            )
            time.sleep(wait)

    def _check(self, resp: requests.Response, ok: tuple[int, ...]) -> RetriableError | None:
        if resp.status_code in ok:
            return None
        if resp.status_code == 429:
            return RetriableError(
                f"429 throttled by {self.crm}", parse_retry_after(resp.headers.get("Retry-After"))
            )
        if resp.status_code in _RETRY_STATUSES:
            return RetriableError(f"{resp.status_code} from {self.crm}: {snippet(resp)}")
        quota = self.quota_message(resp) if self.quota_message is not None else None
        if quota:
            raise QuotaExceededError(quota)
        if resp.status_code in (401, 403) or (
            self.is_auth_failure is not None and self.is_auth_failure(resp)
        ):
            raise AuthenticationError(
                f"{self.crm} rejected the credentials ({resp.status_code}: {snippet(resp)}); "
                "renew the access token (config) and re-run; nothing more was sent"
            )
        return None

    def json(self, resp: requests.Response) -> Any:
        """Decode a JSON answer or raise ProtocolError naming what came instead."""
        if not is_json(resp):
            raise ProtocolError(
                f"{self.crm} answered {resp.status_code} with "
                f"{resp.headers.get('Content-Type') or 'no content type'} instead of JSON "
                f"({snippet(resp)!r}); check base_url / instance_url and any proxy in between"
            )
        try:
            return resp.json()
        except ValueError as exc:
            raise ProtocolError(
                f"{self.crm} answered {resp.status_code} with invalid JSON: {snippet(resp)!r}"
            ) from exc

    def close(self) -> None:
        """Close every thread's session."""
        for session in self._sessions:
            session.close()
        self._sessions.clear()


def snippet(resp: requests.Response, size: int = 200) -> str:
    """The start of a response body, one line."""
    text = resp.text[:size] if resp.content else ""
    return " ".join(text.split())
