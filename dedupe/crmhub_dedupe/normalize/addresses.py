"""Street names and house numbers.

``expand_street`` folds a street and writes abbreviations out in the language of the
address country ("Kalverstr." -> "kalverstraat" in NL, "Hauptstr." -> "hauptstrasse" in DE,
"Main Rd" -> "main road" in GB/IN). Abbreviations: ``reference/street_abbreviations.csv``;
which language applies to a country: ``reference/country_languages.csv``. With no known
country, only abbreviations that mean the same in every language are expanded.

``split_house_number`` takes a house number out of the street line when the source has no
separate field ("Hoofdstraat 12 a" -> ("Hoofdstraat", "12a"), "12 Main Road" -> ("Main Road", "12")).
"""

from __future__ import annotations

import functools
import re

from crmhub_dedupe.normalize._reference import country_languages, read_table
from crmhub_dedupe.normalize.text import fold

_TRAILING_NUMBER_RE = re.compile(
    r"^(?P<street>.*?[^\d\s,])[\s,]+(?:nr\.?\s*|no\.?\s*|#\s*)?"
    r"(?P<number>\d+(?:\s*[-/]\s*\d+)?(?:\s*[a-z]{1,2}\b)?(?:\s*-?\s*(?:bis|hs|huis|i{1,3}|iv))?)\s*$",
    re.IGNORECASE,
)
_LEADING_NUMBER_RE = re.compile(r"^(?P<number>\d+\s*[a-zA-Z]?)[\s,]+(?P<street>\D.*)$")
_HOUSE_NUMBER_SPACES_RE = re.compile(r"\s+")


@functools.cache
def _abbreviations() -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """language -> (whole-word abbreviations, abbreviations allowed glued to a word end)."""
    out: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for row in read_table("street_abbreviations.csv"):
        words, glued = out.setdefault(row["language"], ({}, {}))
        abbreviation, full = fold(row["abbreviation"]), fold(row["full"])
        if not abbreviation or not full:
            continue
        words[abbreviation] = full
        if row["attach"] == "yes" and abbreviation != full:
            glued[abbreviation] = full
    return out


@functools.cache
def _shared_abbreviations() -> tuple[dict[str, str], dict[str, str]]:
    """Abbreviations that expand the same in every language that knows them."""
    tables = list(_abbreviations().values())
    words: dict[str, str] = {}
    conflicts: set[str] = set()
    for table_words, _ in tables:
        for key, full in table_words.items():
            if words.setdefault(key, full) != full:
                conflicts.add(key)
    return {k: v for k, v in words.items() if k not in conflicts}, {}


@functools.lru_cache(maxsize=262144)
def expand_street(street: str, country: str | None = None) -> str | None:
    """Folded street name with abbreviations written out; None when empty.

    >>> expand_street("Kalverstr.", "NL")
    'kalverstraat'
    """
    key = fold(street) if isinstance(street, str) else None
    if key is None:
        return None
    language = country_languages().get(country.upper()) if country else None
    words, glued = _abbreviations().get(language, ({}, {})) if language else _shared_abbreviations()
    tokens = key.split()
    # English street types only at the end ("st" is "saint" at the start: "St John's Road")
    last = tokens[-1]
    if (last in words and len(tokens) > 1) or (language in ("nl", "de") and last in words):
        tokens[-1] = words[last]
    else:
        for abbreviation, full in glued.items():
            if last.endswith(abbreviation) and len(last) > len(abbreviation) + 2:
                tokens[-1] = last[: -len(abbreviation)] + full
                break
    return " ".join(tokens)


def normalize_house_number(raw: object) -> str | None:
    """Folded house number without spaces: "12 A" -> "12a", "12 - 14" -> "12-14"."""
    if raw is None or (isinstance(raw, float) and raw != raw):
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw).strip().lower()
    if not text:
        return None
    text = _HOUSE_NUMBER_SPACES_RE.sub("", text)
    key = fold(text.replace("-", "\x00").replace("/", "\x01"))
    if key is None:
        return None
    # fold turned the kept separators into spaces; put them back
    return _restore_separators(text, key)


def _restore_separators(text: str, key: str) -> str:
    if "-" not in text and "/" not in text:
        return key.replace(" ", "")
    out = []
    for ch in text:
        if ch.isalnum():
            folded = fold(ch)
            out.append(folded or "")
        elif ch in "-/":
            out.append(ch)
    return "".join(out)


@functools.lru_cache(maxsize=262144)
def split_house_number(street: str) -> tuple[str, str | None]:
    """(street without house number, house number or None) from a one-line street."""
    text = street.strip()
    match = _TRAILING_NUMBER_RE.match(text)
    if match:
        return match.group("street").strip(" ,"), normalize_house_number(match.group("number"))
    match = _LEADING_NUMBER_RE.match(text)
    if match:
        return match.group("street").strip(" ,"), normalize_house_number(match.group("number"))
    return text, None
