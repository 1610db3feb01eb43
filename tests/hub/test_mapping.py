"""Source mappings as tables of {record, expected canonical} cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmhub.errors import ConfigFileError, MappingError
from crmhub.mapping import CompiledMapping, load_mapping


def compile_(spec: dict[str, Any], key: tuple[str, ...] = ("id",)) -> CompiledMapping:
    return CompiledMapping(load_mapping(spec, base=Path("."), name="test"), list(key))


CASES = [
    ({"given_name": "vn"}, {"vn": "  Jan  "}, {"given_name": "Jan", "kind": "person"}),
    ({"emails": ["e1", "e2"]}, {"e1": "a@x.nl", "e2": " "}, {"emails": ["a@x.nl"], "kind": "person"}),
    ({"given_name": {"from": "naam", "split": " ", "part": 0}, "family_name": {"from": "naam", "split": " ", "part": -1}},
     {"naam": "Jan van Dijk"}, {"given_name": "Jan", "family_name": "Dijk", "kind": "person"}),
    ({"full_name": {"from": ["vn", "an"], "join": " "}}, {"vn": "Anna", "an": "Bakker"},
     {"full_name": "Anna Bakker", "kind": "person"}),
    ({"phones": {"from": "tel", "split": "/"}}, {"tel": "0612345678 / 0201234567"},
     {"phones": ["0612345678", "0201234567"], "kind": "person"}),
    ({"consent_email": {"from": "nb", "type": "boolean"}}, {"nb": "Ja"}, {"consent_email": True, "kind": "person"}),
    ({"segment": {"from": "s", "case": "upper"}, "organization_name": "org"}, {"s": "vip", "org": "ACME B.V."},
     {"segment": "VIP", "organization_name": "ACME B.V.", "kind": "organization"}),
    ({"language": {"from": "lang", "default": "nl"}}, {"lang": ""}, {"language": "nl", "kind": "person"}),
    ({"birth_date": {"from": "gd", "date": ["%d.%m.%Y", "%d-%m-%Y"]}}, {"gd": "31.12.1980"},
     {"birth_date": "1980-12-31", "kind": "person"}),
    ({"kind": {"value": "organization"}, "organization_name": "n"}, {"n": "Müller GmbH"},
     {"kind": "organization", "organization_name": "Müller GmbH"}),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "record", "expected"), CASES)
def test_field_rules(
    fields: dict[str, Any], record: dict[str, Any], expected: dict[str, Any]
) -> None:
    canonical, reasons = compile_({"fields": fields}).apply(record)
    assert reasons == []
    assert canonical == expected


def test_addresses_value_maps_and_extras() -> None:
    mapping = compile_(
        {
            "fields": {"family_name": "an"},
            "addresses": [
                {
                    "city": "plaats",
                    "postal_code": "pc",
                    "country": {"from": "land", "map": "countries"},
                }
            ],
            "extras": ["klantsoort"],
        }
    )
    canonical, _ = mapping.apply(
        {"an": "Jansen", "plaats": "Utrecht", "pc": 3511, "land": "Nederland", "klantsoort": "B2C"}
    )
    assert canonical == {
        "family_name": "Jansen",
        "addresses": [{"city": "Utrecht", "postal_code": "3511", "country": "NL"}],
        "extras": {"klantsoort": "B2C"},
        "kind": "person",
    }


def test_problems_are_reasons_not_exceptions() -> None:
    mapping = compile_(
        {
            "fields": {
                "family_name": {"from": "an", "required": True},
                "birth_date": {"from": "gd", "date": "%d-%m-%Y"},
                "consent_email": {"from": "nb", "map": {"ja": True, "nee": False}, "strict": True},
            }
        }
    )
    canonical, reasons = mapping.apply({"an": "", "gd": "31-02-1980", "nb": "misschien"})
    assert canonical is None
    assert sorted(r["code"] for r in reasons) == ["invalid_date", "required", "unmapped_value"]
    _, tap_reasons = mapping.apply({"an": "x", "_row_error": "ragged row: 3 cells, header has 5"})
    assert tap_reasons == [
        {"code": "source_unreadable", "field": None, "message": "ragged row: 3 cells, header has 5"}
    ]


def test_bad_mapping_files_list_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "m.yml"
    path.write_text(
        "entity: customer\nfields:\n  voornaam: first\n  emails: {from: e, bogus: 1}\naddresses:\n  - {town: x}\n"
    )
    with pytest.raises(ConfigFileError) as info:
        load_mapping("m.yml", base=tmp_path, name="m")
    text = str(info.value)
    assert "fields.emails.bogus" in text and "unknown key" in text
    path.write_text("entity: order\nfields:\n  voornaam: first\naddresses:\n  - {town: x}\n")
    with pytest.raises(ConfigFileError) as info:
        load_mapping("m.yml", base=tmp_path, name="m")
    messages = [p.message for p in info.value.problems]
    assert any("'voornaam' is not a canonical order field" in m for m in messages)
    assert any("needs `customer_key`" in m for m in messages)
    assert any(
        "an order has no addresses" in m or "a order has no addresses" in m for m in messages
    )
    assert all(p.line for p in info.value.problems if p.path.startswith("fields."))


def test_schema_check_names_missing_fields() -> None:
    mapping = compile_({"fields": {"given_name": "voornaam", "family_name": "achternaam"}})
    with pytest.raises(MappingError) as info:
        mapping.check_schema("klanten", {"id", "voornaam"}, "mappings/webshop.yml")
    assert "'achternaam'" in info.value.message and "stream 'klanten'" in info.value.message


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("INGETRAUD BARTH", {"given_name": "Ingetraud", "family_name": "Barth"}),
        (
            "Jan van der Berg",
            {"given_name": "Jan", "name_particle": "van der", "family_name": "Berg"},
        ),
        (
            "Dr. Anke Müller-Lüdenscheidt",
            {"given_name": "Anke", "family_name": "Müller-Lüdenscheidt"},
        ),
        ("SHRI RAHUL KUMAR SHARMA", {"given_name": "Rahul Kumar", "family_name": "Sharma"}),
        ("Smith, John", {"given_name": "John", "family_name": "Smith"}),
    ],
)
def test_golden_name_parts_from_a_single_name_field(full: str, expected: dict[str, str]) -> None:
    from crmhub.match.recompute import complete_person_name

    values: dict[str, Any] = {"full_name": full, "kind": "person"}
    provenance: dict[str, Any] = {}
    complete_person_name(values, provenance)
    assert {k: values[k] for k in expected} == expected
    assert provenance["family_name"]["rule"] == "derived from full_name"
    kept = {"full_name": full, "kind": "person", "family_name": "Own"}
    complete_person_name(kept, {})
    assert kept["family_name"] == "Own" and "given_name" not in kept
