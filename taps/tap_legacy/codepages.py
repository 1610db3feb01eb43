"""Single-byte code pages for mainframe and PC data.

cp037, cp500 and cp273 ship with Python; cp1141 (cp273 with the euro sign) comes from the
``ebcdic`` package, which registers extra codecs on import. Only single-byte code pages are
accepted: fixed-width layouts count bytes, so one byte must be one character.
"""

from __future__ import annotations

import codecs

import ebcdic  # noqa: F401  # registers cp1141 and other EBCDIC codecs

from tap_legacy.errors import LegacyConfigError

EBCDIC_CODEPAGES = ("cp037", "cp500", "cp273", "cp1141")
ASCII_CODEPAGES = ("ascii", "latin-1", "cp1252", "cp850", "cp437", "iso8859-15")
ALIASES = {"ebcdic": "cp037", "latin1": "latin-1", "iso-8859-1": "latin-1"}


def normalize_codepage(name: str) -> str:
    """Return the codec name for ``name`` or raise a config error listing what is supported."""
    key = ALIASES.get(name.lower(), name.lower())
    try:
        info = codecs.lookup(key)
    except LookupError as exc:
        raise LegacyConfigError(
            f"unknown code page {name!r}",
            hint=f"use one of {', '.join(EBCDIC_CODEPAGES + ASCII_CODEPAGES)}",
        ) from exc
    if len("Aä0 ".encode(info.name, errors="replace")) != 4:
        raise LegacyConfigError(
            f"code page {name!r} is not a single-byte code page",
            hint="fixed-width data needs one byte per character",
        )
    return key


def is_ebcdic(codepage: str) -> bool:
    """True when the digit zero is 0xF0 in this code page (EBCDIC family)."""
    return "0".encode(codepage) == b"\xf0"
