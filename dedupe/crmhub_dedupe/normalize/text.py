"""Text folding: the Unicode, case, accent and punctuation rules every matching key shares.

``fold`` gives the ASCII key (``"Müller-Lüdenscheidt"`` -> ``"muller ludenscheidt"``);
``german_fold`` the alternative key with German rules (``ü`` -> ``ue``, ``ß`` -> ``ss``), so
"Müller" meets both "Muller" and "Mueller". Both are cached per distinct value.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TypeVar

from unidecode import unidecode

from crmhub_dedupe.normalize._reference import null_tokens
from crmhub_dedupe.normalize.transliterate import transliterate

# Apostrophes vanish inside words (O'Brien -> obrien, D'Souza -> dsouza); every other
# non-alphanumeric character separates words.
_APOSTROPHES_RE = re.compile(r"['`´’‘ʼ]")
_SEPARATORS_RE = re.compile(r"[^a-z0-9]+")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                         "ß": "ss", "ẞ": "SS"})  # fmt: skip

T = TypeVar("T")


def _to_ascii(text: str) -> str:
    """NFKC, transliterate, drop accents, then unidecode what is left (ø, ł, æ, ...)."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    text = transliterate(text)
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    if not text.isascii():
        text = unidecode(text)
    return text


def _squash(text: str) -> str:
    text = _APOSTROPHES_RE.sub("", text.lower())
    return _SEPARATORS_RE.sub(" ", text).strip()


@functools.lru_cache(maxsize=262144)
def _fold_cached(text: str) -> str | None:
    if not text.isascii():
        text = _APOSTROPHES_RE.sub("", text)  # before unidecode turns ’ into '
        text = _to_ascii(text)
    key = _squash(text)
    if not key or key in null_tokens():
        return None
    return key


def fold(value: object) -> str | None:
    """The folded ASCII key of ``value``, or None when it is empty or a null token.

    NFKC, Indic scripts transliterated (:func:`transliterate`), other scripts by unidecode,
    lower case, accents removed (ü -> u, ß -> ss), apostrophes removed, every other run of
    punctuation or white space -> one space. ``"n/a"``, ``"onbekend"`` ... -> None.

    >>> fold("  Jöhn  O'Brien-Smith ")
    'john obrien smith'
    """
    if isinstance(value, str):
        return _fold_cached(value)
    return _fold_cached(_scalar_text(value)) if value is not None else None


def _scalar_text(value: object) -> str:
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))  # 1234.0 from a spreadsheet is "1234"
    return str(value)


@functools.lru_cache(maxsize=262144)
def _german_fold_cached(text: str) -> str | None:
    if text.isascii():
        return _fold_cached(text)
    return _fold_cached(unicodedata.normalize("NFKC", text).translate(_GERMAN))


def german_fold(value: object) -> str | None:
    """Like :func:`fold`, but with German transcription first: ä/ö/ü -> ae/oe/ue, ß -> ss.

    >>> german_fold("Müßig")
    'muessig'
    """
    if isinstance(value, str):
        return _german_fold_cached(value)
    return _german_fold_cached(_scalar_text(value)) if value is not None else None
