"""Build the normalized frame the block/compare/score stages work on.

Everything is column-at-a-time: each raw column is factorized, each DISTINCT value is
normalized once (names, cities, postcodes and countries repeat a lot), and the results are
spread back with numpy indexing. See docs/matching/normalize.md for the column contract.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmhub_dedupe.normalize._input import ObjectArray, RawColumns, object_array, read_batch
from crmhub_dedupe.normalize.addresses import (
    expand_street,
    normalize_house_number,
    split_house_number,
)
from crmhub_dedupe.normalize.countries import country_to_iso
from crmhub_dedupe.normalize.dates import iso_timestamps_valid, normalize_birth_date
from crmhub_dedupe.normalize.emails import normalize_emails
from crmhub_dedupe.normalize.errors import NormalizeInputError
from crmhub_dedupe.normalize.issues import count_by_reason, empty_issues, issues_frame
from crmhub_dedupe.normalize.names import (
    _parse_family,
    _parse_full,
    _parse_given,
    _particles,
    canonical_family,
    given_keys,
    phonetic,
)
from crmhub_dedupe.normalize.organizations import strip_legal_form
from crmhub_dedupe.normalize.phones import normalize_phones
from crmhub_dedupe.normalize.postcodes import postcode_checks
from crmhub_dedupe.normalize.taxids import normalize_tax_id
from crmhub_dedupe.normalize.text import fold

# The columns of NormalizedFrame.frame, in order (extra x_<name> columns follow).
FRAME_COLUMNS = (
    "record_id", "source", "updated_at", "kind",
    "given", "given_raw", "given_initial", "family", "family_alt", "particle", "initials",
    "full_name", "given_phonetic", "family_phonetic",
    "org", "legal_form",
    "email", "emails", "phone", "phones",
    "street", "house_number", "postcode", "city", "country",
    "birth_date", "tax_id", "tax_ids",
    "flags",
)  # fmt: skip
TUPLE_COLUMNS = ("emails", "phones", "tax_ids", "flags")
# A record with none of these is flagged no_matching_fields (x_<extra> columns count too).
MATCHING_COLUMNS = (
    "given", "family", "org", "email", "phone", "street", "postcode", "birth_date", "tax_id",
)  # fmt: skip

_EMPTY: tuple[str, ...] = ()
# a 0-d object array holding (): assigning it fills cells with () instead of broadcasting it
_EMPTY_CELL = np.empty((), dtype=object)
_EMPTY_CELL[()] = _EMPTY


@dataclass(frozen=True)
class NormalizedFrame:
    """The normalize stage's output: one row per record, and the problems it found."""

    frame: pd.DataFrame
    """One row per input record, RangeIndex 0..n-1, columns :data:`FRAME_COLUMNS` + x_<extra>."""
    issues: pd.DataFrame
    """record_id, field, code, message, value: one row per problem (see ``issues.ISSUE_CODES``)."""

    def counts_by_reason(self) -> pd.DataFrame:
        """Issue counts per reason code (code, severity, records, issues)."""
        return count_by_reason(self.issues)


def _distinct(
    values: ObjectArray, func: Callable[[Any], Any]
) -> tuple[np.ndarray[Any, Any], list[Any]]:
    """(codes, results per distinct value); code -1 for missing values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, [func(u) for u in uniques]


def _take(codes: np.ndarray[Any, Any], results: Sequence[Any]) -> ObjectArray:
    table = np.empty(len(results) + 1, dtype=object)
    # fromiter keeps tuple results as cells (assigning the list would unpack them)
    table[:-1] = np.fromiter(results, dtype=object, count=len(results))
    table[-1] = None
    taken: ObjectArray = table[codes]
    return taken


def _map(values: ObjectArray, func: Callable[[Any], Any]) -> ObjectArray:
    codes, results = _distinct(values, func)
    return _take(codes, results)


def _distinct2(
    values: ObjectArray,
    context: ObjectArray,
    func: Callable[[Any, Any], Any],
) -> tuple[np.ndarray[Any, Any], list[Any]]:
    """Like :func:`_distinct` for (value, context) pairs, e.g. (tax id, country); -1 = missing."""
    value_codes, value_uniques = pd.factorize(values, use_na_sentinel=True)
    context_codes, context_uniques = pd.factorize(context, use_na_sentinel=True)
    combined = value_codes.astype(np.int64) * (len(context_uniques) + 1) + (context_codes + 1)
    combined[value_codes < 0] = -1
    codes, pair_uniques = pd.factorize(combined, use_na_sentinel=False)
    present = pair_uniques >= 0
    # missing values point at an extra None slot at the end of the value table
    value_of = np.where(present, pair_uniques // (len(context_uniques) + 1), len(value_uniques))
    context_of = np.where(present, pair_uniques % (len(context_uniques) + 1), 0)
    contexts = np.empty(len(context_uniques) + 1, dtype=object)
    contexts[0] = None
    contexts[1:] = context_uniques
    value_table = np.empty(len(value_uniques) + 1, dtype=object)
    value_table[:-1] = value_uniques
    pair_values = value_table[value_of]
    pair_contexts = contexts[context_of]
    results = [
        func(v, c) for v, c in zip(pair_values.tolist(), pair_contexts.tolist(), strict=True)
    ]
    for index in np.flatnonzero(~present).tolist():
        results[index] = None
    missing = np.flatnonzero(pair_uniques == -1)
    if len(missing):  # keep the -1 convention for missing values
        codes = np.where(codes == missing[0], -1, codes)
    return codes, results


def _take_each(
    codes: np.ndarray[Any, Any], results: Sequence[Any], *indexes: int
) -> list[ObjectArray]:
    """One array per tuple position of the per-distinct results."""
    return [_take(codes, [r[i] if r is not None else None for r in results]) for i in indexes]


_NONE_ADDRESS = id(None)


def _present(values: ObjectArray) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """True where the cell is not None.

    Missing is always None in the builder's arrays (``read_batch`` turns NaN, NA and NaT
    into None, and the normalizers return None), so comparing the cells' object addresses
    with None's is enough. ``pd.isna`` dereferenced every cell for its type checks: on
    columns of distinct strings spread over the heap that was a cache miss per cell
    (18 ms for 100,000 phone numbers against 0.04 ms).
    """
    addresses = np.frombuffer(np.ascontiguousarray(values, dtype=object), dtype=np.uintp)
    present: np.ndarray[Any, np.dtype[np.bool_]] = addresses != _NONE_ADDRESS
    return present


class _Builder:
    def __init__(self, raw: RawColumns, default_country: str | None) -> None:
        self.raw = raw
        self.n = raw.n
        self.ids = raw.scalars["record_id"]
        self.default_country = default_country.upper() if default_country else None
        self.columns: dict[str, ObjectArray] = {}
        self.issue_parts: list[pd.DataFrame] = []
        # (rows, code) of every issue part, for the flags without looking record ids up again
        self.issue_rows: list[tuple[np.ndarray[Any, Any], str]] = []

    def issue(
        self, rows: np.ndarray[Any, Any], field: str, code: str, message: str, values: ObjectArray
    ) -> None:
        if len(rows):
            self.issue_parts.append(issues_frame(self.ids[rows], field, code, message, values))
            self.issue_rows.append((rows, code))

    # -- kind, names, organization ------------------------------------------------------
    def kind(self) -> ObjectArray:
        s = self.raw.scalars
        raw_kind = _map(s["kind"], lambda v: str(v).strip().lower() or None)
        has_person = _present(s["given_name"]) | _present(s["family_name"])
        has_org = _present(s["organization_name"])
        derived = np.where(has_org & ~has_person, "organization", "person").astype(object)
        valid = (raw_kind == "person") | (raw_kind == "organization")
        kind = np.where(valid, raw_kind, derived).astype(object)
        bad = np.flatnonzero(_present(raw_kind) & ~valid)
        self.issue(
            bad,
            "kind",
            "kind_invalid",
            "kind must be 'person' or 'organization'; derived from the name fields",
            s["kind"][bad],
        )
        return kind

    def names(self, kind: ObjectArray) -> None:
        s = self.raw.scalars
        person = kind == "person"
        g_codes, g_parsed = _distinct(s["given_name"], _parse_given)
        f_codes, f_parsed = _distinct(s["family_name"], _parse_family)
        given_raw = _take(g_codes, [g.key for g in g_parsed])
        given_particle = _take(g_codes, [g.particle for g in g_parsed])
        family = _take(f_codes, [f.key for f in f_parsed])
        family_alt = _take(f_codes, [f.alt for f in f_parsed])
        family_particle = _take(f_codes, [f.particle for f in f_parsed])
        full = s["full_name"]
        no_given, no_family = ~_present(given_raw), ~_present(family)
        needs_full = person & _present(full) & (no_given | no_family)
        rows = np.flatnonzero(needs_full)
        if len(rows):  # records with a one-field name (or half a structured one)
            p_codes, p_parsed = _distinct(full[rows], _parse_full)
            parsed = _take(p_codes, p_parsed)
            both = no_given[rows] & no_family[rows]
            for row, (pg, pf), whole in zip(rows.tolist(), parsed, both.tolist(), strict=True):
                if whole or no_given[row]:
                    given_raw[row], given_particle[row] = pg.key, pg.particle
                if whole or no_family[row]:
                    family[row], family_alt[row], family_particle[row] = pf.key, pf.alt, pf.particle
        family = _map(family, canonical_family)
        family_alt = _map(family_alt, canonical_family)
        particle_field = _map(s["name_particle"], _particle_key)
        self.columns["particle"] = _first_present(particle_field, family_particle, given_particle)
        k_codes, keys = _distinct(given_raw, given_keys)
        given, initial, initials, given_phonetic = _take_each(k_codes, keys, 0, 1, 2, 3)
        given_phonetic[given_phonetic == ""] = None
        self.columns["given"] = given
        self.columns["given_raw"] = given_raw
        self.columns["given_initial"] = initial
        self.columns["initials"] = initials
        self.columns["given_phonetic"] = given_phonetic
        self.columns["family"] = family
        family_alt[~_present(family)] = None
        self.columns["family_alt"] = family_alt
        self.columns["family_phonetic"] = _map(family, lambda v: phonetic(v) or None)
        self.columns["full_name"] = object_array(
            [f"{g} {f}" if g and f else (g or f) for g, f in zip(given_raw, family, strict=True)],
            self.n,
        )

    def organization(self, kind: ObjectArray) -> None:
        s = self.raw.scalars
        name = s["organization_name"].copy()
        # an organization written only in full_name
        use_full = (kind == "organization") & ~_present(name) & _present(s["full_name"])
        name[use_full] = s["full_name"][use_full]
        codes, keys = _distinct2(name, s["legal_form"], strip_legal_form)
        self.columns["org"], self.columns["legal_form"] = _take_each(codes, keys, 0, 1)

    # -- contact fields -------------------------------------------------------------------
    def country(self) -> ObjectArray:
        raw = self.raw.address["country"]
        iso = _map(raw, country_to_iso)
        bad = np.flatnonzero(_present(raw) & ~_present(iso) & _present(_map(raw, fold)))
        self.issue(
            bad,
            "addresses.country",
            "country_unknown",
            "not a known country name or ISO code",
            raw[bad],
        )
        self.columns["country"] = iso
        if self.default_country:
            return np.where(_present(iso), iso, self.default_country).astype(object)
        return iso

    def _multi(
        self,
        field: str,
        column: str,
        region: ObjectArray | None,
        code: str,
        message: str,
        *,
        func: Callable[[Any, Any], Any] | None = None,
        every_value: Callable[[list[Any], list[Any]], list[Any]] | None = None,
    ) -> None:
        """Normalize a list field: ``func`` per distinct (value, region) pair, or
        ``every_value`` once over all values and their regions.

        Emails and phones are nearly all distinct (a 100,000-record batch has ~92,000
        distinct emails): finding the distinct ones would cost more (pandas hashes every
        value) than it saves, so their batch normalizers take every value as it comes.
        """
        rows, values = self.raw.lists[field]
        context = region[rows] if region is not None else np.full(len(rows), None, dtype=object)
        if every_value is not None:
            normalized = object_array(every_value(values.tolist(), context.tolist()), len(rows))
        elif func is not None:
            normalized = _take(*_distinct2(values, context, func))
        else:
            raise TypeError("_multi needs func or every_value")
        ok = _present(normalized)
        if not ok.all():
            # values that fold to nothing ("", "-", "n/a") are missing, not invalid
            failed = np.flatnonzero(~ok)
            meaningful = _present(_map(values[failed], fold))
            bad = failed[meaningful]
            self.issue(rows[bad], field, code, message, values[bad])
        self.columns[column + "s"], self.columns[column] = _group_rows(
            rows[ok], normalized[ok], self.n
        )

    def contacts(self, region: ObjectArray) -> None:
        self._multi(
            "emails",
            "email",
            None,
            "email_invalid",
            "not a valid email address",
            every_value=lambda values, _: normalize_emails(values),
        )
        # A record without an address country: the ccTLD of its email is the best hint for
        # national phone numbers and unprefixed VAT numbers ("jan@bakker.nl" -> NL).
        missing = np.flatnonzero(~_present(region))
        if len(missing):
            region = region.copy()
            region[missing] = _map(self.columns["email"][missing], _email_country)
        self._multi(
            "phones",
            "phone",
            region,
            "phone_invalid",
            "not a valid phone number for the record's country",
            every_value=normalize_phones,
        )
        self._multi(
            "tax_ids",
            "tax_id",
            region,
            "taxid_invalid",
            "not a valid VAT/GSTIN/PAN/national tax id",
            func=lambda v, c: t.value if (t := normalize_tax_id(v, c)) else None,
        )

    def address(self, region: ObjectArray) -> None:
        a = self.raw.address
        street_raw, number_raw = a["street"], a["house_number"]
        number = _map(number_raw, normalize_house_number)
        # a house number inside the street line when the source has no separate field
        split_rows = np.flatnonzero(_present(street_raw) & ~_present(number))
        street_text = street_raw.copy()
        if len(split_rows):
            codes, parts = _distinct(street_raw[split_rows], split_house_number)
            street_text[split_rows], number[split_rows] = _take_each(codes, parts, 0, 1)
        self.columns["street"] = _take(*_distinct2(street_text, region, expand_street))
        self.columns["house_number"] = number
        # nearly one distinct code per record: every value straight to the batch check
        checked = postcode_checks(a["postal_code"].tolist(), region.tolist())
        postcode = object_array([c[0] if c is not None else None for c in checked], self.n)
        fits = object_array([c[1] if c is not None else None for c in checked], self.n)
        bad = np.flatnonzero(_present(postcode) & (fits == False))  # noqa: E712
        self.issue(
            bad,
            "addresses.postal_code",
            "postcode_invalid",
            "does not fit the postal-code format of the country",
            a["postal_code"][bad],
        )
        self.columns["postcode"] = postcode
        self.columns["city"] = _map(a["city"], fold)

    def dates(self) -> None:
        s = self.raw.scalars
        raw = s["birth_date"]
        birth = _map(raw, normalize_birth_date)
        failed = np.flatnonzero(_present(raw) & ~_present(birth))
        # a value that folds to nothing ("", "-", "n/a") is missing, not invalid
        meaningful = _present(_map(raw[failed], lambda v: fold(v) if isinstance(v, str) else v))
        bad = failed[meaningful]
        self.issue(
            bad,
            "birth_date",
            "birth_date_invalid",
            "not a real date (YYYY-MM-DD, DD-MM-YYYY, DD.MM.YYYY) between 1880 and today",
            raw[bad],
        )
        self.columns["birth_date"] = birth
        updated = s["updated_at"]
        if pd.api.types.infer_dtype(updated, skipna=True) not in ("string", "empty"):
            updated = _map(updated, lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))
        present = np.flatnonzero(_present(updated))
        valid = np.array(iso_timestamps_valid(updated[present].tolist()), dtype=bool)
        bad = present[~valid]
        self.issue(
            bad,
            "updated_at",
            "updated_at_invalid",
            "not an ISO-8601 timestamp",
            s["updated_at"][bad],
        )
        self.columns["updated_at"] = updated

    def extras(self) -> list[str]:
        names = []
        for name, values in self.raw.extras.items():
            self.columns[f"x_{name}"] = _map(values, fold)
            names.append(f"x_{name}")
        return names

    def type_problems(self) -> None:
        if not self.raw.type_problems:
            return
        rows = np.array([p[0] for p in self.raw.type_problems], dtype=np.intp)
        for field in dict.fromkeys(p[1] for p in self.raw.type_problems):
            picked = [i for i, p in enumerate(self.raw.type_problems) if p[1] == field]
            values = object_array((self.raw.type_problems[i][2] for i in picked), len(picked))
            self.issue(
                rows[picked],
                field,
                "field_type_invalid",
                f"{field} has the wrong type; treated as missing",
                values,
            )

    def flags(self, extra_columns: list[str]) -> tuple[ObjectArray, pd.DataFrame]:
        any_key = np.zeros(self.n, dtype=bool)
        for column in (*MATCHING_COLUMNS, *extra_columns):
            any_key |= _present(self.columns[column])
        empty = np.flatnonzero(~any_key)
        self.issue(
            empty,
            "*",
            "no_matching_fields",
            "every matching field is empty; kept as its own golden record",
            np.full(len(empty), None, dtype=object),
        )
        issues = (
            pd.concat(self.issue_parts, ignore_index=True) if self.issue_parts else empty_issues()
        )
        flags = np.empty(self.n, dtype=object)
        flags[:] = _EMPTY_CELL
        # the rows each issue part was raised for, in the issues' order (record ids are
        # unique, so looking them up again in an index of every id would give these rows)
        grouped: dict[int, tuple[str, ...]] = {}
        for rows, code in self.issue_rows:
            for row in rows.tolist():
                current = grouped.get(row, _EMPTY)
                if code not in current:
                    grouped[row] = (*current, code)
        for row, codes in grouped.items():
            flags[row] = codes
        return flags, issues


def _group_rows(
    rows: np.ndarray[Any, Any], values: ObjectArray, n: int
) -> tuple[ObjectArray, ObjectArray]:
    """(tuple of distinct values per row, first value per row) from row-sorted pairs."""
    tuples = np.empty(n, dtype=object)
    tuples[:] = _EMPTY_CELL
    first = np.full(n, None, dtype=object)
    if not len(rows):
        return tuples, first
    counts = np.bincount(rows, minlength=n)
    single = counts[rows] == 1
    single_rows, single_values = rows[single], values[single]
    first[single_rows] = single_values
    tuples[single_rows] = object_array([(v,) for v in single_values.tolist()], len(single_rows))
    multi_rows, multi_values = rows[~single], values[~single]
    grouped: dict[int, tuple[Any, ...]] = {}
    for row, value in zip(multi_rows.tolist(), multi_values.tolist(), strict=True):
        current = grouped.get(row, _EMPTY)
        if value not in current:
            grouped[row] = (*current, value)
    for row, group in grouped.items():
        tuples[row] = group
        first[row] = group[0]
    return tuples, first


def _email_country(email: str) -> str | None:
    """ISO country of an email's two-letter top-level domain ("co.uk" -> GB), else None."""
    tld = email.rsplit(".", 1)[-1]
    return country_to_iso(tld) if len(tld) == 2 else None


def _particle_key(value: object) -> str | None:
    key = fold(value)
    return _particles().get(key, key) if key else None


def _first_present(*arrays: ObjectArray) -> ObjectArray:
    out = arrays[0].copy()
    for other in arrays[1:]:
        missing = ~_present(out)
        out[missing] = other[missing]
    return out


def _check_ids(raw: RawColumns) -> None:
    ids = raw.scalars["record_id"]
    missing = np.flatnonzero(~_present(ids) | (ids == ""))
    if len(missing):
        raise NormalizeInputError(
            f"{len(missing)} record(s) have no record_id (first at batch position"
            f" {int(missing[0])}); run validate_canonical first and quarantine its failures",
            positions=missing.tolist(),
        )
    duplicated = pd.Series(ids, dtype=object).duplicated(keep=False).to_numpy()
    if duplicated.any():
        positions = np.flatnonzero(duplicated)
        raise NormalizeInputError(
            f"record_id {ids[positions[0]]!r} occurs more than once in the batch"
            f" ({int(duplicated.sum())} records share ids); record ids must be unique",
            positions=positions.tolist(),
        )


def normalize_frame(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame,
    *,
    extra_fields: Sequence[str] = (),
    default_country: str | None = None,
) -> NormalizedFrame:
    """Normalize a batch of canonical customers into the matching frame.

    ``records``: canonical customer dicts (docs/canonical-model.md) with ``record_id``
    (unique), ``source`` and optional ``updated_at``, or a DataFrame with those columns.
    ``extra_fields``: names in ``extras`` to carry as folded ``x_<name>`` columns.
    ``default_country``: ISO alpha-2 used for phones, tax ids, postcodes and street
    abbreviations of records whose address has no country.

    Garbage in phone, email, tax-id, date or country fields never raises: the value is left
    out of the keys and reported in ``issues`` (and the record's ``flags``). Raises
    :class:`NormalizeInputError` only when the batch breaks the contract (a record that is not
    a mapping, a missing or duplicate record_id).
    """
    with _cyclic_gc_paused():
        return _normalize(records, tuple(extra_fields), default_country)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything).

    A batch allocates millions of small tuples, lists and strings, none of them in a
    reference cycle; every few thousand allocations the collector would walk them and the
    caller's live objects (the batch's record dicts) again: about 10% of the stage's CPU.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _normalize(
    records: Iterable[Mapping[str, Any]] | pd.DataFrame,
    extra_fields: tuple[str, ...],
    default_country: str | None,
) -> NormalizedFrame:
    raw = read_batch(records, extra_fields)
    _check_ids(raw)
    builder = _Builder(raw, default_country)
    s = raw.scalars
    builder.columns["record_id"] = s["record_id"]
    builder.columns["source"] = s["source"]
    kind = builder.kind()
    builder.columns["kind"] = kind
    builder.names(kind)
    builder.organization(kind)
    region = builder.country()
    builder.contacts(region)
    builder.address(region)
    builder.dates()
    extra_columns = builder.extras()
    builder.type_problems()
    flags, issues = builder.flags(extra_columns)
    builder.columns["flags"] = flags
    frame = pd.DataFrame(
        {
            name: pd.Series(builder.columns[name], dtype=object)
            for name in (*FRAME_COLUMNS, *extra_columns)
        }
    )
    return NormalizedFrame(frame=frame, issues=issues)
