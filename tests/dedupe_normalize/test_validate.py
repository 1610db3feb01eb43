"""validate_canonical: pandera schema, quarantine vs flag, counts by reason."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmhub_dedupe.normalize import ISSUE_CODES, normalize_frame
from crmhub_dedupe.validate import canonical_schema, validate_canonical


def _ok(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"record_id": record_id, "source": "crm", **fields}


CASES = [
    # (record, expected codes, passes)
    (_ok("a", given_name="Jan", emails=["jan@example.nl"]), set(), True),
    (_ok("a", emails=["bad@"]), {"email_invalid"}, True),
    (_ok("a", birth_date="1990-13-01"), {"birth_date_invalid"}, True),
    (_ok("a", updated_at="gestern"), {"updated_at_invalid"}, True),
    (_ok("a", birth_date="31.12.1980", updated_at="2026-01-01T00:00:00+01:00"), set(), True),
    (_ok("a", kind="alien"), {"kind_invalid"}, False),
    (_ok("a", kind="organization", organization_name="X BV"), set(), True),
    ({"source": "crm"}, {"record_id_missing"}, False),
    ({"record_id": "  ", "source": "crm"}, {"record_id_missing"}, False),
    ({"record_id": "a"}, {"source_missing"}, False),
    (_ok("a", emails=[{"address": "x@y.nl"}]), {"field_type_invalid"}, False),
    (_ok("a", phones=3.5), {"field_type_invalid"}, False),
    (_ok("a", addresses="Main Street 1"), {"field_type_invalid"}, False),
    (_ok("a", addresses=["Main Street 1"]), {"field_type_invalid"}, False),
    (_ok("a", extras=["x"]), {"field_type_invalid"}, False),
    (_ok("a", given_name={"first": "Jan"}), {"field_type_invalid"}, False),
    (_ok("a", phones="06 12345678", emails="a@b.nl"), set(), True),  # one value, no list
]


@pytest.mark.parametrize(("record", "codes", "passes"), CASES)
def test_single_record(record: dict[str, Any], codes: set[str], passes: bool) -> None:
    result = validate_canonical([record])
    assert set(result.issues["code"]) == codes
    assert bool(result.valid_mask[0]) is passes
    for code in codes:
        expected = "flag" if passes else "quarantine"
        assert set(result.issues.loc[result.issues["code"] == code, "severity"]) == {expected}


def test_batch_positions_duplicates_and_counts() -> None:
    records: list[Any] = [
        _ok("a"),
        _ok("a"),
        "not a record",
        _ok("b", emails=["x@", "y@"]),
        _ok("c"),
    ]
    result = validate_canonical(records)
    assert list(result.valid_mask) == [False, False, False, True, True]
    duplicate = result.issues[result.issues["code"] == "record_id_duplicate"]
    assert list(duplicate["position"]) == [0, 1]
    assert list(result.quarantined()["code"]) == [
        "record_id_duplicate", "record_id_duplicate", "record_not_mapping"
    ]  # fmt: skip
    counts = result.counts_by_reason().set_index("code")
    assert counts.loc["record_id_duplicate", "records"] == 2
    assert counts.loc["record_not_mapping", "severity"] == "quarantine"
    assert counts.loc["email_invalid", "severity"] == "flag"


def test_dataframe_input() -> None:
    frame = pd.DataFrame([_ok("a", kind="person"), _ok("b", kind="robot")])
    result = validate_canonical(frame)
    assert list(result.valid_mask) == [True, False]
    assert list(result.issues["code"]) == ["kind_invalid"]


def test_every_check_is_a_known_reason_code() -> None:
    schema = canonical_schema()
    names = {check.name for column in schema.columns.values() for check in column.checks}
    assert names <= set(ISSUE_CODES)


def test_empty_batch_is_valid() -> None:
    result = validate_canonical([])
    assert len(result.valid_mask) == 0 and result.issues.empty


_ANY = st.recursive(
    st.one_of(st.none(), st.text(max_size=12), st.integers(), st.floats(), st.booleans()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_FIELDS = [
    "kind", "given_name", "family_name", "full_name", "organization_name", "emails", "phones",
    "addresses", "birth_date", "tax_ids", "updated_at", "extras", "name_particle",
]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(_FIELDS), _ANY, max_size=6), max_size=6))
def test_garbage_batches_never_raise(bodies: list[dict[str, Any]]) -> None:
    records: list[Any] = [{"record_id": f"r{i}", "source": "s", **b} for i, b in enumerate(bodies)]
    result = validate_canonical(records)
    assert len(result.valid_mask) == len(records)
    assert set(result.issues["code"]) <= set(ISSUE_CODES)
    valid = [r for r, ok in zip(records, result.valid_mask, strict=True) if ok]
    normalized = normalize_frame(valid)
    assert len(normalized.frame) == len(valid)
