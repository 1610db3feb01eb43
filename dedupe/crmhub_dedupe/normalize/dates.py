"""Birth dates and timestamps.

Birth dates come as ISO strings, day-first strings (NL/DE/IN/GB write the day first:
"31-12-1980", "31.12.1980", "31/12/1980"), compact "19801231", or date/datetime objects.
A date must be real and between 1880-01-01 and today; anything else is invalid.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

_ISO_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_DAY_FIRST_RE = re.compile(r"(\d{1,2})[-./ ](\d{1,2})[-./ ](\d{4})")
_YEAR_FIRST_RE = re.compile(r"(\d{4})[./](\d{1,2})[./](\d{1,2})")
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EARLIEST = dt.date(1880, 1, 1)


def _checked(year: int, month: int, day: int) -> str | None:
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return None
    if value < _EARLIEST or value > dt.date.today():
        return None
    return value.isoformat()


@functools.lru_cache(maxsize=65536)
def _parse_text(text: str) -> str | None:
    text = text.strip()
    for pattern, order in (
        (_ISO_RE, (0, 1, 2)),
        (_DAY_FIRST_RE, (2, 1, 0)),
        (_YEAR_FIRST_RE, (0, 1, 2)),
        (_COMPACT_RE, (0, 1, 2)),
    ):
        match = pattern.fullmatch(text)
        if match:
            parts = match.groups()
            return _checked(int(parts[order[0]]), int(parts[order[1]]), int(parts[order[2]]))
    return None


def normalize_birth_date(raw: object) -> str | None:
    """``YYYY-MM-DD`` of a birth date, or None when empty or invalid. Never raises.

    >>> normalize_birth_date("31.12.1980")
    '1980-12-31'
    """
    if isinstance(raw, dt.datetime):
        return _checked(raw.year, raw.month, raw.day)
    if isinstance(raw, dt.date):
        return _checked(raw.year, raw.month, raw.day)
    if isinstance(raw, str) and raw.strip():
        return _parse_text(raw)
    return None


@functools.lru_cache(maxsize=65536)
def is_iso_timestamp(text: str) -> bool:
    """True when ``text`` parses as an ISO-8601 date or timestamp."""
    try:
        dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def iso_timestamps_valid(texts: list[str]) -> list[bool]:
    """:func:`is_iso_timestamp` over a list, without the cache (timestamps rarely repeat)."""
    parse = dt.datetime.fromisoformat
    out: list[bool] = []
    for text in texts:
        try:
            parse(text.strip().replace("Z", "+00:00"))
        except (ValueError, AttributeError):
            out.append(False)
        else:
            out.append(True)
    return out
