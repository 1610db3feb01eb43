"""Comparison levels as a table of {left, right, expected level} cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from crmhub_dedupe.comparison import ColumnCache, compare
from crmhub_dedupe.settings import MatchSettings

from .frames import make_frame

SETTINGS = MatchSettings.default()

CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    # (comparison, left record, right record, expected level name)
    ("given", {"given": "johannes"}, {"given": "johannes"}, "exact"),
    ("given", {"given": "johannes"}, {"given": "johanes"}, "jaro_winkler_0.92"),
    ("given", {"given": "martha"}, {"given": "marhta"}, "jaro_winkler_0.92"),
    ("given", {"given": "dwayne"}, {"given": "duane"}, "jaro_winkler_0.8"),
    ("given", {"given": "jan", "family": "berg"}, {"given": "berg", "family": "jan"}, "swapped"),
    ("given", {"given": "j", "given_raw": "J."}, {"given": "jan", "given_raw": "Jan"}, "initial"),
    ("given", {"given": "jan"}, {"given": "piet"}, "else"),
    ("given", {"given": None}, {"given": "piet"}, "null"),
    (
        "family",
        {"family": "mueller", "family_alt": "muller"},
        {"family": "muller", "family_alt": "muller"},
        "exact_alt",
    ),
    ("family", {"family": "sharma"}, {"family": "sharma"}, "exact"),
    ("family", {"family": "sharma"}, {"family": "sarma"}, "jaro_winkler_0.92"),
    ("family", {"family": "sharma"}, {"family": "patel"}, "else"),
    ("birth_date", {"birth_date": "1980-04-12"}, {"birth_date": "1980-04-12"}, "exact"),
    (
        "birth_date",
        {"birth_date": "1980-04-12"},
        {"birth_date": "1980-04-13"},
        "damerau_levenshtein_1",
    ),
    (
        "birth_date",
        {"birth_date": "1980-04-12"},
        {"birth_date": "1908-04-12"},
        "damerau_levenshtein_1",
    ),
    ("birth_date", {"birth_date": "1980-04-12"}, {"birth_date": "1980-12-04"}, "date_transposed"),
    (
        "birth_date",
        {"birth_date": "1980-04-12"},
        {"birth_date": "1980-09-30"},
        "date_within_days_365",
    ),
    ("birth_date", {"birth_date": "1980-04-12"}, {"birth_date": "1975-01-01"}, "else"),
    ("birth_date", {"birth_date": None}, {"birth_date": "1975-01-01"}, "null"),
    (
        "email",
        {"emails": ("a@x.nl", "b@y.nl")},
        {"emails": ("c@z.nl", "b@y.nl")},
        "array_intersect_1",
    ),
    ("email", {"emails": ("anna@x.nl",)}, {"emails": ("ana@x.nl",)}, "levenshtein_1_email"),
    ("email", {"emails": ("anna@x.nl",)}, {"emails": ("piet@y.nl",)}, "else"),
    ("email", {"emails": ()}, {"emails": ("piet@y.nl",)}, "null"),
    (
        "phone",
        {"phones": ("+31201234567", "+31612345678")},
        {"phones": ("+31612345678",)},
        "array_intersect_1",
    ),
    ("phone", {"phones": ("+31201234567",)}, {"phones": ("+31201234568",)}, "else"),
    (
        "tax_id",
        {"tax_ids": ("NL123456789B01",)},
        {"tax_ids": ("NL123456789B01",)},
        "array_intersect_1",
    ),
    (
        "street",
        {"street": "hoofdstraat", "house_number": "12"},
        {"street": "hoofdstraat", "house_number": "12"},
        "exact_number",
    ),
    (
        "street",
        {"street": "hoofdstraat", "house_number": "12"},
        {"street": "hoofdstraat", "house_number": "14"},
        "exact",
    ),
    ("street", {"street": "hoofdstraat"}, {"street": "hoofdstrat"}, "jaro_winkler_0.9"),
    ("postcode", {"postcode": "1012AB"}, {"postcode": "1012AB"}, "exact"),
    ("postcode", {"postcode": "1012AB"}, {"postcode": "1012AC"}, "damerau_levenshtein_1"),
    ("postcode", {"postcode": "1012AB"}, {"postcode": "1021AB"}, "damerau_levenshtein_1"),
    (
        "street",
        {"street": "hoofdstraat", "house_number": "12"},
        {"street": "hoofdstrat", "house_number": "12"},
        "jaro_winkler_0.9_number",
    ),
    (
        "street",
        {"street": "hoofdstraat", "house_number": "12"},
        {"street": "kerkweg", "house_number": "12"},
        "number_only",
    ),
    ("postcode", {"postcode": "1012AB"}, {"postcode": "3511XY"}, "else"),
    ("city", {"city": "amsterdam"}, {"city": "amsterdm"}, "jaro_winkler_0.9"),
    ("org", {"org": "acme trading"}, {"org": "acme trading"}, "exact"),
    ("org", {"org": "acme trading"}, {"org": "acme tradng"}, "jaro_winkler_0.92"),
    ("org", {"org": "trading acme international"}, {"org": "acme trading"}, "token_set_0.9"),
    ("org", {"org": "acme trading"}, {"org": "globex"}, "else"),
]


@pytest.mark.parametrize(("comparison", "left", "right", "expected"), CASES)
def test_level_table(
    comparison: str, left: dict[str, Any], right: dict[str, Any], expected: str
) -> None:
    frame = make_frame([left, right])
    cache = ColumnCache(frame)
    gamma = compare(cache, SETTINGS, np.array([0]), np.array([1]))
    k = [c.name for c in SETTINGS.comparisons].index(comparison)
    comp = SETTINGS.comparisons[k]
    got = comp.levels[int(gamma[0, k])].name
    assert got == expected, f"{comparison}: {left} vs {right} -> {got}, expected {expected}"
    # symmetric: right vs left gives the same level
    back = compare(cache, SETTINGS, np.array([1]), np.array([0]))
    assert comp.levels[int(back[0, k])].name == expected


def test_compare_is_vectorized_over_many_pairs() -> None:
    rng = np.random.default_rng(7)
    names = ["anna", "anne", "jan", "johan", "piet", "pieter", None]
    frame = make_frame([{"given": rng.choice(names)} for _ in range(300)])
    cache = ColumnCache(frame)
    left = rng.integers(0, 300, 5000)
    right = rng.integers(0, 300, 5000)
    gamma = compare(cache, SETTINGS, left, right)
    assert gamma.dtype == np.int8 and gamma.shape == (5000, len(SETTINGS.comparisons))
    # pair by pair must agree with the vectorized result
    k = 0
    for p in range(0, 5000, 97):
        one = compare(cache, SETTINGS, left[p : p + 1], right[p : p + 1])
        assert one[0, k] == gamma[p, k]
