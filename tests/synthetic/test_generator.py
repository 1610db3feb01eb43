"""The synthetic customer generator: determinism, shape, and the traps it is meant to set."""

from __future__ import annotations

import re
from collections import Counter

import phonenumbers
import pytest

from crmhub.synthetic import (
    LOCALES,
    generate,
    generate_records,
    pairwise_score,
    split_sources,
    true_pairs,
)

CANONICAL_FIELDS = {
    "kind", "given_name", "family_name", "name_particle", "name_prefix", "name_suffix",
    "full_name", "organization_name", "legal_form", "emails", "phones", "addresses",
    "birth_date", "tax_ids", "website", "language", "consent_email", "consent_phone",
    "segment", "tags", "created_at", "updated_at", "extras", "record_id", "source",
}  # fmt: skip
ADDRESS_FIELDS = {"street", "house_number", "postal_code", "city", "region", "country", "type"}
DEVANAGARI = re.compile("[\u0900-\u097f]")


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return generate(4000, seed=11)


def test_same_seed_same_records_other_seed_other_records() -> None:
    a = generate(300, seed=3)
    b = generate(300, seed=3)
    c = generate(300, seed=4)
    assert a.records == b.records
    assert a.truth == b.truth
    assert a.records != c.records


def test_records_follow_the_canonical_model(data) -> None:  # type: ignore[no-untyped-def]
    assert data.n_entities == 4000
    assert set(data.truth) == {r["record_id"] for r in data.records}
    assert len({r["record_id"] for r in data.records}) == len(data.records)
    for record in data.records:
        assert set(record) <= CANONICAL_FIELDS, set(record) - CANONICAL_FIELDS
        for key in ("emails", "phones", "tax_ids", "tags"):
            assert isinstance(record.get(key, []), list)
        for address in record.get("addresses", []):
            assert set(address) <= ADDRESS_FIELDS
        assert record["source"] == "synthetic"


def test_mix_of_kinds_locales_and_duplicates(data) -> None:  # type: ignore[no-untyped-def]
    kinds = Counter(r.get("kind") for r in data.records)
    assert kinds["person"] > kinds["organization"] > 200
    countries = Counter(a["country"] for r in data.records for a in r.get("addresses", [])[:1])
    for code in ("NL", "DE", "IN", "GB"):
        assert countries[code] > 300, countries
    sizes = Counter(Counter(data.truth.values()).values())
    assert sizes[1] > sizes[2] > sizes[3] > 0
    # Around 35% of entities have duplicates.
    assert 0.25 < 1 - sizes[1] / data.n_entities < 0.45


def test_realistic_errors_are_present(data) -> None:  # type: ignore[no-untyped-def]
    names = [
        " ".join(str(r.get(k, "")) for k in ("given_name", "family_name", "full_name"))
        for r in data.records
    ]
    assert sum(bool(DEVANAGARI.search(n)) for n in names) > 20
    orgs = [r["organization_name"] for r in data.records if r.get("organization_name")]
    assert any(o.endswith(" BV") for o in orgs) and any(o.endswith(" B.V.") for o in orgs)
    assert any(o.isupper() for o in orgs)
    phones = [p for r in data.records for p in r.get("phones", [])]
    assert any(p.startswith("06-") for p in phones)
    assert any(p.startswith("+31 6 ") for p in phones)
    assert any(p.startswith("0031") for p in phones)
    emails = [m for r in data.records for m in r.get("emails", [])]
    assert any(m != m.lower() for m in emails)
    # Nicknames: some entity is written both as Johannes/Robert/... and as its short form.
    by_entity: dict[str, set[str]] = {}
    for r in data.records:
        if r.get("given_name"):
            by_entity.setdefault(data.truth[r["record_id"]], set()).add(r["given_name"])
    pairs = {frozenset(g) for g in by_entity.values() if len(g) == 2}
    known = [{"Johannes", "Jan"}, {"Robert", "Bob"}, {"Friedrich", "Fritz"}, {"William", "Bill"},
             {"Hendrik", "Henk"}, {"Cornelis", "Kees"}, {"Michael", "Mike"}, {"Thomas", "Tom"}]  # fmt: skip
    assert any(frozenset(k) in pairs for k in known)


def test_valid_phone_numbers_mostly(data) -> None:  # type: ignore[no-untyped-def]
    valid = total = 0
    for record in data.records:
        country = (record.get("addresses") or [{}])[0].get("country", "")
        if len(country) != 2:
            continue
        for phone in record.get("phones", []):
            total += 1
            valid += phonenumbers.is_valid_number(phonenumbers.parse(phone, country))
    assert valid / total > 0.98


def test_households_are_distinct_entities_at_one_address(data) -> None:  # type: ignore[no-untyped-def]
    at: dict[tuple[str, str, str], set[str]] = {}
    for r in data.records:
        if r.get("family_name") and r.get("addresses"):
            a = r["addresses"][0]
            key = (r["family_name"], a.get("postal_code", ""), a.get("house_number", ""))
            at.setdefault(key, set()).add(data.truth[r["record_id"]])
    assert sum(len(v) > 1 for v in at.values()) > 50


def test_garbage_records_are_singletons(data) -> None:  # type: ignore[no-untyped-def]
    empties = [r for r in data.records if set(r) <= {"record_id", "source", "updated_at"}]
    assert empties
    size = Counter(data.truth.values())
    assert all(size[data.truth[r["record_id"]]] == 1 for r in empties)


def test_generate_records_gives_exact_count() -> None:
    data = generate_records(1234, seed=2)
    assert len(data.records) == 1234
    assert set(data.truth) == {r["record_id"] for r in data.records}


def test_split_sources_restyles_and_spreads_duplicates() -> None:
    data = generate(1500, seed=8)
    split = split_sources(data, ("erp", "webshop", "legacy"), seed=1)
    assert sum(len(v) for v in split.values()) == len(data.records)
    assert all(r["source"] == name for name, recs in split.items() for r in recs)
    legacy = split["legacy"]
    assert all("given_name" not in r for r in legacy)
    assert all(r["full_name"] == r["full_name"].upper() for r in legacy if "full_name" in r)
    assert all(m == m.lower() for r in split["webshop"] for m in r.get("emails", []))
    assert any(r.get("legal_form") for r in split["erp"])
    # Duplicates of one entity mostly sit in different sources.
    source_of = {r["record_id"]: name for name, recs in split.items() for r in recs}
    pairs = true_pairs(data.truth)
    cross = sum(source_of[a] != source_of[b] for a, b in pairs)
    assert cross / len(pairs) > 0.6


def test_true_pairs_and_pairwise_score() -> None:
    truth = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "3"}
    assert true_pairs(truth) == {("a", "b"), ("a", "c"), ("b", "c")}
    perfect = pairwise_score({"a": 1, "b": 1, "c": 1, "d": 2, "e": 3}, truth)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    # One wrong merge (d into 1), one missed (c alone): tp=1 of predicted 6, truth 3.
    score = pairwise_score({"a": 1, "b": 1, "d": 1, "e": 1, "c": 2}, truth)
    assert score.true_positives == 1 and score.predicted_pairs == 6
    assert score.precision == pytest.approx(1 / 6) and score.recall == pytest.approx(1 / 3)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="unsupported locales"):
        generate(10, locales=("fr_FR",))
    with pytest.raises(ValueError, match="duplicate_rate"):
        generate(10, duplicate_rate=2.0)
    with pytest.raises(ValueError, match="at least one source"):
        split_sources(generate(5), ())
    assert set(LOCALES) == {"nl_NL", "de_DE", "en_IN", "en_GB"}


def test_identifiers_belong_to_one_entity(data) -> None:  # type: ignore[no-untyped-def]
    """Emails are never shared between entities; phones only within a household."""
    owners: dict[str, set[str]] = {}
    for r in data.records:
        for m in r.get("emails", []):
            if m.count("@") == 1 and "." in m.split("@")[-1]:
                owners.setdefault(m.strip().lower(), set()).add(data.truth[r["record_id"]])
    shared = {m: e for m, e in owners.items() if len(e) > 1}
    assert not shared, list(shared.items())[:3]
