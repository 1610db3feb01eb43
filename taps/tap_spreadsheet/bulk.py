"""Converting a whole column of a chunk of text rows at once.

Per-cell conversion in Python costs a function call per cell, which is most of the tap's
time on a typed CSV. Here a chunk's column is checked with one regular expression over the
joined cells and converted with a builtin (``int``, ``Decimal``) mapped in C. When any cell
does not fit, the caller falls back to converting that chunk's column cell by cell, which
keeps the odd cell as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from tap_spreadsheet.values import Mismatch

BulkConverter = Callable[[Sequence[str | None]], list[Any]]

_INT_CELL = r"[+-]?(?:0|[1-9][0-9]{0,17})"
# The same shapes parse_decimal accepts, a leading zero only before the decimal separator.
_DOT_CELL = r"[+-]?(?:0|[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]*)(?:\.[0-9]+)?"
_COMMA_CELL = r"[+-]?(?:0|[1-9][0-9]{0,2}(?:\.[0-9]{3})+|[1-9][0-9]*)(?:,[0-9]+)?"


def _all_cells(cell: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{cell}\n)*{cell}", re.ASCII)


_ALL_INT = _all_cells(_INT_CELL)
_ALL_DOT = _all_cells(_DOT_CELL)
_ALL_COMMA = _all_cells(_COMMA_CELL)


def _present(column: Sequence[str | None]) -> list[str]:
    return [v for v in column if v is not None]


def _spread(column: Sequence[str | None], converted: list[Any]) -> list[Any]:
    """Put converted values back between the empty cells."""
    if len(converted) == len(column):
        return converted
    values = iter(converted)
    return [None if v is None else next(values) for v in column]


def bulk_integers(column: Sequence[str | None]) -> list[Any]:
    """Whole numbers without leading zeros, or :class:`Mismatch`."""
    present = _present(column)
    if present and not _ALL_INT.fullmatch("\n".join(present)):
        raise Mismatch("column chunk")
    return _spread(column, list(map(int, present)))


def _bulk_decimals(pattern: re.Pattern[str], separator: str) -> BulkConverter:
    def convert(column: Sequence[str | None]) -> list[Any]:
        present = _present(column)
        if not present:
            return list(column)
        joined = "\n".join(present)
        if not pattern.fullmatch(joined):
            raise Mismatch("column chunk")
        if separator == ",":
            joined = joined.replace(".", "").replace(",", ".")
        else:
            joined = joined.replace(",", "")
        return _spread(column, list(map(Decimal, joined.split("\n"))))

    return convert


def bulk_mapped(convert_cell: Callable[[str], Any]) -> BulkConverter:
    """A per-cell converter (cached for dates) mapped over the column in C."""

    def convert(column: Sequence[str | None]) -> list[Any]:
        present = _present(column)
        return _spread(column, list(map(convert_cell, present)))

    return convert


def bulk_converter(
    type_name: str, *, decimal: str, cell_converter: Callable[[str], Any] | None
) -> BulkConverter | None:
    """The column converter for ``type_name``; None for text columns."""
    if type_name == "integer":
        return bulk_integers
    if type_name == "number":
        if decimal == ",":
            return _bulk_decimals(_ALL_COMMA, ",")
        return _bulk_decimals(_ALL_DOT, ".")
    if cell_converter is not None:
        return bulk_mapped(cell_converter)
    return None
