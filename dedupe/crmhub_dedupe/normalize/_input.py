"""Turn a batch (list of canonical dicts, or a DataFrame) into raw column arrays.

Only cheap, column-at-a-time Python here: list comprehensions over the records, one per
field, and ``pandas.Series.explode`` for the multi-valued fields. Values are not touched
except that non-text scalars are set aside as type problems.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmhub_dedupe.normalize.errors import NormalizeInputError

SCALAR_FIELDS = (
    "record_id", "source", "updated_at", "kind", "given_name", "family_name", "name_particle",
    "name_prefix", "name_suffix", "full_name", "organization_name", "legal_form", "birth_date",
)  # fmt: skip
LIST_FIELDS = ("emails", "phones", "tax_ids")
ADDRESS_FIELDS = ("street", "house_number", "postal_code", "city", "country")
_READ_FIELDS = (*SCALAR_FIELDS, *LIST_FIELDS, "addresses", "extras")
# columns whose readers deal with NaN-like cells themselves (see _none_for_missing)
_LIST_LIKE = frozenset({*LIST_FIELDS, "extras"})

ObjectArray = np.ndarray[Any, np.dtype[np.object_]]


@dataclass
class RawColumns:
    """The batch as aligned object arrays (row i = record i)."""

    n: int
    scalars: dict[str, ObjectArray]
    lists: dict[str, tuple[np.ndarray[Any, np.dtype[np.intp]], ObjectArray]]
    """field -> (row index of each value, the values), in row order."""
    address: dict[str, ObjectArray]
    extras: dict[str, ObjectArray]
    type_problems: list[tuple[int, str, object]] = field(default_factory=list)
    """(row, field, value) of values with a wrong type; they are treated as missing."""


def object_array(values: Iterable[Any], n: int) -> ObjectArray:
    """An object array of ``n`` values that never turns nested lists into extra dimensions."""
    items = values if isinstance(values, list) else list(values)
    if len(items) != n:
        raise ValueError(f"expected {n} values, got {len(items)}")
    # fromiter never looks inside the items (np.array would try to nest lists of lists)
    array: ObjectArray = np.fromiter(items, dtype=object, count=n)
    return array


# Types whose values are never NaN-like (pd.isna is False for every one of them).
_NEVER_NA_TYPES = frozenset({str, list, dict})
_NONE_ADDRESS = id(None)
# pandas fills the cells of keys a record lacks with this very object
_NAN_ADDRESS = id(np.nan)


def _none_for_missing(values: ObjectArray, *, scalar: bool = True) -> bool:
    """Set the missing cells (None, NaN, NA, NaT) of a 1-d column to None, in place.

    Returns True when every other cell is a str. Cells that are None or pandas' own NaN
    (a key the record lacks) are found by their address; when the rest are all str, lists
    or dicts nothing else can be missing, and the costly ``pd.isna`` (type checks on every
    cell) is skipped. Anything else takes ``pd.isna``.

    ``scalar=False`` (list fields, extras): only None and pandas' NaN are set; their readers
    take any other NaN-like cell for missing themselves (a list field that is not all lists
    goes through ``Series.explode`` and ``notna``; extras are read only from mappings).
    """
    addresses = np.frombuffer(values, dtype=np.uintp)
    missing = (addresses == _NONE_ADDRESS) | (addresses == _NAN_ADDRESS)
    if not scalar:
        values[missing] = None
        return False
    types = set(map(type, values[~missing].tolist()))
    if types <= _NEVER_NA_TYPES:
        values[missing] = None
        return types <= {str}
    values[pd.isna(values)] = None
    return False


def _text_or_problem(
    array: ObjectArray,
    name: str,
    problems: list[tuple[int, str, object]],
    all_text: bool = False,
) -> ObjectArray:
    """Keep str and None; numbers become text; anything else is a type problem (-> None).

    ``all_text``: the caller knows every cell is a str or None.
    """
    if all_text:
        return array
    kind = pd.api.types.infer_dtype(array, skipna=True)
    if kind in ("string", "empty"):
        return array
    out = array.copy()
    for index, value in enumerate(array):
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, float):
            out[index] = (
                None if value != value else (str(int(value)) if value.is_integer() else str(value))
            )
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            out[index] = str(value)
        elif name in ("birth_date", "updated_at") and hasattr(value, "isoformat"):
            out[index] = value  # date/datetime objects are understood downstream
        else:
            problems.append((index, name, value))
            out[index] = None
    return out


def _explode(
    column: ObjectArray,
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], ObjectArray, bool]:
    """(row of each value, the values, whether all are str) of a column of lists, missing
    values left out."""
    items = column.tolist()
    shapes = set(map(type, items))
    if not shapes <= {list, type(None)}:  # tuples, arrays, scalars: pandas knows every shape
        series = pd.Series(column, dtype=object).explode()
        series = series[series.notna()]
        rows = series.index.to_numpy(dtype=np.intp)
        return rows, series.to_numpy(dtype=object, copy=True), False
    if type(None) in shapes:
        lengths = np.array([len(v) if v is not None else 0 for v in items], dtype=np.intp)
        flat = list(itertools.chain.from_iterable(filter(None, items)))
    else:
        # a list of lengths first: np.fromiter straight from map() is slower
        lengths = np.array(list(map(len, items)), dtype=np.intp)
        flat = list(itertools.chain.from_iterable(items))
    rows = np.repeat(np.arange(len(items), dtype=np.intp), lengths)
    values = object_array(flat, len(rows))
    # all text (the usual case) means nothing is missing; pd.isna would type-check every cell
    all_text = pd.api.types.infer_dtype(values, skipna=False) == "string"
    if not all_text:
        present = ~pd.isna(values)
        if not present.all():
            rows, values = rows[present], values[present]
    return rows, values, all_text


def _flatten(
    column: ObjectArray, name: str, problems: list[tuple[int, str, object]]
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], ObjectArray]:
    rows, values, all_text = _explode(column)
    if not all_text and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        keep = np.ones(len(values), dtype=bool)
        for index, value in enumerate(values):
            if isinstance(value, str):
                continue
            if (
                isinstance(value, int | np.integer)
                and not isinstance(value, bool)
                and name != "emails"
            ):
                values[index] = str(value)
            else:
                problems.append((int(rows[index]), name, value))
                keep[index] = False
        rows, values = rows[keep], values[keep]
    # "a@x.nl; b@y.nl" in one cell: split on ; | and (for emails) on commas
    separators = (";", "|", ",") if name == "emails" else (";", "|")
    texts = values.tolist()
    # one search through all values at once; per value only when a separator occurs at all
    joined = "\n".join(texts)
    if any(sep in joined for sep in separators):
        if name == "emails":
            flags = [";" in v or "|" in v or "," in v for v in texts]
        else:
            flags = [";" in v or "|" in v for v in texts]
        multi = np.array(flags, dtype=bool)
    else:
        multi = np.zeros(len(texts), dtype=bool)
    if multi.any():
        new_rows: list[int] = []
        new_values: list[str] = []
        for row, value, split in zip(rows, values, multi, strict=True):
            if not split:
                new_rows.append(int(row))
                new_values.append(value)
                continue
            text = value
            for sep in separators[1:]:
                text = text.replace(sep, separators[0])
            for part in text.split(separators[0]):
                if part.strip():
                    new_rows.append(int(row))
                    new_values.append(part.strip())
        rows = np.asarray(new_rows, dtype=np.intp)
        values = object_array(new_values, len(new_values))
    return rows, values


def _first_address(column: ObjectArray, problems: list[tuple[int, str, object]]) -> ObjectArray:
    def first(index: int, value: object) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if isinstance(value, Mapping):
            return value
        if isinstance(value, list | tuple | np.ndarray):
            if len(value) == 0:
                return None
            head = value[0]
            if isinstance(head, Mapping):
                return head
        if isinstance(value, float) and value != value:
            return None
        problems.append((index, "addresses", value))
        return None

    # the common shapes in one comprehension; anything else through first()
    dict_type = dict
    heads = [
        v[0] if type(v) is list and v and type(v[0]) is dict_type else (None if v is None else v)
        for v in column.tolist()
    ]
    out = object_array(heads, len(heads))
    # one pass over the types first: usually there is nothing odd to look for
    odd = []
    if not set(map(type, heads)) <= {dict_type, type(None)}:
        odd = [i for i, v in enumerate(heads) if v is not None and type(v) is not dict_type]
    for index in odd:
        out[index] = first(index, column[index])
    return out


def read_batch(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame, extra_fields: Sequence[str]
) -> RawColumns:
    """Columns of the batch; raises :class:`NormalizeInputError` for non-mapping records."""
    problems: list[tuple[int, str, object]] = []
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
        n = len(frame)

        def column(name: str) -> tuple[ObjectArray, bool]:
            if name in frame.columns:
                values = frame[name].to_numpy(dtype=object, copy=True)
                # NaN/NA/NaT of a DataFrame cell is missing
                return values, _none_for_missing(values, scalar=name not in _LIST_LIKE)
            return np.full(n, None, dtype=object), True

        extras_column = column("extras")[0]
        addresses = column("addresses")[0]
    else:
        rows = records if isinstance(records, list) else list(records)
        n = len(rows)
        dict_type = dict
        odd = []
        if set(map(type, rows)) != {dict_type}:
            odd = [i for i, record in enumerate(rows) if type(record) is not dict_type]
        bad = [i for i in odd if not isinstance(rows[i], Mapping)]
        if bad:
            shown = ", ".join(f"#{i} ({type(rows[i]).__name__})" for i in bad[:5])
            raise NormalizeInputError(
                f"{len(bad)} record(s) of the batch are not mappings of canonical fields:"
                f" {shown}; run validate_canonical first and quarantine its failures",
                positions=bad,
            )
        if odd or not n:

            def column(name: str) -> tuple[ObjectArray, bool]:
                return object_array([record.get(name) for record in rows], n), False

        else:
            # Plain dicts: pandas reads every field of every record in one C loop (a third
            # of the time of one comprehension per field); object dtype leaves values as
            # they are, and a missing key (NaN) is missing like None.
            table = pd.DataFrame(rows, columns=list(_READ_FIELDS), dtype=object).to_numpy()
            positions = {name: k for k, name in enumerate(_READ_FIELDS)}

            def column(name: str) -> tuple[ObjectArray, bool]:
                values: ObjectArray = table[:, positions[name]].copy()
                return values, _none_for_missing(values, scalar=name not in _LIST_LIKE)

        extras_column = column("extras")[0]
        addresses = column("addresses")[0]

    scalars = {}
    for name in SCALAR_FIELDS:
        values, all_text = column(name)
        scalars[name] = _text_or_problem(values, name, problems, all_text)
    lists = {name: _flatten(column(name)[0], name, problems) for name in LIST_FIELDS}
    first = _first_address(addresses, problems)  # a mapping or None in every cell
    present = np.flatnonzero(np.frombuffer(first, dtype=np.uintp) != _NONE_ADDRESS)
    present_addresses = first[present].tolist()
    found: dict[str, tuple[ObjectArray, bool]]
    if present_addresses and set(map(type, present_addresses)) == {dict}:
        # every field of every address in one C loop, as for the records
        frame = pd.DataFrame(present_addresses, columns=list(ADDRESS_FIELDS), dtype=object)
        parts = frame.to_numpy()
        found = {}
        for k, name in enumerate(ADDRESS_FIELDS):
            part: ObjectArray = parts[:, k].copy()
            found[name] = part, _none_for_missing(part)
    else:
        found = {
            name: (object_array([a.get(name) for a in present_addresses], len(present)), False)
            for name in ADDRESS_FIELDS
        }
    address: dict[str, ObjectArray] = {}
    for name in ADDRESS_FIELDS:
        values = np.full(n, None, dtype=object)
        part, all_text = found[name]
        if len(present):
            values[present] = part
        address[name] = _text_or_problem(values, f"addresses.{name}", problems, all_text)
    extras: dict[str, ObjectArray] = {}
    for name in extra_fields:
        values = object_array(
            (e.get(name) if isinstance(e, Mapping) else None for e in extras_column), n
        )
        extras[name] = _text_or_problem(values, f"extras.{name}", problems)
    return RawColumns(n, scalars, lists, address, extras, problems)
