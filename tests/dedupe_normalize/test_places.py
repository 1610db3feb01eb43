"""Streets, house numbers, postal codes and country names."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub_dedupe.normalize import (
    country_to_iso,
    expand_street,
    normalize_house_number,
    normalize_postcode,
    postcode_check,
    split_house_number,
)
from crmhub_dedupe.normalize.countries import country_index
from crmhub_dedupe.normalize.postcodes import postcode_checks

STREET_CASES = [
    ("Kalverstr.", "NL", "kalverstraat"),
    ("Kalverstraat", "NL", "kalverstraat"),
    ("Hauptstr.", "DE", "hauptstrasse"),
    ("Hauptstraße", "DE", "hauptstrasse"),
    ("Berliner Str.", "DE", "berliner strasse"),
    ("Marktpl.", "DE", "marktplatz"),
    ("Main Rd", "GB", "main road"),
    ("Baker St", "GB", "baker street"),
    ("St John's Road", "GB", "st johns road"),  # "St" at the start is Saint
    ("MG Rd", "IN", "mg road"),
    ("Baker St", None, "baker street"),  # same in every language that knows it
    ("Hauptstr.", None, "hauptstr"),  # straat/strasse/street: ambiguous without a country
    ("", "NL", None),
]


@pytest.mark.parametrize(("street", "country", "expected"), STREET_CASES)
def test_expand_street(street: str, country: str | None, expected: str | None) -> None:
    assert expand_street(street, country) == expected


HOUSE_NUMBER_CASES = [
    ("Hoofdstraat 12 a", ("Hoofdstraat", "12a")),
    ("Oudegracht 123bis", ("Oudegracht", "123bis")),
    ("Keizersgracht 12 hs", ("Keizersgracht", "12hs")),
    ("Kalverstraat 1-III", ("Kalverstraat", "1-iii")),
    ("Hauptstraße 5-7", ("Hauptstraße", "5-7")),
    ("12 Main Road", ("Main Road", "12")),
    ("221B Baker Street", ("Baker Street", "221b")),
    ("Straat", ("Straat", None)),
]


@pytest.mark.parametrize(("street", "expected"), HOUSE_NUMBER_CASES)
def test_split_house_number(street: str, expected: tuple[str, str | None]) -> None:
    assert split_house_number(street) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12 A", "12a"), ("12 - 14", "12-14"), (12.0, "12"), ("3/5", "3/5"), ("", None)],
)
def test_normalize_house_number(raw: object, expected: str | None) -> None:
    assert normalize_house_number(raw) == expected


POSTCODE_CASES = [
    ("1234 ab", "NL", "1234AB", True),
    ("NL-1234AB", "NL", "1234AB", True),
    ("1234 SA", "NL", "1234SA", False),  # SA, SD, SS are not used in NL
    ("1234", "NL", "1234", False),
    ("10115", "DE", "10115", True),
    ("D-10115", "DE", "10115", True),
    ("1067", "DE", "01067", True),  # leading zero lost in a spreadsheet
    ("sw1a 1aa", "GB", "SW1A1AA", True),
    ("GIR 0AA", "GB", "GIR0AA", True),
    ("110 001", "IN", "110001", True),
    ("abc", "IN", "ABC", False),
    ("12345", "XX", "12345", True),  # unknown country: any 2-10 letters/digits
    ("n/a", "NL", None, True),
]


@pytest.mark.parametrize(("raw", "country", "expected", "fits"), POSTCODE_CASES)
def test_postcodes(raw: str, country: str, expected: str | None, fits: bool) -> None:
    assert normalize_postcode(raw, country) == expected
    assert postcode_check(raw, country) == (expected, fits)


def test_postcode_from_a_float_cell() -> None:
    assert normalize_postcode(1067.0, "DE") == "01067"


COUNTRY_CASES = [
    ("Nederland", "NL"), ("Netherlands", "NL"), ("Niederlande", "NL"), ("नीदरलैंड", "NL"),
    ("The Netherlands", "NL"), ("Holland", "NL"), ("NL", "NL"), ("nld", "NL"),
    ("Deutschland", "DE"), ("Germany", "DE"), ("Duitsland", "DE"), ("जर्मनी", "DE"), ("BRD", "DE"),
    ("India", "IN"), ("Indien", "IN"), ("भारत", "IN"), ("Bharat", "IN"), ("IND", "IN"),
    ("United Kingdom", "GB"), ("Verenigd Koninkrijk", "GB"), ("Vereinigtes Königreich", "GB"),
    ("यूनाइटेड किंगडम", "GB"), ("UK", "GB"), ("England", "GB"),
    ("België", "BE"), ("Österreich", "AT"), ("USA", "US"),
    ("Atlantis", None), ("", None), (None, None), (42, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "expected"), COUNTRY_CASES)
def test_country_to_iso(name: object, expected: str | None) -> None:
    assert country_to_iso(name) == expected


def test_country_table_covers_every_region_in_four_languages() -> None:
    index = country_index()
    assert len(set(index.values())) >= 240
    assert all(len(code) == 2 and code.isupper() for code in index.values())


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30), st.sampled_from([None, "NL", "DE", "GB", "IN", "ZZ"]))
def test_address_garbage_never_raises(text: str, country: str | None) -> None:
    expand_street(text, country)
    split_house_number(text)
    normalize_postcode(text, country)
    country_to_iso(text)


@pytest.mark.parametrize(("raw", "country", "expected", "fits"), POSTCODE_CASES)
def test_postcode_checks_of_a_batch_agree_with_one_by_one(
    raw: str, country: str, expected: str | None, fits: bool
) -> None:
    assert postcode_checks([raw, None, 1067.0], [country, country, "DE"]) == [
        (expected, fits),
        None,
        ("01067", True),
    ]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            # the shapes the batch compacts itself: ASCII letters, digits and spaces
            st.text(alphabet="0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                    max_size=12),
        ),
        max_size=20,
    ),
    st.sampled_from([None, "NL", "DE", "GB", "IN", "US", "ZZ"]),
)  # fmt: skip
def test_postcode_checks_agree_with_postcode_check(texts: list[str], country: str | None) -> None:
    assert postcode_checks(texts, [country] * len(texts)) == [
        postcode_check(text, country) for text in texts
    ]
