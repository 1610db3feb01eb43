"""The generated payload builders give exactly what the per-field rules give.

Each object mapping is compiled into one generated function (no call per plain field); the
oracle is ``FieldSpec.compile()``, the field-by-field rule set, applied to the same records.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from target_crm.errors import RecordError
from target_crm.mapping import ObjectMapping, load_mapping

MAPPINGS = Path(__file__).parents[2] / "mappings" / "crm"

RULES = """
profile: sql
value_maps:
  tiers: {gold: G, silver: S}
streams:
  customers:
    object: c
    external_id: master_id
    fields:
      plain: given_name
      limited: {from: family_name, max_length: 5}
      cut: {from: family_name, max_length: 3, truncate: true}
      needed: {from: organization_name, required: true}
      fallback: {from: website, default: "-"}
      first_mail: {from: "emails[0]"}
      second_city: {from: "addresses[1].city"}
      second_street: {from: "addresses[1].street", max_length: 4}
      where: {template: "{addresses[1].street} {addresses[1].city} {emails[0]}"}
      picked: {from: kind, picklist: [person, organization], max_length: 6}
      count_or_zero: {from: version, type: integer, default: 0}
      deep: {from: "addresses[0].lines[1]"}
      raw_list: {from: tags, type: raw}
      raw_needed: {from: phones, type: raw, required: true}
      tier: {from: segment, values: tiers, strict: true}
      soft_tier: {from: segment, values: tiers}
      kind: {from: kind, picklist: [person, organization]}
      count: {from: version, type: integer}
      amount: {from: version, type: number}
      flag: {from: consent_email, type: boolean}
      born: {from: birth_date, type: date}
      seen: {from: updated_at, type: datetime}
      blob: {from: addresses, type: json}
      joined: {from: emails, join: ","}
      label: {template: "{given_name} {family_name}", max_length: 9}
      fixed: {value: crmhub}
"""

# Values of every shape a field may meet: nothing, empty, text of several lengths, numbers,
# booleans, lists and objects (valid or not for the field).
ODD = [
    None,
    "",
    "ab",
    "abcdef",
    "Gold",
    "bronze",
    "person",
    "robot",
    "2024-01-02T03:04:05Z",
    "yes",
    0,
    7,
    2.5,
    True,
    False,
    [],
    ["a@b.in", "c@d.in"],
    [None, "x"],
    {},
    {"city": "Pune"},
    [{"city": "Köln", "lines": ["1", "2"]}, {"city": "Pune"}],
    [{}, {"city": "Pune", "street": "MG Road"}],
]
KEYS = [
    "given_name",
    "family_name",
    "organization_name",
    "website",
    "emails",
    "addresses",
    "tags",
    "phones",
    "segment",
    "kind",
    "version",
    "consent_email",
    "birth_date",
    "updated_at",
]


def _oracle(om: ObjectMapping, record: Mapping[str, Any], keep_none: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in om.fields:
        value = spec.compile()(record, "M1", om.object)
        if keep_none or value is not None:
            out[spec.target] = value
    return out


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        # with the types: True == 1 and 1 == 1.0, but a CRM column tells them apart
        return "ok", {k: (type(v).__name__, v) for k, v in fn(*args).items()}
    except RecordError as exc:
        return "error", (str(exc), exc.field)


def _records(seed: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{k: rng.choice(ODD) for k in KEYS if rng.random() < 0.8} for _ in range(n)]


@pytest.mark.parametrize("keep_none", [False, True])
def test_builder_matches_the_field_rules_on_odd_records(tmp_path: Path, keep_none: bool) -> None:
    path = tmp_path / "m.yml"
    path.write_text(RULES)
    om = load_mapping(path, "sql").streams["customers"].objects["customers"]
    seed = random.randrange(1 << 30)
    build = om.apply_all if keep_none else om.apply
    errors = 0
    for record in _records(seed, 3000):
        got = _outcome(build, record, "M1")
        want = _outcome(_oracle, om, record, keep_none)
        assert got == want, f"seed {seed}, record {record}"
        errors += got[0] == "error"
    # the records reach both paths of the rules: accepted payloads and refused records
    assert 0 < errors < 3000, f"seed {seed}"
    # field by field too, so every field meets every odd value (a whole record mostly stops
    # at its first refused field)
    for spec in om.fields:
        alone = ObjectMapping(om.name, om.object, om.external_id, [spec])
        build = alone.apply_all if keep_none else alone.apply
        for record in _records(seed, 300):
            assert _outcome(build, record, "M1") == _outcome(_oracle, alone, record, keep_none), (
                f"seed {seed}, field {spec.target}, record {record}"
            )


@pytest.mark.parametrize("path", sorted(MAPPINGS.rglob("*.yml")), ids=lambda p: p.name)
def test_builder_matches_the_field_rules_for_shipped_mappings(path: Path) -> None:
    profile = "csv-import" if path.parent.name == "csv-import" else path.stem
    mapping = load_mapping(path, profile)
    seed = random.randrange(1 << 30)
    records = _records(seed, 300)
    for om, record, keep_none in itertools.product(mapping.objects(), records, (False, True)):
        build = om.apply_all if keep_none else om.apply
        assert _outcome(build, record, "M1") == _outcome(_oracle, om, record, keep_none), (
            f"seed {seed}, {om.object}, record {record}"
        )


def _row_oracle(
    om: ObjectMapping, columns: list[str], record: Mapping[str, Any]
) -> tuple[str, Any]:
    """The row as the SQL and CSV profiles built it from the payload dict."""
    try:
        payload = om.apply_all(record, "M1")
    except RecordError as exc:
        return "error", (str(exc), exc.field)
    cells = []
    for column in columns:
        if column == om.external_id:
            value: Any = "M1"
        elif column == "archived":
            value = False
        else:
            value = payload.get(column)
        if column in ("raw_list", "raw_needed", "blob"):
            value = orjson.dumps(value).decode()
        cells.append((type(value).__name__, value))
    return "ok", cells


def test_row_builder_gives_the_payload_in_column_order(tmp_path: Path) -> None:
    path = tmp_path / "m.yml"
    path.write_text(RULES)
    om = load_mapping(path, "sql").streams["customers"].objects["customers"]
    # the key first, a constant, a column no field fills, JSON text columns, fields reordered
    columns = ["master_id", "archived", "missing", "raw_list", "blob", "raw_needed"]
    columns += [s.target for s in reversed(om.fields) if s.target not in columns]
    build = om.row_builder(
        columns, constants={"archived": False}, json_text=["raw_list", "raw_needed", "blob"]
    )
    seed = random.randrange(1 << 30)
    errors = 0
    for record in _records(seed, 3000):
        try:
            got: tuple[str, Any] = "ok", [(type(v).__name__, v) for v in build(record, "M1")]
        except RecordError as exc:
            got = "error", (str(exc), exc.field)
        assert got == _row_oracle(om, columns, record), f"seed {seed}, record {record}"
        errors += got[0] == "error"
    assert 0 < errors < 3000, f"seed {seed}"
