"""Phones (E.164) and emails: case tables, the fast paths agree with the libraries, garbage."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub_dedupe.normalize import normalize_email, normalize_phone
from crmhub_dedupe.normalize.emails import _plain_ok, normalize_emails
from crmhub_dedupe.normalize.phones import _fast, _slow, normalize_phones

PHONE_CASES = [
    ("020 - 123 4567", "NL", "+31201234567"),
    ("06-12345678", "NL", "+31612345678"),
    ("+31 6 1234 5678", None, "+31612345678"),
    ("0031612345678", "NL", "+31612345678"),
    ("+31 (0)20 123 4567", "NL", "+31201234567"),
    ("030 1234567", "DE", "+49301234567"),
    ("+49 (0)30 1234567", "DE", "+49301234567"),
    ("0151 23456789", "DE", "+4915123456789"),
    ("07911 123456", "GB", "+447911123456"),
    ("+44 20 7946 0958", "GB", "+442079460958"),
    ("98765 43210", "IN", "+919876543210"),
    ("098765-43210", "IN", "+919876543210"),
    ("+91 98765 43210", "NL", "+919876543210"),  # explicit country code beats the region
    ("(0406)-812415", "NL", "+31406812415"),
    ("06 1234", "NL", None),  # too short
    ("12345", None, None),  # no region, no country code
    ("n/a", "NL", None),
    ("", "NL", None),
    (None, "NL", None),
    ("call me maybe", "NL", None),
    ("0" * 80, "NL", None),
]


@pytest.mark.parametrize(("raw", "region", "expected"), PHONE_CASES)
def test_normalize_phone(raw: str | None, region: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.fixture(scope="session")
def generated_phones() -> list[tuple[str, str]]:
    """Numbers in every format Faker writes, for the four languages and some neighbours."""
    out: list[tuple[str, str]] = []
    for locale, region in (
        ("nl_NL", "NL"), ("de_DE", "DE"), ("en_GB", "GB"), ("en_IN", "IN"),
        ("en_US", "US"), ("fr_FR", "FR"), ("nl_BE", "BE"), ("de_AT", "AT"), ("it_IT", "IT"),
    ):  # fmt: skip
        fake = Faker(locale)
        fake.seed_instance(20261125)
        out += [(fake.phone_number(), region) for _ in range(400)]
    rnd = random.Random(7)
    for region, code in (("NL", "31"), ("DE", "49"), ("GB", "44"), ("IN", "91")):
        for _ in range(300):  # random digit strings: mostly invalid, some valid
            digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(6, 13)))
            out.append((digits, region))
            out.append(("+" + code + digits, region))
    return out


def test_phone_fast_path_agrees_with_phonenumbers(generated_phones: list[tuple[str, str]]) -> None:
    decided = 0
    for raw, region in generated_phones:
        fast = _fast(raw, region)
        if fast is not None:
            decided += 1
            assert fast == _slow(raw, region), (raw, region)
    assert decided > len(generated_phones) // 3, "the fast path should decide most numbers"


def test_phone_fast_path_agrees_on_every_region_of_shared_country_codes() -> None:
    # +1, +7, +44, +262 ... are shared by several regions: the fast path must accept a
    # number valid in any of them (the library's example numbers of every type), written
    # internationally and nationally, and reject the same digits one too short or too long
    cases: list[tuple[str, str]] = []
    for code in (1, 7, 31, 44, 49, 61, 91, 262, 590):
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
            for number_type in range(12):
                example = phonenumbers.example_number_for_type(region, number_type)
                if example is None:
                    continue
                e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                national = phonenumbers.format_number(
                    example, phonenumbers.PhoneNumberFormat.NATIONAL
                )
                cases += [(e164, region), (national, region), (e164 + "7", region)]
                cases.append((e164[:-1], region))
    decided = 0
    for raw, region in cases:
        fast = _fast(raw, region)
        if fast is not None:
            decided += 1
            assert fast == _slow(raw, region), (raw, region)
    assert decided > len(cases) // 3


def test_slow_path_is_phonenumbers() -> None:
    number = phonenumbers.parse("+44 20 7946 0958 ext. 12", "GB")
    assert _slow("+44 20 7946 0958 ext. 12", "GB") == phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.sampled_from([None, "NL", "DE", "GB", "IN", "XX", "nl"]))
def test_phone_garbage_never_raises(raw: str, region: str | None) -> None:
    result = normalize_phone(raw, region)
    assert result is None or (result.startswith("+") and result[1:].isdigit())


EMAIL_CASES = [
    ("Jan.Jansen@Example.COM", "jan.jansen@example.com"),
    (" Jan Jansen <Jan.Jansen@Example.COM> ", "jan.jansen@example.com"),
    ("mailto:info@acme.nl?subject=hi", "info@acme.nl"),
    ("info@acme.nl;", "info@acme.nl"),
    ("jürgen@müller.de", "jürgen@müller.de"),
    ("a@xn--bcher-kva.de", "a@bücher.de"),
    ("first+tag@gmail.com", "first+tag@gmail.com"),
    ("a..b@c.de", None),
    ("a@b.test", None),  # special-use domain
    ("a@localhost", None),
    ("@x.nl", None),
    ("a b@c.de", None),
    ("keine@", None),
    ("x@@example.com", None),
    ("n/a", None),
    ("", None),
    (None, None),
    (12, None),
]


@pytest.mark.parametrize(("raw", "expected"), EMAIL_CASES)
def test_normalize_email(raw: object, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def _validator_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@pytest.fixture(scope="session")
def generated_emails() -> list[str]:
    out: list[str] = []
    for locale in ("nl_NL", "de_DE", "en_IN", "en_GB"):
        fake = Faker(locale)
        fake.seed_instance(11)
        out += [fake.email().lower() for _ in range(300)]
    return out


def test_email_fast_path_accepts_only_what_email_validator_accepts(
    generated_emails: list[str],
) -> None:
    accepted = [e for e in generated_emails if _plain_ok(e)]
    assert len(accepted) == len(generated_emails)
    assert all(_validator_accepts(e) for e in accepted)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab.-_+@x1'\"()[] ", min_size=1, max_size=20))
def test_email_fast_path_is_never_looser(address: str) -> None:
    if _plain_ok(address):
        assert _validator_accepts(address), address


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_email_garbage_never_raises(raw: str) -> None:
    result = normalize_email(raw)
    assert result is None or "@" in result


def test_batch_phone_normalizer_equals_the_scalar_one(
    generated_phones: list[tuple[str, str]],
) -> None:
    raws: list[object] = [raw for raw, _ in generated_phones] + [None, 12345, "", "+31 6 1234 5678"]
    regions: list[str | None] = [region for _, region in generated_phones] + [
        "NL", "NL", "NL", None
    ]  # fmt: skip
    assert normalize_phones(raws, regions) == [
        normalize_phone(raw, region) for raw, region in zip(raws, regions, strict=True)
    ]


def test_batch_email_normalizer_equals_the_scalar_one(generated_emails: list[str]) -> None:
    raws: list[object] = [*generated_emails, *(case for case, _ in EMAIL_CASES)]
    raws += [e.upper() for e in generated_emails[:50]]
    assert normalize_emails(raws) == [normalize_email(raw) for raw in raws]
