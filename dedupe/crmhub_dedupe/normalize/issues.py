"""Reason codes of the normalize and validate stages, and the issues table both produce.

Severity says what happens to the record:

* ``quarantine``: the record cannot be matched as it is (no record id, wrong kind, broken
  structure). ``validate_canonical`` marks it invalid; the hub puts it in quarantine with the
  reason and the rest of the batch goes on.
* ``flag``: the record stays in the batch; the bad value is kept raw in the issue and left
  out of the matching keys (an invalid email is not used for blocking or comparison).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Severity = Literal["quarantine", "flag"]

ISSUE_COLUMNS = ("record_id", "field", "code", "message", "value")


@dataclass(frozen=True, slots=True)
class IssueCode:
    """One reason code: its severity and what it means to a data steward."""

    code: str
    severity: Severity
    meaning: str


ISSUE_CODES: dict[str, IssueCode] = {
    code.code: code
    for code in (
        IssueCode("record_not_mapping", "quarantine", "the record is not a mapping of fields"),
        IssueCode("record_id_missing", "quarantine", "the record has no record_id"),
        IssueCode("record_id_duplicate", "quarantine", "another record in the batch has the same record_id"),
        IssueCode("source_missing", "quarantine", "the record has no source"),
        IssueCode("kind_invalid", "quarantine", "kind is neither 'person' nor 'organization'"),
        IssueCode("field_type_invalid", "quarantine", "a field has the wrong type (e.g. emails is not a list of strings)"),
        IssueCode("no_matching_fields", "flag", "every matching field is empty; the record becomes its own golden record"),
        IssueCode("email_invalid", "flag", "an email address is not valid; kept raw, not used for matching"),
        IssueCode("phone_invalid", "flag", "a phone number is not valid for its country; kept raw, not used for matching"),
        IssueCode("taxid_invalid", "flag", "a tax id fails its format or check digit; kept raw, not used for matching"),
        IssueCode("birth_date_invalid", "flag", "birth_date is not a real date between 1880 and today"),
        IssueCode("country_unknown", "flag", "the address country is not a known country name or code"),
        IssueCode("postcode_invalid", "flag", "the postal code does not fit its country's format; kept compacted"),
        IssueCode("updated_at_invalid", "flag", "updated_at is not an ISO-8601 timestamp"),
    )
}  # fmt: skip


def severity(code: str) -> Severity:
    """Severity of a reason code (unknown codes count as quarantine: fail safe)."""
    found = ISSUE_CODES.get(code)
    return found.severity if found else "quarantine"


def empty_issues() -> pd.DataFrame:
    """An issues table with no rows and the standard columns."""
    return pd.DataFrame({column: pd.Series([], dtype=object) for column in ISSUE_COLUMNS})


def issues_frame(
    record_ids: np.ndarray[Any, Any],
    field: str,
    code: str,
    message: str,
    values: np.ndarray[Any, Any],
) -> pd.DataFrame:
    """Issues of one kind for many records at once (aligned arrays of ids and raw values)."""
    n = len(record_ids)
    data = {
        "record_id": record_ids.astype(object),
        "field": np.full(n, field, dtype=object),
        "code": np.full(n, code, dtype=object),
        "message": np.full(n, message, dtype=object),
        "value": np.array([_show(v) for v in values], dtype=object) if n else values.astype(object),
    }
    return pd.DataFrame({key: pd.Series(value, dtype=object) for key, value in data.items()})


def _show(value: object) -> str | None:
    """The raw value as text for the issue table, cut to a readable length."""
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def count_by_reason(issues: pd.DataFrame) -> pd.DataFrame:
    """Issue counts per reason code: columns code, severity, records, issues (most first)."""
    if issues.empty:
        return pd.DataFrame(
            {c: pd.Series([], dtype=object if c in ("code", "severity") else "int64")
             for c in ("code", "severity", "records", "issues")}
        )  # fmt: skip
    # validation issues carry the batch position (records without an id still count)
    who = "position" if "position" in issues.columns else "record_id"
    grouped = issues.groupby("code", sort=True)
    out = pd.DataFrame(
        {
            "code": pd.Series(list(grouped.groups), dtype=object),
            "records": grouped[who].nunique(dropna=False).to_numpy(),
            "issues": grouped.size().to_numpy(),
        }
    )
    out.insert(1, "severity", pd.Series([severity(c) for c in out["code"]], dtype=object))
    return out.sort_values(["issues", "code"], ascending=[False, True]).reset_index(drop=True)
