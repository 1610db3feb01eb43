"""Logging set-up: personal data (emails, phones) and secrets never reach a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

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


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (already masked), extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line; ``run_id``/``step`` extras are kept when present."""
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run_id", "step"):
            value = getattr(record, key, None)
            if value is not None:
                data[key] = value
        if record.exc_info:
            data["exception"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for ``--log-format`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


@contextmanager
def run_log_file(
    path: Path, masking: MaskingFilter | None = None, *, log_format: str = "text"
) -> Iterator[Path]:
    """Also write INFO and above to ``path`` (masked) while the block runs: the run's log."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(masking if masking is not None else MaskingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(min(old_level, logging.INFO) if old_level else logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def configure(
    verbosity: int, *, secrets: Iterable[str] = (), log_format: str = "text"
) -> MaskingFilter:
    """Log to stderr: warnings by default, info with -v, debug with -vv (text or JSON lines)."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    # The handler's own level keeps stderr quiet while a run log file asks for INFO.
    handler.setLevel(level)
    handler.setFormatter(formatter(log_format))
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
