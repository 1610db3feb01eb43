"""Turning the bytes of a text file into text, without losing a byte.

Detection order: a byte-order mark (UTF-8, UTF-16, UTF-32); UTF-16 without BOM (many NUL
bytes); strict UTF-8; else charset-normalizer restricted to the Western code pages such files
come in (unrestricted it mistakes cp1252 for cp1250). Bytes that do not decode in the chosen
encoding become lone surrogates (``surrogateescape``) so that the rows holding them can be
flagged and their bytes shown as ``\\xNN`` instead of being dropped.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

# Code pages a Western European / English spreadsheet export is written in.
WESTERN_CODE_PAGES = ["cp1252", "latin_1", "iso8859_15", "cp850"]
# Bytes that cp1252 leaves undefined: their presence means latin-1 rather than cp1252.
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_SURROGATE = re.compile("[\udc80-\udcff]")
_DETECT_SAMPLE = 256 * 1024


@dataclass(frozen=True)
class DecodedText:
    """Text of a file, how it was decoded, and whether some bytes did not decode."""

    text: str
    encoding: str
    detected: bool
    has_undecodable: bool


def _bom_encoding(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _looks_like_bomless_utf16(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> str:
    """The most likely encoding of ``data`` among UTF-8/16/32 and Western code pages."""
    bom = _bom_encoding(data)
    if bom:
        return bom
    sample = data[:_DETECT_SAMPLE]
    utf16 = _looks_like_bomless_utf16(sample)
    if utf16:
        return utf16
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    # Only the non-ASCII part tells code pages apart; give charset-normalizer the lines
    # that hold such bytes so a large ASCII head does not drown them.
    high_lines = [line for line in data.splitlines() if any(b > 0x7F for b in line)]
    probe = b"\n".join(high_lines[:2000]) or sample
    best = from_bytes(probe, cp_isolation=WESTERN_CODE_PAGES).best()
    encoding = best.encoding if best is not None else "cp1252"
    if encoding in ("latin_1", "iso8859_15", "cp850") and not (_CP1252_UNDEFINED & set(probe)):
        # The three agree on letters; cp1252 adds the typographic characters (€ ’ “ ”)
        # that Windows exports are full of, so it is the better reading when it can decode.
        encoding = "cp1252"
    if encoding == "cp1252" and _CP1252_UNDEFINED & set(probe):
        encoding = "latin_1"
    return encoding


def decode_bytes(data: bytes, encoding: str | None) -> DecodedText:
    """Decode ``data`` with the declared ``encoding``, or a detected one when None."""
    detected = encoding is None
    if encoding is None and _bom_encoding(data) is None:
        # The common case, decoded once: a file that is valid UTF-8 is UTF-8.
        try:
            return DecodedText(
                text=data.decode("utf-8"), encoding="utf-8", detected=True, has_undecodable=False
            )
        except UnicodeDecodeError:
            pass
    chosen = detect_encoding(data) if encoding is None else encoding
    try:
        text = data.decode(chosen)
        has_undecodable = False
    except UnicodeDecodeError:
        text = data.decode(chosen, errors="surrogateescape")
        has_undecodable = True
    return DecodedText(
        text=text, encoding=chosen, detected=detected, has_undecodable=has_undecodable
    )


def has_undecodable(value: str) -> bool:
    """True when ``value`` holds bytes that did not decode."""
    return _SURROGATE.search(value) is not None


def escape_undecodable(value: str) -> str:
    """Show undecodable bytes as ``\\xNN`` so the value is kept and visibly marked."""
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
