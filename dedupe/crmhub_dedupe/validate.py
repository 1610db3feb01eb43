"""VALIDATE stage: pandera schemas over the canonical customer frame.

``validate_canonical`` checks a batch of canonical customers (list of dicts or DataFrame)
before normalization and returns which records may go on (``valid_mask``) and every problem
(``issues``: record_id, field, code, message, value, severity, position).

Hard failures (severity ``quarantine``; the record must not be matched as it is):
record_not_mapping, record_id_missing, record_id_duplicate (every record sharing the id),
source_missing, kind_invalid, field_type_invalid (a list field that is not a list of
strings, an address that is not an object, extras that is not an object, a name that is not
text).

Soft problems (severity ``flag``; the record stays, the bad value is left out of the keys):
email_invalid, birth_date_invalid, updated_at_invalid here; phone_invalid, taxid_invalid,
country_unknown, postcode_invalid and no_matching_fields come from ``normalize_frame``,
which knows each record's country. ``ValidationResult.counts_by_reason()`` counts them for
the run report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from crmhub_dedupe.normalize._input import (
    LIST_FIELDS,
    SCALAR_FIELDS,
    ObjectArray,
    object_array,
)
from crmhub_dedupe.normalize.dates import iso_timestamps_valid, normalize_birth_date
from crmhub_dedupe.normalize.emails import normalize_emails
from crmhub_dedupe.normalize.issues import ISSUE_CODES, count_by_reason, severity
from crmhub_dedupe.normalize.text import fold

VALID_KINDS = ("person", "organization")
_TEXT_FIELDS = tuple(f for f in SCALAR_FIELDS if f not in ("birth_date", "updated_at"))
VALIDATION_ISSUE_COLUMNS = (
    "position",
    "record_id",
    "field",
    "code",
    "severity",
    "message",
    "value",
)


@dataclass(frozen=True)
class ValidationResult:
    """Which records pass (``valid_mask``, aligned with the input) and every problem found."""

    valid_mask: np.ndarray[Any, np.dtype[np.bool_]]
    """True for records without a quarantine-severity issue."""
    issues: pd.DataFrame
    """position, record_id, field, code, severity, message, value; one row per problem."""

    def quarantined(self) -> pd.DataFrame:
        """The quarantine-severity issues (the reasons to show next to quarantined records)."""
        return self.issues[self.issues["severity"] == "quarantine"].reset_index(drop=True)

    def counts_by_reason(self) -> pd.DataFrame:
        """Issue counts per reason code (code, severity, records, issues)."""
        return count_by_reason(self.issues)


# -- element checks (vectorized over a column; True = fine) ------------------------------
# Each check first asks pandas for the column's inferred type (a C loop); only a column that
# is not plain text falls back to looking at the type of each value.
_TEXTUAL = ("string", "empty")
_NONE_TYPES = (type(None),)


def _types(series: pd.Series) -> pd.Series:
    """The type of each value; NaN/NA (a missing cell of a DataFrame) counts as None."""
    types = series.map(type, na_action=None).to_numpy(dtype=object, copy=True)
    types[series.isna().to_numpy()] = type(None)  # NaN/NA cells are missing
    return pd.Series(types, index=series.index, dtype=object)


def _non_empty_text(series: pd.Series) -> pd.Series:
    if pd.api.types.infer_dtype(series, skipna=False) == "string":
        return series.str.strip().ne("")
    is_text = _types(series).map(lambda t: t is str).astype(bool)
    stripped = series.where(is_text, "").astype(str).str.strip()
    return is_text & stripped.ne("")


def _text_or_missing(series: pd.Series) -> pd.Series:
    if pd.api.types.infer_dtype(series, skipna=True) in _TEXTUAL:
        return pd.Series(True, index=series.index)
    ok_types = (str, int, float, np.int64, np.float64, *_NONE_TYPES)
    return _types(series).map(lambda t: t in ok_types and t is not bool).astype(bool)


def _list_of_text(series: pd.Series) -> pd.Series:
    top = _types(series)
    ok = top.map(lambda t: t in (list, tuple, np.ndarray, str, *_NONE_TYPES)).astype(bool)
    listed = series[top.map(lambda t: t in (list, tuple, np.ndarray)).astype(bool)]
    if len(listed):
        inner = listed.explode()
        inner = inner[inner.notna()]
        if pd.api.types.infer_dtype(inner, skipna=True) not in _TEXTUAL:
            bad = inner.map(lambda v: not isinstance(v, str | int) or isinstance(v, bool))
            ok[bad.index[bad.to_numpy(dtype=bool)].unique()] = False
    return ok


def _addresses_ok(series: pd.Series) -> pd.Series:
    top = _types(series)
    is_list = top.map(lambda t: t in (list, tuple, np.ndarray)).astype(bool)
    ok = is_list | top.map(lambda t: t in (dict, *_NONE_TYPES)).astype(bool)
    ok |= series.map(lambda v: isinstance(v, Mapping)).astype(bool)
    listed = series[is_list]
    if len(listed):
        inner = listed.explode()
        inner = inner[inner.notna()]
        bad = inner.map(lambda v: not isinstance(v, Mapping)).astype(bool)
        ok[bad.index[bad.to_numpy()].unique()] = False
    return ok


def _mapping_or_missing(series: pd.Series) -> pd.Series:
    top = _types(series)
    return top.map(lambda t: t in (dict, *_NONE_TYPES)).astype(bool) | series.map(
        lambda v: isinstance(v, Mapping)
    ).astype(bool)


def _kind_ok(series: pd.Series) -> pd.Series:
    values = series.tolist()
    missing = series.isna().to_numpy()
    ok = [isinstance(v, str) and v in VALID_KINDS for v in values]
    return pd.Series(np.array(ok, dtype=bool) | missing, index=series.index)


def _date_like(series: pd.Series) -> pd.Series:
    """Text, a date/datetime object, or missing."""
    ok = [
        v is None or isinstance(v, str | dt.date) or (isinstance(v, float) and v != v)
        for v in series.tolist()
    ]
    return pd.Series(ok, index=series.index, dtype=bool)


def _unique_ids(series: pd.Series) -> pd.Series:
    texts = [v if isinstance(v, str) and v.strip() else None for v in series.tolist()]
    ids = pd.Series(texts, index=series.index, dtype=object)
    return ~ids.duplicated(keep=False) | ids.isna()


def _distinct_ok(series: pd.Series, ok: Any) -> pd.Series:
    """Run an expensive per-value test once per distinct value."""
    # only text is hashed and judged; other types have a type check of their own
    values = np.array([v if isinstance(v, str) else None for v in series.tolist()], dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([bool(ok(u)) for u in uniques] + [True], dtype=bool)
    return pd.Series(table[codes], index=series.index)


def _emails_ok(series: pd.Series) -> pd.Series:
    exploded = series.explode()
    # only text is judged here; other types are field_type_invalid (a check of its own)
    exploded = exploded[[isinstance(v, str) for v in exploded.tolist()]]
    values = exploded.to_numpy(dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    normalized = normalize_emails(list(uniques))
    # invalid unless it is no value at all ("", "-", "n/a") or not text (a type problem)
    bad_unique = np.array(
        [
            result is None and isinstance(value, str) and fold(value) is not None
            for value, result in zip(uniques, normalized, strict=True)
        ]
        + [False],
        dtype=bool,
    )
    bad_rows = exploded.index[bad_unique[codes]]
    return pd.Series(~series.index.isin(bad_rows), index=series.index)


def _birth_date_ok(series: pd.Series) -> pd.Series:
    return _distinct_ok(
        series,
        lambda v: not isinstance(v, str) or normalize_birth_date(v) is not None or fold(v) is None,
    )


def _updated_at_ok(series: pd.Series) -> pd.Series:
    ok = np.ones(len(series), dtype=bool)
    values = series.tolist()
    texts = [i for i, v in enumerate(values) if isinstance(v, str) and v.strip()]
    if texts:
        ok[texts] = iso_timestamps_valid([values[i] for i in texts])
    return pd.Series(ok, index=series.index)


def _check(func: Any, code: str, *, element_nulls: bool = True) -> pa.Check:
    return pa.Check(func, name=code, ignore_na=not element_nulls)


def canonical_schema() -> pa.DataFrameSchema:
    """The pandera schema of the canonical customer frame (one column per canonical field)."""
    columns: dict[str, pa.Column] = {
        "record_id": pa.Column(
            object,
            checks=[
                _check(_non_empty_text, "record_id_missing"),
                _check(_unique_ids, "record_id_duplicate"),
            ],
            nullable=True,
        ),
        "source": pa.Column(
            object, checks=[_check(_non_empty_text, "source_missing")], nullable=True
        ),
        "kind": pa.Column(object, checks=[_check(_kind_ok, "kind_invalid")], nullable=True),
        "emails": pa.Column(
            object,
            checks=[
                _check(_list_of_text, "field_type_invalid"),
                _check(_emails_ok, "email_invalid"),
            ],
            nullable=True,
        ),
        "addresses": pa.Column(
            object, checks=[_check(_addresses_ok, "field_type_invalid")], nullable=True
        ),
        "extras": pa.Column(
            object, checks=[_check(_mapping_or_missing, "field_type_invalid")], nullable=True
        ),
        "birth_date": pa.Column(
            object,
            checks=[
                _check(_date_like, "field_type_invalid"),
                _check(_birth_date_ok, "birth_date_invalid"),
            ],
            nullable=True,
        ),
        "updated_at": pa.Column(
            object,
            checks=[
                _check(_date_like, "field_type_invalid"),
                _check(_updated_at_ok, "updated_at_invalid"),
            ],
            nullable=True,
        ),
    }
    for name in LIST_FIELDS:
        if name != "emails":
            columns[name] = pa.Column(
                object, checks=[_check(_list_of_text, "field_type_invalid")], nullable=True
            )
    for name in _TEXT_FIELDS:
        if name not in columns:
            columns[name] = pa.Column(
                object, checks=[_check(_text_or_missing, "field_type_invalid")], nullable=True
            )
    return pa.DataFrameSchema(columns, coerce=False, strict=False, name="canonical customer")


_FIELDS = (*SCALAR_FIELDS, *LIST_FIELDS, "addresses", "extras")


def _canonical_frame(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame,
) -> tuple[pd.DataFrame, list[tuple[int, object]]]:
    """(frame of the mapping records with their batch position as index, non-mapping records)."""
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
        data = {
            name: (
                frame[name].astype(object)
                if name in frame.columns
                else pd.Series(None, index=frame.index, dtype=object)
            )
            for name in _FIELDS
        }
        return pd.DataFrame(data, index=frame.index), []
    rows = records if isinstance(records, list) else list(records)
    good = [i for i, r in enumerate(rows) if isinstance(r, Mapping)]
    bad = (
        [(i, rows[i]) for i in range(len(rows)) if not isinstance(rows[i], Mapping)]
        if len(good) != len(rows)
        else []
    )
    picked = rows if not bad else [rows[i] for i in good]
    index = pd.RangeIndex(len(rows)) if not bad else pd.Index(good)
    data = {
        name: pd.Series(
            object_array([r.get(name) for r in picked], len(picked)), index=index, dtype=object
        )
        for name in _FIELDS
    }
    return pd.DataFrame(data, index=index), bad


def validate_canonical(records: Iterable[Mapping[str, Any]] | pd.DataFrame) -> ValidationResult:
    """Validate a batch of canonical customers; never raises on bad records.

    Returns a :class:`ValidationResult`: ``valid_mask[i]`` is False for record ``i`` when it
    has a quarantine-severity issue; ``issues`` lists every problem with its batch position.
    """
    frame, not_mappings = _canonical_frame(records)
    total = len(frame) + len(not_mappings)
    parts: list[pd.DataFrame] = []
    if not_mappings:
        parts.append(
            _issue_rows(
                np.array([p for p, _ in not_mappings], dtype=np.intp),
                object_array((None for _ in not_mappings), len(not_mappings)),
                "*", "record_not_mapping",
                object_array((type(v).__name__ for _, v in not_mappings), len(not_mappings)),
            )
        )  # fmt: skip
    try:
        canonical_schema().validate(frame, lazy=True)
    except SchemaErrors as errors:
        parts.append(_from_failures(errors.failure_cases, frame))
    issues = pd.concat(parts, ignore_index=True) if parts else _empty()
    issues = issues.sort_values(["position", "code"], kind="stable").reset_index(drop=True)
    valid = np.ones(total, dtype=bool)
    hard = issues["severity"] == "quarantine"
    valid[issues.loc[hard, "position"].to_numpy(dtype=np.intp)] = False
    return ValidationResult(valid_mask=valid, issues=issues)


def _from_failures(failures: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    broken = failures[failures["index"].isna()]
    if len(broken):  # a check crashed instead of answering: a bug here, never bad data
        first = broken.iloc[0]
        raise RuntimeError(
            f"validation check {first['check']} on column {first['column']} failed to run:"
            f" {first['failure_case']}"
        )
    positions = failures["index"].to_numpy(dtype=np.intp)
    record_ids = frame["record_id"].reindex(positions).to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "position": positions,
            "record_id": _objects(v if isinstance(v, str) else None for v in record_ids),
            "field": _objects(failures["column"].tolist()),
            "code": _objects(failures["check"].tolist()),
            "value": _objects(_show(v) for v in failures["failure_case"].tolist()),
        }
    )
    out["severity"] = _objects(severity(c) for c in out["code"])
    out["message"] = _objects(
        ISSUE_CODES[c].meaning if c in ISSUE_CODES else c for c in out["code"]
    )
    return out.loc[:, list(VALIDATION_ISSUE_COLUMNS)]


def _objects(values: Iterable[Any]) -> pd.Series:
    items = list(values)
    return pd.Series(object_array(items, len(items)), dtype=object)


def _issue_rows(
    positions: np.ndarray[Any, Any],
    record_ids: ObjectArray,
    field: str,
    code: str,
    values: ObjectArray,
) -> pd.DataFrame:
    n = len(positions)
    return pd.DataFrame(
        {
            "position": positions,
            "record_id": pd.Series(record_ids, dtype=object),
            "field": pd.Series([field] * n, dtype=object),
            "code": pd.Series([code] * n, dtype=object),
            "severity": pd.Series([severity(code)] * n, dtype=object),
            "message": pd.Series([ISSUE_CODES[code].meaning] * n, dtype=object),
            "value": pd.Series(values, dtype=object),
        }
    )


def _show(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series([], dtype=np.intp if c == "position" else object)
            for c in VALIDATION_ISSUE_COLUMNS
        }
    )


__all__ = ["VALID_KINDS", "ValidationResult", "canonical_schema", "validate_canonical"]
