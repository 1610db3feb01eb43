"""Users of the steward app: argon2-hashed passwords, three roles."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from crmhub.errors import DecisionError
from crmhub.store.models import AppUser, AuditEvent
from crmhub.store.types import utcnow

ROLES = ("viewer", "steward", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
_hasher = PasswordHasher()
# Verifying against this keeps a failed login for an unknown user as slow as for a known one.
_DUMMY = _hasher.hash("crmhub-timing-equalizer")


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise DecisionError("a password needs at least 10 characters")


def add_user(session: Session, username: str, password: str, role: str, *, actor: str) -> AppUser:
    """Create a user."""
    if role not in ROLES:
        raise DecisionError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if (
        not username
        or len(username) > 100
        or not username.replace(".", "").replace("-", "").replace("_", "").isalnum()
    ):
        raise DecisionError("a username has letters, digits, '.', '-' and '_' only")
    if session.scalar(select(AppUser).where(AppUser.username == username)):
        raise DecisionError(f"user {username!r} exists already", hint="use `crmhub users passwd`")
    _check_password(password)
    user = AppUser(username=username, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.add(
        AuditEvent(actor=actor, action="user_add", after={"username": username, "role": role})
    )
    return user


def get_user(session: Session, username: str) -> AppUser:
    """A user by name, or a DecisionError."""
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise DecisionError(f"there is no user {username!r}", hint="see `crmhub users list`")
    return user


def set_password(session: Session, username: str, password: str, *, actor: str) -> None:
    """Change a password; the user's open sessions end."""
    _check_password(password)
    user = get_user(session, username)
    user.password_hash = _hasher.hash(password)
    user.session_epoch += 1
    session.add(AuditEvent(actor=actor, action="user_passwd", after={"username": username}))


def set_disabled(session: Session, username: str, disabled: bool, *, actor: str) -> None:
    """Disable (or enable) a user; a disabled user's sessions end."""
    user = get_user(session, username)
    user.disabled = disabled
    user.session_epoch += 1
    action = "user_disable" if disabled else "user_enable"
    session.add(AuditEvent(actor=actor, action=action, after={"username": username}))


def authenticate(session: Session, username: str, password: str) -> AppUser | None:
    """The user when the password is right and the user enabled; else None."""
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user
