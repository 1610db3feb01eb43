"""Organization names: legal forms stripped from the key and classified."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmhub_dedupe.normalize import strip_legal_form

LEGAL_FORM_CASES = [
    ("Acme Holding B.V.", ("acme holding", "BV")),
    ("ACME BV", ("acme", "BV")),
    ("Acme b.v.", ("acme", "BV")),
    ("Philips N.V.", ("philips", "NV")),
    ("Jansen V.O.F.", ("jansen", "VOF")),
    ("Stichting Het Gilde", ("het gilde", "STICHTING")),
    ("Müller GmbH & Co. KG", ("muller", "GMBH_CO_KG")),
    ("X GmbH u. Co. KG", ("x", "GMBH_CO_KG")),
    ("Bäckerei Schmidt GmbH", ("backerei schmidt", "GMBH")),
    ("Siemens AG", ("siemens", "AG")),
    ("Schmidt e.K.", ("schmidt", "EK")),
    ("Tata Consultancy Services Pvt. Ltd.", ("tata consultancy services", "PVT_LTD")),
    ("Reliance Industries (P) Ltd", ("reliance industries", "PVT_LTD")),
    ("Alpha Private Limited", ("alpha", "PVT_LTD")),
    ("Infosys Limited", ("infosys", "LTD")),
    ("Foo Ltd.", ("foo", "LTD")),
    ("Deloitte LLP", ("deloitte", "LLP")),
    ("Tesco PLC", ("tesco", "PLC")),
    ("Apple Inc.", ("apple", "INC")),
    ("Johnson & Johnson", ("johnson johnson", None)),
    ("B.V.", ("bv", "BV")),  # the key never becomes empty
]


@pytest.mark.parametrize(("name", "expected"), LEGAL_FORM_CASES)
def test_strip_legal_form(name: str, expected: tuple[str, str | None]) -> None:
    assert strip_legal_form(name) == expected


def test_separate_legal_form_field_wins() -> None:
    assert strip_legal_form("Acme", "B.V.") == ("acme", "BV")
    assert strip_legal_form("Acme Ltd", "Pvt. Ltd.") == ("acme", "PVT_LTD")


def test_variants_of_one_company_share_key_and_class() -> None:
    variants = ["Jansen B.V.", "Jansen BV", "JANSEN b.v.", "Jansen Besloten Vennootschap"]
    assert {strip_legal_form(v) for v in variants} == {("jansen", "BV")}


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=50), st.one_of(st.none(), st.text(max_size=10)))
def test_garbage_never_raises(name: str, legal_form: str | None) -> None:
    key, _ = strip_legal_form(name, legal_form)
    assert key is None or key.isascii()
