"""Tax ids: case table, and the fast checks agree with python-stdnum."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.de import vat as de_vat
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin, pan
from stdnum.iso7064 import mod_11_10
from stdnum.nl import btw

from crmhub_dedupe.normalize import TaxId, normalize_tax_id
from crmhub_dedupe.normalize import _taxid_checks as fast

TAX_CASES = [
    ("NL 0001.23.456.B01", None, TaxId("NL000123456B01", "VAT")),
    ("000123456B01", "NL", TaxId("NL000123456B01", "VAT")),
    ("DE 136695976", None, TaxId("DE136695976", "VAT")),
    ("136695976", "DE", TaxId("DE136695976", "VAT")),
    ("GB 980 7806 84", None, TaxId("GB980780684", "VAT")),
    ("EL094259216", None, TaxId("EL094259216", "VAT")),
    ("27AAPFU0939F1ZV", None, TaxId("27AAPFU0939F1ZV", "GSTIN")),
    ("aapfu0939f", None, TaxId("AAPFU0939F", "PAN")),
    ("DE136695977", None, None),  # wrong check digit
    ("NL000000000B00", None, None),
    ("GSTIN?", None, None),
    ("garbage", None, None),
    ("0", None, None),
    ("", None, None),
    (None, None, None),
]


@pytest.mark.parametrize(("raw", "country", "expected"), TAX_CASES)
def test_normalize_tax_id(raw: str | None, country: str | None, expected: TaxId | None) -> None:
    assert normalize_tax_id(raw, country) == expected


def _digits(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice("0123456789") for _ in range(n))


def test_fast_checks_agree_with_stdnum() -> None:
    rnd = random.Random(2026)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(3000):
        body = _digits(rnd, 8)
        de = "DE" + str(rnd.randint(1, 9)) + body[:7] + mod_11_10.calc_check_digit(body[:7])
        for number in (de, "DE" + _digits(rnd, 9)):
            if number[2] != "0":
                assert fast.de_vat(number) == de_vat.is_valid(number), number
        nl = "NL" + _digits(rnd, 9) + "B" + _digits(rnd, 2)
        assert fast.nl_vat(nl) == btw.is_valid(nl), nl
        gb = "GB" + _digits(rnd, rnd.choice((9, 12)))
        assert fast.gb_vat(gb) == gb_vat.is_valid(gb), gb
        p = "".join(rnd.choice(letters) for _ in range(5)) + _digits(rnd, 4) + rnd.choice(letters)
        assert fast.pan(p) == pan.is_valid(p), p
        state = f"{rnd.randint(1, 38):02d}"
        body = state + p + rnd.choice("123456789AB") + "Z"
        g = body + luhn.calc_check_digit(body, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for number in (g, g[:-1] + rnd.choice(letters)):
            assert fast.gstin(number) == gstin.is_valid(number), number


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.sampled_from([None, "NL", "DE", "GB", "IN"]))
def test_tax_id_garbage_never_raises(raw: str, country: str | None) -> None:
    result = normalize_tax_id(raw, country)
    assert result is None or result.value.isalnum()
