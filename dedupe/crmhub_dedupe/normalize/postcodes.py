"""Postal codes per country: compact upper-case form, checked against the country's format.

NL "1234 ab" -> "1234AB", DE "1067" -> "01067" (leading zero lost in a spreadsheet),
GB "sw1a 1aa" -> "SW1A1AA", IN "110 001" -> "110001". Formats: ``reference/postcodes.csv``.
A code that does not fit its country's format is still returned in compact form (matching can
use it) and reported invalid; countries without a known format accept any 2-10 letters/digits.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from crmhub_dedupe.normalize._reference import null_tokens, read_table
from crmhub_dedupe.normalize.text import fold

_SEPARATORS_RE = re.compile(r"[\s\-.]+")
_COUNTRY_PREFIX_RE = re.compile(r"^[A-Z]{1,3}\s*-\s*(?=\d)")
_GENERIC_RE = re.compile(r"[A-Z0-9]{2,10}")
_ASCII_DIGIT_RE = re.compile(r"[0-9]")


@functools.cache
def _formats() -> dict[str, tuple[re.Pattern[str] | None, int]]:
    table: dict[str, tuple[re.Pattern[str] | None, int]] = {}
    for row in read_table("postcodes.csv"):
        pattern = re.compile(row["pattern"]) if row["pattern"] else None
        table[row["iso2"]] = (pattern, int(row["pad"] or 0))
    return table


@functools.cache
def _digit_means_a_value() -> bool:
    """True when no null token has a digit: then text with an ASCII digit always folds to a key."""
    return not any(_ASCII_DIGIT_RE.search(token) for token in null_tokens())


@functools.lru_cache(maxsize=262144)
def postcode_check(raw: str, country: str | None) -> tuple[str | None, bool]:
    """(compact postal code or None when empty, whether it fits the country's format)."""
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    if not text:
        return None, True
    # empty, punctuation only, or "n/a"-like (folding is the costly part: skipped for the
    # usual code with a digit, which folding keeps and no null token has)
    if not (_ASCII_DIGIT_RE.search(text) and _digit_means_a_value()) and fold(text) is None:
        return None, True
    # a country prefix written before the code: "NL-1234 AB", "D-10115", "CH-8001"
    text = _COUNTRY_PREFIX_RE.sub("", text)
    compact = _SEPARATORS_RE.sub("", text)
    if not compact:
        return None, True
    pattern, pad = _formats().get(country or "", (None, 0))
    if pad and compact.isdigit() and len(compact) < pad:
        compact = compact.zfill(pad)
    if pattern is None:
        return compact, _GENERIC_RE.fullmatch(compact) is not None
    return compact, pattern.fullmatch(compact) is not None


def postcode_checks(
    raws: Sequence[object], countries: Sequence[str | None]
) -> list[tuple[str | None, bool] | None]:
    """:func:`postcode_check` over aligned lists (None where ``raw`` is None).

    The frame builder calls this once per batch with the distinct (code, country) pairs:
    nearly one per record, so the usual code, ASCII letters and digits with at most spaces
    between them ("1234 AB", "SW1A 1AA", "10115"), is compacted right here. For such text
    every step of :func:`postcode_check` reduces to removing the spaces and upper-casing
    (NFKC changes nothing, no country prefix without a "-", a digit means a value); anything
    else goes to :func:`postcode_check` itself.
    """
    out: list[tuple[str | None, bool] | None] = []
    append = out.append
    formats = _formats()
    generic = _GENERIC_RE.fullmatch
    digit_is_value = _digit_means_a_value()
    str_type = str
    for raw, country in zip(raws, countries, strict=True):
        if raw is None:
            append(None)
            continue
        if type(raw) is not str_type:
            append(postcode_check(_text(raw), country))
            continue
        compact = raw.replace(" ", "")
        # isalnum() alone would accept other scripts' letters and digits; not isalpha(): a digit
        if not (compact.isascii() and compact.isalnum() and digit_is_value) or compact.isalpha():
            append(postcode_check(raw, country))
            continue
        compact = compact.upper()
        pattern, pad = formats.get(country or "", (None, 0))
        if pad and len(compact) < pad and compact.isdigit():
            compact = compact.zfill(pad)
        if pattern is None:
            append((compact, generic(compact) is not None))
        else:
            append((compact, pattern.fullmatch(compact) is not None))
    return out


def _text(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # 1067.0 from a spreadsheet
    return str(raw)


def normalize_postcode(raw: object, country: str | None = None) -> str | None:
    """Compact postal code of ``raw`` for ``country`` (ISO alpha-2), None when empty.

    Invalid codes come back compacted as well; use :func:`postcode_check` to know validity.

    >>> normalize_postcode("1234 ab", "NL")
    '1234AB'
    """
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    return postcode_check(_text(raw), country.upper() if country else None)[0]
