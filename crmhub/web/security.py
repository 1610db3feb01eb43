"""Sessions in signed HttpOnly cookies, CSRF tokens, and login rate limiting."""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "crmhub_session"
SESSION_SECONDS = 12 * 3600


def load_secret(state_dir: Path) -> str:
    """$CRMHUB_SECRET_KEY, or a random key kept (mode 0600) in the project's .crmhub folder."""
    env = os.environ.get("CRMHUB_SECRET_KEY")
    if env:
        return env
    path = state_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class SessionData:
    """What the cookie holds: who, which password epoch, and the CSRF token."""

    username: str
    epoch: int
    csrf: str


class Sessions:
    """Signs and reads session cookies."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="crmhub-session")

    def dump(self, username: str, epoch: int) -> tuple[str, SessionData]:
        """A new cookie value and its data (a fresh CSRF token per login)."""
        data = SessionData(username, epoch, secrets.token_urlsafe(24))
        value = self._serializer.dumps({"u": username, "e": epoch, "c": data.csrf})
        return value, data

    def load(self, value: str | None) -> SessionData | None:
        """The session, or None when missing, forged or expired."""
        if not value:
            return None
        try:
            raw: Any = self._serializer.loads(value, max_age=SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(raw, dict):
            return None
        return SessionData(str(raw.get("u")), int(raw.get("e", -1)), str(raw.get("c")))


def csrf_ok(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's token with the one a form sent."""
    return bool(given) and hmac.compare_digest(expected, given or "")


class LoginLimiter:
    """At most ``attempts`` failed logins per client and user name per ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = time.monotonic()
        failures = self._failures[key]
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str, username: str) -> float:
        """Seconds to wait before the next attempt (0 when allowed)."""
        failures = self._recent((client, username.lower()))
        if len(failures) < self.attempts:
            return 0.0
        return max(0.0, self.window - (time.monotonic() - failures[0]))

    def failed(self, client: str, username: str) -> None:
        """Count a failed attempt."""
        self._recent((client, username.lower())).append(time.monotonic())

    def succeeded(self, client: str, username: str) -> None:
        """Forget the failures after a good login."""
        self._failures.pop((client, username.lower()), None)
