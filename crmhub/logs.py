"""Logging set-up: personal data (emails, phones) and secrets never reach a log line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![\w.])(\+?\d[\d ()./-]{6,}\d)(?![\w.])")


def mask_personal_data(text: str, secrets: Iterable[str] = ()) -> str:
    """``jan.jansen@example.nl`` -> ``j***@example.nl``; phones keep their last two digits."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)

    def phone(m: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", m.group(1))
        if len(digits) < 8:
            return m.group(0)
        return "+" * m.group(1).startswith("+") + "*" * (len(digits) - 2) + digits[-2:]

    return _PHONE.sub(phone, text)


class MaskingFilter(logging.Filter):
    """Masks personal data and known secrets in every record's final message."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = set(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the message in place; never drops a record."""
        message = record.getMessage()
        record.msg = mask_personal_data(message, self.secrets)
        record.args = None
        return True


def configure(verbosity: int, *, secrets: Iterable[str] = ()) -> MaskingFilter:
    """Log to stderr: warnings by default, info with -v, debug with -vv."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    masking = MaskingFilter(secrets)
    handler.addFilter(masking)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_crmhub", False):
            root.removeHandler(old)
    handler._crmhub = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return masking
