"""Inferring a column's type from a sample of its cells.

Each column starts with every type as a candidate; each non-empty cell strikes out the
types it does not fit. What is left decides, most specific first: boolean, integer, number,
date, datetime, else string. A column set in ``column_types`` is not inferred.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tap_spreadsheet.values import (
    WEAK_BOOLEAN_WORDS,
    Mismatch,
    date_order_evidence,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
)

TYPE_PRIORITY = ("boolean", "integer", "number", "date", "datetime")


@dataclass(frozen=True)
class ColumnFormat:
    """How a column's text cells are written: decimal separator and day/month order."""

    decimal: str = "."
    date_order: str = "dmy"


@dataclass
class _ColumnEvidence:
    candidates: set[str]
    non_empty: int = 0
    strong_boolean: bool = False
    dot_ok: bool = True
    comma_ok: bool = True
    saw_separator: bool = False
    dmy: bool = False
    mdy: bool = False


def _text_fits(text: str, evidence: _ColumnEvidence, date_order: str) -> None:
    cands = evidence.candidates
    if "boolean" in cands:
        try:
            parse_bool(text)
            if text.lower() not in WEAK_BOOLEAN_WORDS:
                evidence.strong_boolean = True
        except Mismatch:
            cands.discard("boolean")
    if "integer" in cands:
        try:
            parse_int(text)
        except Mismatch:
            cands.discard("integer")
    if "number" in cands:
        if "," in text or "." in text:
            evidence.saw_separator = True
        for separator in (".", ","):
            try:
                parse_decimal(text, separator)
            except Mismatch:
                if separator == ".":
                    evidence.dot_ok = False
                else:
                    evidence.comma_ok = False
        if not (evidence.dot_ok or evidence.comma_ok):
            cands.discard("number")
    if "date" in cands or "datetime" in cands:
        order = date_order_evidence(text.split(" ")[0].split("T")[0])
        if order == "dmy":
            evidence.dmy = True
        elif order == "mdy":
            evidence.mdy = True
        try:
            parse_date(text, order or date_order)
        except Mismatch:
            cands.discard("date")
            try:
                parse_datetime(text, order or date_order)
            except Mismatch:
                cands.discard("datetime")


def _cell_fits(value: Any, evidence: _ColumnEvidence, date_order: str) -> None:
    cands = evidence.candidates
    if isinstance(value, str):
        _text_fits(value, evidence, date_order)
        return
    if isinstance(value, bool):
        evidence.strong_boolean = True
        cands &= {"boolean"}
    elif isinstance(value, float | int):
        if isinstance(value, float) and not value.is_integer():
            cands &= {"number"}
        else:
            cands &= {"integer", "number"}
    elif isinstance(value, dt.datetime):
        cands &= {"datetime"}
    elif isinstance(value, dt.date):
        # calamine reads midnight datetimes as dates, so a date fits a datetime column.
        cands &= {"date", "datetime"}
    else:
        cands.clear()


def infer_types(
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    decimal_separator: str,
    date_order: str,
    prefer_comma: bool,
) -> tuple[dict[str, str], dict[str, ColumnFormat]]:
    """Type and text format per column name, from ``rows`` of cells aligned to ``names``."""
    evidence = [_ColumnEvidence(candidates=set(TYPE_PRIORITY)) for _ in names]
    for row in rows:
        for index, value in enumerate(row[: len(names)]):
            if isinstance(value, str):
                value = value.strip()
            if value is None or value == "":
                continue
            column = evidence[index]
            column.non_empty += 1
            if column.candidates:
                _cell_fits(value, column, date_order)
    types: dict[str, str] = {}
    formats: dict[str, ColumnFormat] = {}
    for name, column in zip(names, evidence, strict=True):
        cands = column.candidates
        if decimal_separator == ".":
            column.comma_ok = column.comma_ok and not column.saw_separator
        if column.dmy and column.mdy:
            # 31/01/2024 and 01/31/2024 in one column: no single reading fits, keep text.
            cands -= {"date", "datetime"}
        if "boolean" in cands and not column.strong_boolean:
            cands.discard("boolean")
        if "number" in cands and not column.dot_ok and decimal_separator == ".":
            cands.discard("number")
        if "number" in cands and not column.comma_ok and decimal_separator == ",":
            cands.discard("number")
        if column.non_empty == 0 or not cands:
            types[name] = "string"
        else:
            types[name] = next(t for t in TYPE_PRIORITY if t in cands)
        if decimal_separator in (".", ","):
            decimal = decimal_separator
        elif column.dot_ok and column.comma_ok:
            decimal = "," if prefer_comma else "."
        else:
            decimal = "." if column.dot_ok else ","
        order = date_order
        if column.dmy and not column.mdy:
            order = "dmy"
        elif column.mdy and not column.dmy:
            order = "mdy"
        formats[name] = ColumnFormat(decimal=decimal, date_order=order)
    return types, formats


def merge_types(first: Mapping[str, str], second: Mapping[str, str]) -> dict[str, str]:
    """Types of a stream fed by several files: where they disagree, the wider type wins."""
    merged = dict(first)
    for name, type_name in second.items():
        old = merged.get(name)
        if old is None or old == type_name:
            merged[name] = type_name
        elif {old, type_name} == {"integer", "number"}:
            merged[name] = "number"
        elif {old, type_name} == {"date", "datetime"}:
            merged[name] = "datetime"
        else:
            merged[name] = "string"
    return merged
