"""Person names: parsing tables for Dutch, German, Indian and English names; nicknames."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub_dedupe.normalize import canonical_given, parse_person_name
from crmhub_dedupe.normalize._reference import read_table
from crmhub_dedupe.normalize.names import family_variant_table
from crmhub_dedupe.normalize.nicknames import nickname_table
from crmhub_dedupe.normalize.text import fold

# full name -> (given_raw, particle, family, prefix, suffix)
FULL_NAME_CASES = [
    ("Dr. Jan Willem van der Berg", ("jan willem", "van der", "berg", "dr", None)),
    ("Ludwig van Beethoven", ("ludwig", "van", "beethoven", None, None)),
    ("Berg, Jan van den", ("jan", "van den", "berg", None, None)),
    ("Mevr. A.M. de Vries-Jansen", ("a m", "de", "vries jansen", "mevr", None)),
    ("J.W. v.d. Berg", ("j w", "van der", "berg", None, None)),
    ("Dhr. Pieter de Jong", ("pieter", "de", "jong", "dhr", None)),
    ("Herr Prof. Dr. Hans-Jürgen Müller", ("hans jurgen", None, "muller", "herr prof dr", None)),
    ("Ursula von der Leyen", ("ursula", "von der", "leyen", None, None)),
    ("Frau Anna Schmidt", ("anna", None, "schmidt", "frau", None)),
    ("Shri Rahul Kumar Sharma", ("rahul kumar", None, "sharma", "shri", None)),
    ("Smt. Sunita Devi", ("sunita", None, "devi", "smt", None)),
    ("राहुल शर्मा", ("rahul", None, "sharma", None, None)),
    ("Sharma, Rahul", ("rahul", None, "sharma", None, None)),
    ("Bob Smith Jr.", ("bob", None, "smith", None, "jr")),
    ("John O'Brien PhD", ("john", None, "obrien", None, "phd")),
    ("Mr Rahul De", ("rahul", None, "de", "mr", None)),  # "De" is the family name here
    ("Jansen", (None, None, "jansen", None, None)),  # one word: the family name
]


@pytest.mark.parametrize(("full_name", "expected"), FULL_NAME_CASES)
def test_parse_full_name(full_name: str, expected: tuple[str | None, ...]) -> None:
    name = parse_person_name(full_name)
    assert (name.given_raw, name.particle, name.family, name.prefix, name.suffix) == expected


STRUCTURED_CASES = [
    # (given, family, particle) -> (given, given_raw, particle, family, family_alt, initials)
    (("Jan", "van den Berg", None), ("johannes", "jan", "van den", "berg", "berg", "j")),
    (("Jan", "Berg", "van den"), ("johannes", "jan", "van den", "berg", "berg", "j")),
    (("Jan", "Berg, van den", None), ("johannes", "jan", "van den", "berg", "berg", "j")),
    (("Wim", "de Vries", None), ("willem", "wim", "de", "vries", "vries", "w")),
    (("Fritz", "Müßig", None), ("friedrich", "fritz", None, "mussig", "muessig", "f")),
    (
        ("Jan-Willem", "Bakker", None),
        ("johannes willem", "jan willem", None, "bakker", "bakker", "jw"),
    ),
    (("Bob", "Smith", None), ("robert", "bob", None, "smith", "smith", "b")),
    (("Dr. Hans", "Schulz", None), ("johannes", "hans", None, "schulz", "schulz", "h")),
    (("राहुल", "शर्मा", None), ("rahul", "rahul", None, "sharma", "sharma", "r")),
    (("Mohd.", "Khan", None), ("muhammad", "mohd", None, "khan", "khan", "m")),
]


@pytest.mark.parametrize(("parts", "expected"), STRUCTURED_CASES)
def test_parse_structured_name(
    parts: tuple[str, str, str | None], expected: tuple[str | None, ...]
) -> None:
    given, family, particle = parts
    name = parse_person_name(given=given, family=family, particle=particle)
    got = (name.given, name.given_raw, name.particle, name.family, name.family_alt, name.initials)
    assert got == expected


def test_full_name_fills_what_structured_parts_lack() -> None:
    name = parse_person_name("Fritz Müller", given="Fritz")
    assert (name.given, name.family, name.family_alt) == ("friedrich", "muller", "mueller")
    assert name.full_name == "fritz muller"


def test_phonetic_keys_use_metaphone_of_canonical_given_and_family() -> None:
    name = parse_person_name(given="Deepak", family="Sharma")
    other = parse_person_name(given="Dipak", family="Sharmaa")
    assert name.given_phonetic == other.given_phonetic
    assert name.family_phonetic == "xrm"


NICKNAME_CASES = [
    ("jan", "johannes"),
    ("wim", "willem"),
    ("bob", "robert"),
    ("fritz", "friedrich"),
    ("bill", "william"),
    ("kees", "cornelis"),
    ("sepp", "josef"),
    ("liz", "elisabeth"),
    ("laxmi", "lakshmi"),
    ("dipak", "deepak"),  # Devanagari दीपक transliterates to "dipak"
    ("jan willem", "johannes willem"),
    ("unknownname", "unknownname"),
]


@pytest.mark.parametrize(("given", "expected"), NICKNAME_CASES)
def test_nicknames(given: str, expected: str) -> None:
    assert canonical_given(given) == expected


def test_nickname_table_has_no_chains() -> None:
    table = nickname_table()
    chained = {variant: canonical for variant, canonical in table.items() if canonical in table}
    assert chained == {}, "a canonical name must not itself be a variant"
    languages = {row["language"] for row in read_table("nicknames.csv")}
    assert languages == {"nl", "de", "en", "hi"}


def test_reference_rows_are_folded_already() -> None:
    for table, column in (("nicknames.csv", "variant"), ("particles.csv", "canonical")):
        for row in read_table(table):
            assert fold(row[column]) == row[column].replace("'", ""), row


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=20), st.text(max_size=20))
def test_garbage_names_never_raise(full: str, given: str, family: str) -> None:
    name = parse_person_name(full, given=given, family=family)
    for value in (name.given, name.family, name.full_name, name.family_alt):
        assert value is None or value.isascii()


@pytest.mark.parametrize(
    ("devanagari", "latin"),
    [("कपूर", "Kapoor"), ("तिवारी", "Tiwari"), ("अग्रवाल", "Agarwal"), ("श्रीवास्तव", "Srivastava"),
     ("पांडे", "Pandey"), ("सक्सेना", "Saxena"), ("मुखर्जी", "Mukherjee"), ("वर्मा", "Verma")],
)  # fmt: skip
def test_family_spelling_variants_meet(devanagari: str, latin: str) -> None:
    assert parse_person_name(family=devanagari).family == parse_person_name(family=latin).family


def test_family_variant_table_has_no_chains() -> None:
    table = family_variant_table()
    assert table and not {v: c for v, c in table.items() if c in table}
