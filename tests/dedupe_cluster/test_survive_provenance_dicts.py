"""GoldenRecord.provenance_dicts (what recompute stores) equals provenance() in JSON form."""

from __future__ import annotations

import random
from typing import Any

from crmhub_dedupe.survive import DEFAULT_SURVIVORSHIP, GoldenRecord, survive


def _as_json(golden: GoldenRecord) -> dict[str, Any]:
    return {k: p.to_dict() for k, p in golden.provenance().items()}


def _members(rng: random.Random, label: str, size: int) -> list[dict[str, Any]]:
    out = []
    for i in range(size):
        rec: dict[str, Any] = {
            "record_id": f"{label}-{i}",
            "source": rng.choice(["crm", "erp", "webshop", "legacy"]),
            "updated_at": f"202{rng.randint(0, 4)}-0{rng.randint(1, 9)}-01T00:00:00Z",
            "kind": "person",
            "given_name": rng.choice(["Anna", "anna ", "ANNA", "", None, "Ann"]),
            "family_name": rng.choice(["Berg", "berg", "Bergmann", None]),
            "city": rng.choice(["Amsterdam", "AMSTERDAM", "Utrecht", ""]),
            "emails": rng.sample(["a@x.example", "A@X.example", "b@y.example", "c@z.example"], 2),
            "phones": rng.choice([[], ["+31 20 123 4567"], ["+31201234567", "+31 30 765 4321"]]),
            "segment": rng.choice(["retail", "wholesale", None]),
        }
        out.append({k: v for k, v in rec.items() if rng.random() > 0.1 or k in ("record_id",)})
    return out


def test_provenance_dicts_equals_provenance_for_singletons_clusters_and_overrides() -> None:
    rng = random.Random(7)
    records: list[dict[str, Any]] = []
    labels: list[str] = []
    for c in range(300):
        label = f"m{c}"
        members = _members(rng, label, rng.choice([1, 1, 2, 3, 5]))
        records += members
        labels += [label] * len(members)
    overrides: dict[str, dict[str, Any]] = {
        "m1": {"city": "Rotterdam"},
        "m2": {"given_name": "Annie", "emails": ["x@override.example"]},
    }
    built = survive(records, labels, DEFAULT_SURVIVORSHIP, overrides=overrides)
    assert any(g.chosen_from.get("city") == "steward" for g in built.values())
    assert any(len(g.record_ids) > 1 for g in built.values())
    for golden in built.values():
        assert golden.provenance_dicts() == _as_json(golden)


def test_provenance_dicts_keeps_the_first_member_source_for_a_repeated_record_id() -> None:
    members = [
        {"record_id": "r", "source": "erp", "segment": "retail"},
        {"record_id": "r", "source": "crm", "segment": "wholesale"},
    ]
    golden = survive(members, ["m", "m"], DEFAULT_SURVIVORSHIP)["m"]
    assert golden.provenance_dicts() == _as_json(golden)


def test_union_chosen_lists_every_member_holding_each_value_in_order() -> None:
    """The chosen entries of a union field, checked against a plain scan of the members."""
    from crmhub_dedupe.survive import _DEFAULT_KEYS, _EMPTY, _key

    rng = random.Random(11)
    records: list[dict[str, Any]] = []
    labels: list[str] = []
    for c in range(200):
        members = _members(rng, f"u{c}", rng.choice([2, 3, 4]))
        records += members
        labels += [f"u{c}"] * len(members)
    checked = 0
    for golden in survive(records, labels, DEFAULT_SURVIVORSHIP).values():
        for name in ("emails", "phones"):
            if name not in golden.values:
                continue
            expected = []
            for value in golden.values[name]:
                want = _key(name, value, {}, _DEFAULT_KEYS)
                for m in golden.members:
                    raw = m.get(name)
                    items = raw if isinstance(raw, list) else [raw]
                    if any(
                        i not in _EMPTY and _key(name, i, m, _DEFAULT_KEYS) == want for i in items
                    ):
                        expected.append((value, str(m["record_id"]), str(m.get("source"))))
            chosen = golden.provenance_dicts()[name]["chosen"]
            assert [(c["value"], c["record_id"], c["source"]) for c in chosen] == expected
            checked += 1
    assert checked > 100


def test_union_provenance_of_addresses_repeats_and_custom_keys() -> None:
    """Union fields of every kind (address dicts, repeated items within one record, tags,
    a field with its own value key, a shared member object) give the provenance a plain
    scan of the members gives."""
    rng = random.Random(23)
    streets = ["Dorpsstraat 1", "Dorpsstr. 1", "Hauptstraße 5", "Hauptstrasse 5", "MG Road 12"]
    records: list[dict[str, Any]] = []
    labels: list[str] = []
    for c in range(150):
        for i in range(rng.choice([2, 3, 4])):
            addresses = [
                {
                    "street": rng.choice(streets),
                    "postal_code": rng.choice(["1234 AB", "1234ab", "10115", ""]),
                    "city": rng.choice(["Amsterdam", "Berlin", "मुंबई"]),
                }
                for _ in range(rng.choice([0, 1, 2]))
            ]
            tags = rng.sample(["vip", "VIP", " vip", "b2b", "B2B"], rng.choice([0, 1, 3]))
            records.append(
                {
                    "record_id": f"a{c}-{i}",
                    "source": rng.choice(["crm", "erp", "webshop"]),
                    "updated_at": f"202{rng.randint(0, 4)}-01-01T00:00:00Z",
                    "addresses": addresses,
                    "tags": tags,
                    "phones": ["+31 6 1234 5678", "06-12345678"] if rng.random() < 0.3 else [],
                    "tax_ids": rng.sample(["NL123456789B01", "nl 1234 56789 b01", "DE123"], 2),
                }
            )
            labels.append(f"a{c}")
    shared = {"record_id": "s", "source": "crm", "tags": ["x", "X"]}
    records += [shared, shared]
    labels += ["s", "s"]
    plain = survive(records, labels, DEFAULT_SURVIVORSHIP)
    own = survive(
        records,
        labels,
        DEFAULT_SURVIVORSHIP,
        value_keys={"tags": lambda value, _rec: str(value).strip()[:1] or None},
    )
    for built in (plain, own):
        for golden in built.values():
            assert golden.provenance_dicts() == _as_json(golden), golden.cluster_id
    assert any(len(g.values.get("addresses", [])) > 1 for g in plain.values())
