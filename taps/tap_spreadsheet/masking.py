"""Masking personal data before it reaches a log line: emails and phone numbers."""

from __future__ import annotations

import re
from typing import Any

_EMAIL = re.compile(r"([^@\s]{1,64})@([^@\s]+)")
_PHONE_CHARS = re.compile(r"[\d\s()+\-./]{7,}")


def mask_value(value: Any) -> str:
    """``repr``-like text of a key value with emails and phone numbers masked.

    "jan.devries@example.nl" -> "j***@example.nl"; "+31 6 12345678" -> "***78".
    """
    if isinstance(value, tuple):
        return "(" + ", ".join(mask_value(v) for v in value) + ")"
    text = str(value)
    if "@" in text:
        return _EMAIL.sub(lambda m: f"{m.group(1)[0]}***@{m.group(2)}", text)
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 7 and _PHONE_CHARS.fullmatch(text):
        return f"***{text[-2:]}"
    return repr(value)
