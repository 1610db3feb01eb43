"""normalize_records / normalize_chunks: chunks on several cores give normalize_frame(all)."""

from __future__ import annotations

import random
import threading
from typing import Any

import pandas as pd
import pytest

from crmhub.synthetic import generate_records, split_sources
from crmhub_dedupe.normalize import (
    NormalizeInputError,
    normalize_chunks,
    normalize_frame,
    normalize_records,
    resolve_workers,
)
from crmhub_dedupe.normalize.chunked import (
    MAX_AUTO_WORKERS,
    MIN_RECORDS_FOR_WORKERS,
    available_cpus,
    chunk_size,
)

SEED = 7


def _odd(k: int) -> dict[str, Any]:
    """A record that raises one of the issue codes synthetic data rarely or never has."""
    kinds: list[dict[str, Any]] = [
        {"kind": "robot", "given_name": "Ann", "family_name": "Smit"},  # kind_invalid
        {"given_name": "Bob", "family_name": "Jones", "updated_at": "yesterday"},
        {"given_name": {"x": 1}, "family_name": ["not", "text"]},  # field_type_invalid x2
        {"emails": [3.5], "phones": [{"n": 1}], "family_name": "Kaur"},  # list type problems
        {"addresses": "Dorpsstraat 1", "family_name": "Visser"},  # addresses not a list
        {"addresses": [{"city": ["Delft"], "postal_code": object(), "country": "Atlantis"}]},
        {"source": "x"},  # no matching field at all
        {"tax_ids": ["NL000000000B00"], "family_name": "Bakker", "birth_date": "31-02-1990"},
        {"extras": {"vip": ["yes"]}, "given_name": "Eva", "family_name": "de Vries"},
        {"emails": ["nope"], "phones": ["12"], "addresses": [{"postal_code": "ABCDEFG",
                                                              "country": "NL"}]},
    ]  # fmt: skip
    rec: dict[str, Any] = {"record_id": f"odd-{k}", "source": "odd"}
    rec.update(kinds[k % len(kinds)])
    return rec


def _records(n: int) -> list[dict[str, Any]]:
    data = generate_records(n, seed=SEED, garbage_share=0.15)
    records = [r for recs in split_sources(data, seed=SEED).values() for r in recs]
    rnd = random.Random(SEED)
    # odd records spread over every chunk, some chunks with several, one with none between
    for k, position in enumerate(sorted(rnd.sample(range(len(records) // 2), 24))):
        records.insert(position, _odd(k))
    return records


RECORDS = _records(3000)


@pytest.mark.parametrize(
    ("workers", "chunk_records"), [(2, 700), (3, 500), (2, 100_000), (4, 1000)]
)
def test_chunks_give_exactly_the_frame_and_issues_of_all_records(
    workers: int, chunk_records: int
) -> None:
    expected = normalize_frame(RECORDS, extra_fields=["vip"], default_country="NL")
    got = normalize_records(
        RECORDS,
        workers=workers,
        chunk_records=chunk_records,
        extra_fields=["vip"],
        default_country="NL",
    )
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    pd.testing.assert_frame_equal(got.issues, expected.issues)
    # every issue code the normalizer raises is in the data, in more than one chunk
    codes = set(expected.issues["code"])
    assert {
        "kind_invalid", "country_unknown", "email_invalid", "phone_invalid", "taxid_invalid",
        "postcode_invalid", "birth_date_invalid", "updated_at_invalid", "field_type_invalid",
        "no_matching_fields",
    } <= codes  # fmt: skip
    assert expected.issues["field"][expected.issues["code"] == "field_type_invalid"].nunique() >= 8
    assert (got.frame["flags"].map(len) > 0).sum() > 100


def test_a_dataframe_and_the_one_process_path_give_the_same() -> None:
    table = pd.DataFrame(RECORDS[:2000])
    expected = normalize_frame(table)
    for workers in (1, 2):
        got = normalize_records(table, workers=workers, chunk_records=600)
        pd.testing.assert_frame_equal(got.frame, expected.frame)
        pd.testing.assert_frame_equal(got.issues, expected.issues)


def test_chunks_read_one_by_one_give_the_same_frame() -> None:
    expected = normalize_frame(RECORDS)
    chunks = (RECORDS[k : k + 800] for k in range(0, len(RECORDS), 800))
    got = normalize_chunks(chunks, workers=2)
    pd.testing.assert_frame_equal(got.frame, expected.frame)
    pd.testing.assert_frame_equal(got.issues, expected.issues)
    one = normalize_chunks(iter([RECORDS[:500]]))  # auto, one chunk: in this process
    pd.testing.assert_frame_equal(one.frame, normalize_frame(RECORDS[:500]).frame)


def _error(call: Any) -> NormalizeInputError:
    with pytest.raises(NormalizeInputError) as info:
        call()
    return info.value


@pytest.mark.parametrize(
    "spoil",
    [
        lambda rs: rs.__setitem__(1900, {**rs[1900], "record_id": rs[300]["record_id"]}),
        lambda rs: rs.__setitem__(2500, {**rs[2500], "record_id": None}),
        lambda rs: rs.__setitem__(1234, "not a record"),
    ],
    ids=["id in two chunks", "no id", "not a mapping"],
)
def test_errors_are_the_ones_normalize_frame_of_all_records_raises(spoil: Any) -> None:
    records = list(RECORDS)
    spoil(records)
    expected = _error(lambda: normalize_frame(records))
    got = _error(lambda: normalize_records(records, workers=2, chunk_records=700))
    assert str(got) == str(expected)
    assert got.positions == expected.positions


def test_chunks_read_one_by_one_name_the_record_of_an_error() -> None:
    records = list(RECORDS[:2000])
    records[1500] = {**records[1500], "record_id": ""}
    error = _error(
        lambda: normalize_chunks((records[k : k + 600] for k in range(0, 2000, 600)), workers=2)
    )
    assert error.positions == [1500]
    assert "chunk 3 (records 1,200 on)" in str(error)
    duplicated = list(RECORDS[:2000])
    duplicated[1700] = {**duplicated[1700], "record_id": duplicated[10]["record_id"]}
    error = _error(
        lambda: normalize_chunks((duplicated[k : k + 600] for k in range(0, 2000, 600)), workers=2)
    )
    assert error.positions == [10, 1700]
    assert repr(duplicated[10]["record_id"]) in str(error)


def test_auto_uses_the_available_cpus_capped_and_one_process_for_small_inputs() -> None:
    assert resolve_workers("auto", MIN_RECORDS_FOR_WORKERS - 1) == 1
    many = max(1, min(MAX_AUTO_WORKERS, available_cpus()))
    assert resolve_workers("auto", 10**6) == (many if threading.active_count() == 1 else 1)
    assert resolve_workers(3, 10) == 3
    for bad in (0, -2, "many", 1.5, True):
        with pytest.raises(ValueError, match="'auto' or a whole number"):
            resolve_workers(bad)  # type: ignore[arg-type]
    assert chunk_size(1_000_000, 2) == 100_000
    assert chunk_size(150_000, 2) == 75_000
    assert chunk_size(3000, 1) == 3000


def test_auto_is_one_process_beside_other_threads() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert resolve_workers("auto", 10**6) == 1
        assert resolve_workers(2, 10**6) == 2  # a number is taken as given (a pool of workers)
    finally:
        stop.set()
        thread.join()
