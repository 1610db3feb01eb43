"""Mapping files, value rules, fault handling pieces, and the shipped mapping files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from target_crm.errors import ConfigurationError, RecordError
from target_crm.http_client import SlidingWindowLimiter, parse_retry_after
from target_crm.mapping import load_mapping, parse_path
from target_crm.results import Ledger, mask_pii

MAPPINGS = Path(__file__).parents[2] / "mappings" / "crm"


def _mapping(tmp_path: Path, body: str, profile: str = "sql") -> Path:
    path = tmp_path / "m.yml"
    path.write_text(body)
    return path


def test_paths() -> None:
    assert parse_path("addresses[0].city") == ("addresses", 0, "city")
    with pytest.raises(ValueError, match="field path"):
        parse_path("[0]")


@pytest.mark.parametrize("path", sorted(MAPPINGS.rglob("*.yml")), ids=lambda p: p.name)
def test_shipped_mapping_files_load(path: Path) -> None:
    profile = "csv-import" if path.parent.name == "csv-import" else path.stem
    mapping = load_mapping(path, profile)
    assert "customers" in mapping.streams


def test_field_rules(tmp_path: Path) -> None:
    path = _mapping(
        tmp_path,
        """
profile: sql
value_maps:
  tiers: {gold: G, silver: S}
streams:
  customers:
    object: c
    external_id: master_id
    fields:
      last: {template: "{name_particle} {family_name}", required: true, max_length: 12}
      tier: {from: segment, values: tiers, strict: true}
      short: {from: given_name, max_length: 3, truncate: true}
      email: {from: "emails[1]", default: none@example.org}
      kind: {from: kind, picklist: [person, organization]}
""",
    )
    om = load_mapping(path, "sql").streams["customers"].objects["customers"]
    rec = {
        "family_name": "Berg",
        "name_particle": "van den",
        "segment": "Gold",
        "given_name": "Jan Willem",
        "emails": ["a@x"],
        "kind": "person",
    }
    assert om.apply(rec, "M1") == {
        "last": "van den Berg",
        "tier": "G",
        "short": "Jan",
        "email": "none@example.org",
        "kind": "person",
    }
    with pytest.raises(RecordError, match=r"M1: c.last is required"):
        om.apply({**rec, "family_name": None, "name_particle": None}, "M1")
    with pytest.raises(RecordError, match="16 characters, the CRM field holds 12"):
        om.apply({**rec, "family_name": "Bergkamp"}, "M1")
    with pytest.raises(RecordError, match=r"'bronze' for c\.tier"):
        om.apply({**rec, "segment": "bronze"}, "M1")
    with pytest.raises(RecordError, match="not a valid picklist value"):
        om.apply({**rec, "kind": "robot"}, "M1")


def test_mapping_problems_are_collected(tmp_path: Path) -> None:
    path = _mapping(
        tmp_path,
        """
profile: sql
streams:
  customers:
    object: c
    fields:
      a: {form: given_name}
      b: {from: x, type: colour}
      c: {from: x, values: nope}
  invoices: {object: i, fields: {}}
""",
    )
    with pytest.raises(ConfigurationError) as info:
        load_mapping(path, "sql")
    text = str(info.value)
    assert "unknown keys ['form']" in text and "type 'colour'" in text
    assert "value map 'nope'" in text and "unknown stream" in text
    assert str(path) in text


def test_unknown_crm_field_names_the_field_and_object() -> None:
    mapping = load_mapping(MAPPINGS / "hubspot.yml", "hubspot")
    mapping.streams["customers"].objects["person"].fields[0] = type(
        mapping.streams["customers"].objects["person"].fields[0]
    )(target="favourite_colour", source=("given_name",), source_text="given_name")
    from target_crm.profiles.hubspot import STANDARD_PROPERTIES

    with pytest.raises(ConfigurationError, match=r"'favourite_colour'.*contacts"):
        mapping.check_fields(lambda o: STANDARD_PROPERTIES.get(o, set()))


def test_retry_after_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 0.0 + 1e-9  # past: 0


def test_sliding_window_limiter() -> None:
    limiter = SlidingWindowLimiter(5, 0.5)
    started = time.monotonic()
    stamps = []
    for _ in range(12):
        limiter.acquire()
        stamps.append(time.monotonic())
        limiter.release()
    assert time.monotonic() - started >= 1.0  # 12 requests at 5 per 0.5 s
    for i in range(len(stamps) - 5):
        assert stamps[i + 5] - stamps[i] >= 0.5 - 1e-3


def test_ledger_skips_truncated_lines_and_keeps_last_accepted(tmp_path: Path) -> None:
    p = tmp_path / "r.jsonl"
    p.write_text(
        '{"stream":"customers","key":"M1","action":"create","remote_id":"1","content_hash":"a"}\n'
        '{"stream":"customers","key":"M1","action":"error","remote_id":"1","content_hash":"b"}\n'
        '{"stream":"customers","key":"M2","action":"cre'
    )
    ledger = Ledger.from_results(p)
    assert ledger.get("customers", "M1").content_hash == "a"
    assert ledger.get("customers", "M2") is None


def test_logs_mask_emails_and_phones() -> None:
    text = mask_pii("jan.devries@example.nl called from +31 6 12345678")
    assert "devries" not in text and "12345678" not in text and "@example.nl" in text


def test_indexed_paths_tolerate_odd_shapes(tmp_path: Path) -> None:
    path = _mapping(
        tmp_path,
        """
profile: sql
streams:
  customers:
    object: c
    external_id: master_id
    fields:
      city: {from: "addresses[1].city"}
      mail: {from: "emails[0]"}
""",
    )
    om = load_mapping(path, "sql").streams["customers"].objects["customers"]
    assert om.apply({"addresses": [{}, {"city": "Pune"}], "emails": ["a@b.in"]}, "M") == {
        "city": "Pune",
        "mail": "a@b.in",
    }
    for odd in (
        {"addresses": "Pune"},
        {"addresses": [{}]},
        {"addresses": [{}, "x"]},
        {"emails": []},
        {},
    ):
        assert om.apply(odd, "M") == {}
