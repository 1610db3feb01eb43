"""Where a table's header is and what its columns are called."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.headers import Column, detect_header_row, header_texts, make_columns
from tap_spreadsheet.tables import RawTable


@dataclass
class TableLayout:
    """The header row of a table and its columns; data rows follow the header."""

    header_row_number: int
    columns: list[Column]


def _is_blank(cells: list[Any]) -> bool:
    return all(
        value is None or (isinstance(value, str) and not value.strip()) or value == ""
        for value in cells
    )


def find_layout(table: RawTable, *, header_row: int | None, scan_rows: int) -> TableLayout:
    """Locate the header (configured or detected) and name the columns.

    Raises :class:`SpreadsheetFileError` when the table has no cells at all or the
    configured header row is past its end.
    """
    top: list[tuple[int, list[Any]]] = list(islice(table.rows(), max(scan_rows, header_row or 0)))
    non_blank = [(number, cells) for number, cells in top if cells and not _is_blank(cells)]
    if not non_blank:
        raise SpreadsheetFileError(
            table.path,
            "the sheet is empty" if table.sheet else "the file has no rows",
            sheet=table.sheet,
            hint="export it again, or remove it from the folder",
        )
    if header_row is not None:
        chosen = next((i for i, (number, _) in enumerate(top) if number == header_row), None)
        if chosen is None:
            raise SpreadsheetFileError(
                table.path,
                f"header_row {header_row} is past the end of the data",
                sheet=table.sheet,
                hint="check `header_row` in the config",
            )
    else:
        offset = detect_header_row([cells for _, cells in non_blank])
        chosen = top.index(non_blank[offset])
    number, header = top[chosen]
    group_row: list[Any] | None = None
    groups: list[tuple[int, int]] = []
    if chosen > 0 and table.merged_ranges:
        above = number - 2  # 0-based index of the row above the header
        filled = [i for i, value in enumerate(header) if value not in (None, "")]
        width = (filled[-1] - filled[0] + 1) if filled else 0
        # A merged cell spanning the whole header is a title ("Klantenlijst 2024"), not a
        # group header: it must not prefix every column.
        groups = [
            (c0, c1)
            for r0, c0, r1, c1 in table.merged_ranges
            if r0 == above and r1 == above and c1 > c0 and c1 - c0 + 1 < width
        ]
        if groups:
            group_row = top[chosen - 1][1]
    columns = make_columns(header_texts(header, group_row, groups))
    if not columns:
        raise SpreadsheetFileError(
            table.path,
            "the header row has no column names",
            sheet=table.sheet,
            row=number,
            hint="set `header_row` in the config",
        )
    return TableLayout(header_row_number=number, columns=columns)


def data_rows(table: RawTable, layout: TableLayout) -> Iterator[tuple[int, list[Any]]]:
    """The rows below the header, with their row numbers."""
    for number, cells in table.rows():
        if number > layout.header_row_number:
            yield number, cells
