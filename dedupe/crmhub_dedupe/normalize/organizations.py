"""Organization names: the legal form is stripped from the key and classified.

"Acme Holding B.V." -> ("acme holding", "BV"); "Müller GmbH & Co. KG" -> ("muller", "GMBH_CO_KG");
"Tata Consultancy Services Pvt. Ltd." -> ("tata consultancy services", "PVT_LTD").
The variants live in ``reference/legal_forms.csv``; the longest variant wins, and only one
legal form is stripped (at the end, or at the start for forms allowed there: "Stichting X").
Dots are removed before matching ("B.V." -> "bv"), "&" is dropped ("GmbH & Co" -> "gmbh co").
"""

from __future__ import annotations

import functools
import re
import unicodedata

from crmhub_dedupe.normalize._reference import ReferenceDataError, read_table
from crmhub_dedupe.normalize.text import fold

_DOTS_RE = re.compile(r"(?<=\w)\.(?=\w\.)|(?<=\b\w)\.(?=\w\b)")
_NON_WORD_AMP_RE = re.compile(r"[&+]")


@functools.cache
def _legal_forms() -> tuple[dict[tuple[str, ...], str], dict[tuple[str, ...], str], int]:
    suffixes: dict[tuple[str, ...], str] = {}
    prefixes: dict[tuple[str, ...], str] = {}
    for row in read_table("legal_forms.csv"):
        key = _org_fold(row["variant"])
        if not key:
            raise ReferenceDataError(f"legal_forms.csv: empty variant in {row}")
        tokens = tuple(key.split())
        if row["position"] in ("suffix", "both"):
            suffixes[tokens] = row["code"]
        if row["position"] in ("prefix", "both"):
            prefixes[tokens] = row["code"]
    longest = max(len(tokens) for tokens in (*suffixes, *prefixes))
    return suffixes, prefixes, longest


@functools.cache
def _edge_words() -> tuple[frozenset[str], frozenset[str]]:
    """(last words of the suffix forms, first words of the prefix forms)."""
    suffixes, prefixes, _ = _legal_forms()
    return frozenset(t[-1] for t in suffixes), frozenset(t[0] for t in prefixes)


# "B.V." and "e.K." must become one token: dots between single letters go first.
_LETTER_DOTS_RE = re.compile(r"(?<![^\W\d_])((?:[^\W\d_]\.){1,4}[^\W\d_])\.?(?![^\W\d_])")


def _undotted(match: re.Match[str]) -> str:
    return match.group(1).replace(".", "")


@functools.lru_cache(maxsize=262144)
def _org_fold(text: str) -> str | None:
    text = unicodedata.normalize("NFKC", text)
    if "." in text:  # the pattern needs a dot: most names have none
        text = _LETTER_DOTS_RE.sub(_undotted, text)
    text = _NON_WORD_AMP_RE.sub(" ", text)
    return fold(text.replace(".", " "))


@functools.lru_cache(maxsize=262144)
def strip_legal_form(name: str, legal_form: str | None = None) -> tuple[str | None, str | None]:
    """(organization key without legal form, legal form class code or None).

    ``legal_form`` is the source's separate legal-form field when it has one; it is
    classified the same way and wins over a form found in the name. The key never becomes
    empty: "B.V." alone keeps "bv" as its key.

    >>> strip_legal_form("Müller GmbH & Co. KG")
    ('muller', 'GMBH_CO_KG')
    """
    key = _org_fold(name) if isinstance(name, str) else None
    code: str | None = None
    if legal_form:
        separate = _org_fold(legal_form)
        if separate:
            code = _classify(tuple(separate.split()))
    if not key:
        return None, code
    tokens = key.split()
    code = code or _classify(tuple(tokens))
    suffixes, prefixes, longest = _legal_forms()
    last_words, first_words = _edge_words()
    # most names end in no legal-form word: one set look-up instead of a slice per length
    if tokens[-1] in last_words:
        for length in range(min(longest, len(tokens) - 1), 0, -1):
            found = suffixes.get(tuple(tokens[-length:]))
            if found:
                return " ".join(tokens[:-length]), code or found
    if tokens[0] in first_words:
        for length in range(min(longest, len(tokens) - 1), 0, -1):
            found = prefixes.get(tuple(tokens[:length]))
            if found:
                return " ".join(tokens[length:]), code or found
    return key, code


def _classify(tokens: tuple[str, ...]) -> str | None:
    suffixes, prefixes, _ = _legal_forms()
    return suffixes.get(tokens) or prefixes.get(tokens)
