"""Simulator plumbing: a threaded HTTP server on a free loopback port, fault injection,
a sliding-window rate limit and a request log. Each vendor simulator subclasses ``Simulator``.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """One injected misbehaviour, used ``times`` times for requests whose path contains
    ``path`` (any path when empty)."""

    kind: str  # status | throttle | timeout | html | auth
    times: int = 1
    status: int = 503
    retry_after: float | None = 1.0
    delay: float = 2.0
    path: str = ""


@dataclass
class Reply:
    """What a handler answers."""

    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    raw: bytes | None = None
    content_type: str = "application/json"


class Simulator:
    """Base of the vendor simulators. Start with ``start()``, stop with ``stop()``."""

    name = "simulator"

    def __init__(self, rate_limit: int | None = None, rate_window: float = 10.0) -> None:
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.lock = threading.RLock()
        self.faults: list[Fault] = []
        self.log: list[tuple[float, str, str]] = []
        self.throttled = 0
        self._window: deque[float] = deque()
        self.valid_tokens = {"good-token"}
        self.server: ThreadingHTTPServer | None = None

    # -- test controls --------------------------------------------------------------------

    def inject(self, kind: str, **kw: Any) -> None:
        """Make the next matching request(s) misbehave."""
        with self.lock:
            self.faults.append(Fault(kind=kind, **kw))

    def writes(self) -> list[tuple[float, str, str]]:
        """Logged requests that change data (anything but GET and read endpoints)."""
        return [e for e in self.log if e[1] != "GET" and not self.is_read(e[1], e[2])]

    def is_read(self, method: str, path: str) -> bool:
        """Whether a non-GET request only reads (vendor specific)."""
        return False

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Simulator:
        """Serve on 127.0.0.1 on a free port, in a daemon thread."""
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = sim.dispatch(self.command, self.path, dict(self.headers), body)
                if reply is None:
                    return
                raw = reply.raw
                if raw is None:
                    raw = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                if raw:
                    self.send_header("Content-Type", reply.content_type)
                for k, v in (reply.headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- request pipeline -----------------------------------------------------------------

    def dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Reply | None:
        """Faults, auth, rate limit, then the vendor handler."""
        parts = urlsplit(path)
        if parts.path == "/__simulator/stats":
            # for a simulator running in another process (benchmarks): what it saw
            with self.lock:
                return Reply(
                    200,
                    {"log": self.log, "throttled": self.throttled, "writes": len(self.writes())},
                )
        with self.lock:
            self.log.append((time.monotonic(), method, parts.path))
            fault = next((f for f in self.faults if f.path in parts.path), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
        if fault is not None:
            if fault.kind == "timeout":
                time.sleep(fault.delay)
            elif fault.kind == "status":
                return Reply(fault.status, {"message": f"simulated {fault.status}"})
            elif fault.kind == "html":
                page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
                return Reply(
                    fault.status if fault.status != 503 else 200, raw=page, content_type="text/html"
                )
            elif fault.kind == "throttle":
                hdrs = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                return self.throttle_reply(hdrs)
            elif fault.kind == "auth":
                return self.auth_reply()
        if not self.authorized(headers, parts.path):
            return self.auth_reply()
        if self.rate_limit is not None and not self.is_auth_path(parts.path):
            with self.lock:
                now = time.monotonic()
                while self._window and self._window[0] <= now - self.rate_window:
                    self._window.popleft()
                if len(self._window) >= self.rate_limit:
                    self.throttled += 1
                    wait = self._window[0] + self.rate_window - now
                    return self.throttle_reply({"Retry-After": str(max(1, round(wait)))})
                self._window.append(now)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return self.handle(method, parts.path, query, headers, body)

    def is_auth_path(self, path: str) -> bool:
        """Paths outside auth and rate limits (token endpoints)."""
        return False

    def authorized(self, headers: dict[str, str], path: str) -> bool:
        """Bearer token check (vendors override when different)."""
        if self.is_auth_path(path):
            return True
        auth = headers.get("Authorization", "")
        return auth.startswith("Bearer ") and auth[7:] in self.valid_tokens

    def auth_reply(self) -> Reply:
        """The vendor's 401 shape."""
        return Reply(401, {"message": "Authentication failed"})

    def throttle_reply(self, headers: dict[str, str]) -> Reply:
        """The vendor's 429 shape."""
        return Reply(429, {"message": "Too many requests"}, headers=headers)

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: bytes,
    ) -> Reply:
        """Vendor endpoints."""
        raise NotImplementedError
