"""normalize_frame: the column contract, issues and flags, list and DataFrame input, bad input."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmhub_dedupe.normalize import (
    FRAME_COLUMNS,
    ISSUE_CODES,
    TUPLE_COLUMNS,
    NormalizeInputError,
    normalize_frame,
    normalize_phone,
)


def _record(record_id: str, **fields: Any) -> dict[str, Any]:
    return {"record_id": record_id, "source": "test", **fields}


@pytest.fixture(scope="module")
def batch() -> list[dict[str, Any]]:
    return [
        _record(
            "nl-1", given_name="Jan", family_name="van den Berg",
            emails=["Jan@Example.nl", "bad@", "jan@example.nl"], phones=["06 12345678"],
            addresses=[{"street": "Kalverstr. 12a", "postal_code": "1012 ab",
                        "city": "Amsterdam", "country": "Nederland"}],
            birth_date="31-12-1980", tax_ids=["NL000123456B01", "junk"],
            updated_at="2026-01-02T03:04:05Z",
        ),
        _record(
            "in-1", full_name="राहुल शर्मा", phones=["098765 43210"],
            addresses=[{"country": "भारत", "postal_code": "110 001", "city": "Mumbai"}],
        ),
        _record(
            "in-2", given_name="Rahul", family_name="Sharma", phones=["+91 98765 43210"],
            addresses=[{"country": "India", "postal_code": "110001", "city": "मुंबई"}],
        ),
        _record(
            "de-1", organization_name="Müller GmbH & Co. KG",
            addresses=[{"street": "Hauptstr. 5", "country": "DE", "postal_code": 1067.0}],
            tax_ids=["DE 136695976"], updated_at="yesterday",
        ),
        _record("empty-1"),
        _record(
            "junk-1", kind="alien", emails="n/a", phones=[12345, "call me"],
            birth_date="1980-02-30", addresses=[{"country": "Atlantis", "postal_code": "12345678901234"}],
            extras={"ssn": " 12-34 "}, tax_ids=["0"],
        ),
        _record("gb-1", full_name="Mr Bob Smith Jr.", emails=["BOB@smith.co.uk"],
                addresses=[{"street": "12 Baker St", "postal_code": "sw1a 1aa", "country": "UK"}]),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def result(batch: list[dict[str, Any]]) -> Any:
    return normalize_frame(batch, extra_fields=["ssn"])


def _row(result: Any, record_id: str) -> dict[str, Any]:
    frame = result.frame
    return dict(frame.loc[frame["record_id"] == record_id].iloc[0])


def test_columns_index_and_types(result: Any, batch: list[dict[str, Any]]) -> None:
    frame = result.frame
    assert list(frame.columns) == [*FRAME_COLUMNS, "x_ssn"]
    assert isinstance(frame.index, pd.RangeIndex) and list(frame.index) == list(range(len(batch)))
    assert list(frame["record_id"]) == [r["record_id"] for r in batch]
    assert all(dtype == np.dtype(object) for dtype in frame.dtypes)
    for column in TUPLE_COLUMNS:
        assert all(isinstance(value, tuple) for value in frame[column]), column
    for column in set(FRAME_COLUMNS) - set(TUPLE_COLUMNS):
        assert all(v is None or isinstance(v, str) for v in frame[column]), column


def test_dutch_person(result: Any) -> None:
    row = _row(result, "nl-1")
    assert (row["given"], row["given_raw"], row["particle"], row["family"]) == (
        "johannes", "jan", "van den", "berg"
    )  # fmt: skip
    assert row["email"] == "jan@example.nl" and row["emails"] == ("jan@example.nl",)
    assert row["phone"] == "+31612345678"
    assert (row["street"], row["house_number"], row["postcode"], row["city"], row["country"]) == (
        "kalverstraat", "12a", "1012AB", "amsterdam", "NL"
    )  # fmt: skip
    assert row["birth_date"] == "1980-12-31"
    assert row["tax_id"] == "NL000123456B01" and row["tax_ids"] == ("NL000123456B01",)
    assert row["flags"] == ("email_invalid", "taxid_invalid")
    assert row["updated_at"] == "2026-01-02T03:04:05Z"


def test_devanagari_and_latin_records_share_keys(result: Any) -> None:
    hindi, latin = _row(result, "in-1"), _row(result, "in-2")
    for column in ("given", "family", "full_name", "given_phonetic", "family_phonetic", "phone",
                   "postcode", "city", "country"):  # fmt: skip
        assert hindi[column] == latin[column], column
    assert latin["full_name"] == "rahul sharma" and latin["city"] == "mumbai"


def test_german_organization(result: Any) -> None:
    row = _row(result, "de-1")
    assert (row["kind"], row["org"], row["legal_form"]) == ("organization", "muller", "GMBH_CO_KG")
    assert (row["street"], row["house_number"], row["postcode"]) == ("hauptstrasse", "5", "01067")
    assert row["tax_id"] == "DE136695976"
    assert row["flags"] == ("updated_at_invalid",)


def test_english_person(result: Any) -> None:
    row = _row(result, "gb-1")
    assert (row["given"], row["given_raw"], row["family"]) == ("robert", "bob", "smith")
    assert (row["street"], row["house_number"], row["postcode"], row["country"]) == (
        "baker street", "12", "SW1A1AA", "GB"
    )  # fmt: skip
    assert row["email"] == "bob@smith.co.uk"


def test_empty_record_is_kept_and_flagged(result: Any) -> None:
    row = _row(result, "empty-1")
    assert row["flags"] == ("no_matching_fields",)
    assert row["kind"] == "person"


def test_garbage_is_kept_raw_in_issues_and_flagged(result: Any) -> None:
    row = _row(result, "junk-1")
    assert row["phone"] is None and row["phones"] == ()
    assert row["email"] is None  # "n/a" is missing, not invalid
    assert row["x_ssn"] == "12 34"
    assert set(row["flags"]) == {
        "kind_invalid", "country_unknown", "phone_invalid", "birth_date_invalid",
        "taxid_invalid", "postcode_invalid",
    }  # fmt: skip
    issues = result.issues[result.issues["record_id"] == "junk-1"]
    raw_phones = set(issues.loc[issues["code"] == "phone_invalid", "value"])
    assert raw_phones == {"12345", "call me"}
    assert "no_matching_fields" not in set(row["flags"])  # the extra field counts


def test_issues_table_shape_and_counts(result: Any) -> None:
    issues = result.issues
    assert list(issues.columns) == ["record_id", "field", "code", "message", "value"]
    assert set(issues["code"]) <= set(ISSUE_CODES)
    counts = result.counts_by_reason().set_index("code")
    assert counts.loc["phone_invalid", "issues"] == 2
    assert counts.loc["phone_invalid", "records"] == 1
    assert counts.loc["no_matching_fields", "severity"] == "flag"
    flagged = sum(len(f) for f in result.frame["flags"])
    assert flagged == issues.drop_duplicates(["record_id", "code"]).shape[0]


def test_dataframe_input_gives_the_same_frame(batch: list[dict[str, Any]], result: Any) -> None:
    frame_input = pd.DataFrame(batch)
    again = normalize_frame(frame_input, extra_fields=["ssn"])
    pd.testing.assert_frame_equal(again.frame, result.frame)


def test_other_mappings_and_sequences_read_like_plain_dicts_and_lists(
    batch: list[dict[str, Any]], result: Any
) -> None:
    # plain dicts and lists take a fast columnar read; anything else the general one
    def odd(record: dict[str, Any]) -> Any:
        fields = {
            k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k != "addresses"
        }
        if "addresses" in record:
            fields["addresses"] = [MappingProxyType(a) for a in record["addresses"]]
        return MappingProxyType(fields)

    again = normalize_frame([odd(r) for r in batch], extra_fields=["ssn"])
    pd.testing.assert_frame_equal(again.frame, result.frame)
    pd.testing.assert_frame_equal(again.issues, result.issues)


def test_missing_values_inside_lists_and_missing_keys_are_missing() -> None:
    records = [
        _record("a", emails=[None, "a@x.nl"], phones=None, addresses=[{"city": None}]),
        _record("b", emails=[], phones=[float("nan"), "+31 20 123 4567"]),
        {"record_id": "c", "source": "test", "given_name": float("nan"), "family_name": "Smit"},
    ]
    out = normalize_frame(records)
    assert out.frame["emails"].tolist() == [("a@x.nl",), (), ()]
    assert out.frame["phones"].tolist() == [(), ("+31201234567",), ()]
    assert out.frame["city"].tolist() == [None, None, None]
    assert out.frame.loc[2, "given"] is None and out.frame.loc[2, "family"] == "smit"
    assert out.issues.empty


def test_default_country_for_records_without_one() -> None:
    out = normalize_frame(
        [_record("a", phones=["020 123 4567"], addresses=[{"postal_code": "1234ab"}])],
        default_country="nl",
    ).frame
    assert out.loc[0, "phone"] == "+31201234567"
    assert out.loc[0, "postcode"] == "1234AB"
    assert out.loc[0, "country"] is None  # the record itself still has no country


def test_multi_valued_fields_written_as_one_string() -> None:
    out = normalize_frame(
        [_record("a", emails="a@x.nl; B@y.nl", phones="+31 6 12345678 | +31 20 123 4567")]
    ).frame
    assert out.loc[0, "emails"] == ("a@x.nl", "b@y.nl")
    assert out.loc[0, "phones"] == ("+31612345678", "+31201234567")


def test_wrong_types_are_reported_not_raised() -> None:
    records = [
        _record("a", given_name=["not", "text"], emails=[{"x": 1}], addresses="Main St 1",
                extras="x"),
        _record("b", family_name="Jansen"),
    ]  # fmt: skip
    result = normalize_frame(records)
    codes = result.issues.loc[result.issues["record_id"] == "a", "code"]
    assert set(codes) >= {"field_type_invalid"}
    assert result.frame.loc[1, "family"] == "jansen"


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ([_record("a"), "oops"], "not mappings"),
        ([_record("a"), {"source": "x"}], "no record_id"),
        ([_record("a"), _record("a")], "more than once"),
    ],
)
def test_contract_violations_raise_one_clear_error(records: list[Any], message: str) -> None:
    with pytest.raises(NormalizeInputError, match=message) as info:
        normalize_frame(records)
    assert info.value.positions


def test_empty_batch() -> None:
    result = normalize_frame([])
    assert result.frame.empty and list(result.frame.columns) == list(FRAME_COLUMNS)
    assert result.issues.empty


def test_person_name_written_only_in_full_name_of_an_organization_is_org() -> None:
    out = normalize_frame([_record("a", kind="organization", full_name="Jansen B.V.")]).frame
    assert (out.loc[0, "org"], out.loc[0, "legal_form"], out.loc[0, "family"]) == (
        "jansen",
        "BV",
        None,
    )


def test_many_repeated_values_are_normalized_once() -> None:
    records = [
        _record(f"r{i}", given_name="Jan", family_name="Müller", phones=["06 12345678"],
                addresses=[{"city": "Köln", "country": "DE"}])
        for i in range(2000)
    ]  # fmt: skip
    out = normalize_frame(records).frame
    assert set(out["family_alt"]) == {"mueller"} and set(out["city"]) == {"koln"}
    # the record's country is the default region: a German number here
    assert set(out["phone"]) == {normalize_phone("06 12345678", "DE")} == {"+49612345678"}
    assert np.all(out["phones"].map(len) == 1)


def test_phone_region_falls_back_to_the_email_country_then_00() -> None:
    records = [
        _record("a", emails=["jan@bakker.nl"], phones=["06-12345678"]),
        _record("b", emails=["raj@firm.co.in"], phones=["98765 43210"]),
        _record("c", phones=["0049 151 22046053"]),  # no country anywhere: 00 is international
        _record("d", emails=["x@example.com"], phones=["06-12345678"]),  # no hint: invalid
    ]
    out = normalize_frame(records)
    assert list(out.frame["phone"]) == ["+31612345678", "+919876543210", "+4915122046053", None]
    assert list(out.frame["country"]) == [None, None, None, None]  # hints are not addresses
    assert list(out.issues["record_id"]) == ["d"]


@pytest.mark.parametrize("as_frame", [False, True])
def test_every_form_of_missing_is_missing(as_frame: bool) -> None:
    # None and absent keys are found by identity, anything else NaN-like by pd.isna:
    # a NaN that is not numpy's own object, pandas' NA and NaT must be missing all the same
    own_nan = float("nan")
    records = [
        _record("a", given_name=pd.NA, family_name="Smit", phones=[own_nan, "+31 20 123 4567"],
                addresses=[{"city": own_nan, "postal_code": pd.NA, "country": "NL"}]),
        _record("b", given_name=own_nan, family_name=None, birth_date=pd.NaT,
                emails=["b@x.nl", None], addresses=[{"street": None, "city": "Delft"}]),
        {"record_id": "c", "source": "test", "family_name": "Jansen", "updated_at": np.nan},
    ]  # fmt: skip
    out = normalize_frame(pd.DataFrame(records) if as_frame else records)
    frame = out.frame
    assert frame["given"].tolist() == [None, None, None]
    assert frame["family"].tolist() == ["smit", None, "jansen"]
    assert frame["phones"].tolist() == [("+31201234567",), (), ()]
    assert frame["emails"].tolist() == [(), ("b@x.nl",), ()]
    assert frame["city"].tolist() == [None, "delft", None]
    assert frame["postcode"].tolist() == [None, None, None]
    assert frame["birth_date"].tolist() == [None, None, None]
    assert frame["updated_at"].tolist() == [None, None, None]
    assert out.issues.empty


def test_present_is_the_inverse_of_isna_for_builder_arrays() -> None:
    from crmhub_dedupe.normalize.frame import _present

    values = np.empty(7, dtype=object)
    values[:] = ["a", None, "", ("x",), None, "n/a", ()]
    assert _present(values).tolist() == (~pd.isna(values)).tolist()
    assert _present(values[::2]).tolist() == (~pd.isna(values[::2])).tolist()
    assert _present(np.empty(0, dtype=object)).tolist() == []


def test_flags_name_each_records_issue_codes_once_in_issue_order() -> None:
    records = [
        _record("a", given_name=["not", "text"], emails=["bad@", "worse@"], phones=["123"],
                birth_date="1980-02-30", addresses=[{"country": "Atlantis"}]),
        _record("b", family_name="Jansen", emails=["b@x.nl"]),
        _record("c"),
        _record("d", tax_ids=["0"], updated_at="yesterday", addresses="Main St 1"),
    ]  # fmt: skip
    out = normalize_frame(records)
    for row, record_id in enumerate(out.frame["record_id"]):
        codes = out.issues.loc[out.issues["record_id"] == record_id, "code"].tolist()
        assert out.frame.loc[row, "flags"] == tuple(dict.fromkeys(codes)), record_id
    assert set(out.frame.loc[0, "flags"]) == {
        "field_type_invalid", "email_invalid", "phone_invalid", "birth_date_invalid",
        "country_unknown", "no_matching_fields",
    }  # fmt: skip
    assert out.frame.loc[1, "flags"] == ()
    assert out.frame.loc[2, "flags"] == ("no_matching_fields",)
