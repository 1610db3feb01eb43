"""validate_canonical: pandera schema, quarantine vs flag, counts by reason."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from crmhub_dedupe.normalize import ISSUE_CODES
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
