"""Turning the data rows of one table into records: typed cells, lineage, and rows that
cannot be read whole kept with their raw cells and a ``_row_error`` reason."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from typing import Any

import msgspec

from tap_spreadsheet.bulk import BulkConverter, bulk_converter
from tap_spreadsheet.encoding import escape_undecodable, has_undecodable
from tap_spreadsheet.inference import ColumnFormat
from tap_spreadsheet.layout import TableLayout
from tap_spreadsheet.masking import mask_value
from tap_spreadsheet.summary import RunSummary
from tap_spreadsheet.tables import RawTable
from tap_spreadsheet.values import (
    Mismatch,
    TextConverter,
    cell_as_text,
    convert_workbook_cell,
    iso_datetime,
    text_converter,
)

SOURCE_FILE = "_source_file"
SOURCE_SHEET = "_source_sheet"
SOURCE_ROW = "_source_row"
ROW_ERROR = "_row_error"
EXTRA_CELLS = "_extra_cells"
LINEAGE = (SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW)
_MAX_LOGGED = 10
_CHUNK_ROWS = 1024
_NONE_FOR_EMPTY = {"": None}.get


def _integers(cells: Sequence[Any]) -> list[Any] | None:
    if all(map(float.is_integer, cells)):
        return list(map(int, cells))
    return None  # a fraction in an integer column: cell by cell, kept as text


def _numbers(cells: Sequence[Any]) -> list[Any]:
    return [int(v) if v.is_integer() else v for v in cells]


# Whole-column conversions of workbook cells, by (column type, the one calamine type of
# every non-empty cell); each gives what convert_workbook_cell gives cell by cell.
_WORKBOOK_COLUMN: dict[tuple[str, type], Callable[[Sequence[Any]], list[Any] | None]] = {
    ("integer", float): _integers,
    ("integer", int): list,
    ("number", float): _numbers,
    ("number", int): list,
    ("boolean", bool): list,
    ("string", float): lambda cells: list(map(cell_as_text, cells)),
    ("string", int): lambda cells: list(map(cell_as_text, cells)),
    ("date", dt.date): lambda cells: list(map(dt.date.isoformat, cells)),
    ("datetime", dt.datetime): lambda cells: list(map(iso_datetime, cells)),
}


@dataclass(frozen=True)
class ReadOptions:
    """What the row reader needs to know beyond the table itself."""

    types: Mapping[str, str]
    formats: Mapping[str, ColumnFormat]
    primary_keys: Sequence[str]
    flag_duplicates: bool
    trim: bool
    stream: str
    # Records may be msgspec structs instead of dicts (for the fast writer, which only
    # encodes them): building a struct from columns costs a fraction of a dict.
    as_structs: bool = False


def _ragged_reason(cells: int, width: int) -> str:
    if cells > width:
        return (
            f"row has {cells} cells but the header has {width} columns; "
            "the extra cells are kept in _extra_cells"
        )
    return f"row has {cells} cells but the header has {width} columns; the missing cells are null"


class RowReader:
    """Reads one table's data rows into records, counting into a :class:`RunSummary`."""

    def __init__(
        self,
        table: RawTable,
        layout: TableLayout,
        options: ReadOptions,
        summary: RunSummary,
        logger: logging.Logger,
    ) -> None:
        self.table = table
        self.layout = layout
        self.options = options
        self.summary = summary
        self.logger = logger
        self.width = len(layout.columns)
        self.names = [column.name for column in layout.columns]
        # Columns of this file that the stream's schema does not know (a catalog from an
        # older discovery): kept under _extra_cells by their header.
        self.unknown = {i for i, name in enumerate(self.names) if name not in options.types}
        self.typed: list[tuple[int, str, str, Any]] = []
        for index, name in enumerate(self.names):
            type_name = options.types.get(name, "string")
            fmt = options.formats.get(name, ColumnFormat())
            conv = text_converter(type_name, decimal=fmt.decimal, date_order=fmt.date_order)
            if index not in self.unknown and (conv is not None or not table.is_text):
                self.typed.append((index, name, type_name, conv))
        self._all_names = (
            *self.names,
            SOURCE_FILE,
            SOURCE_SHEET,
            SOURCE_ROW,
            ROW_ERROR,
            EXTRA_CELLS,
        )
        self._bulk: list[tuple[int, str, BulkConverter, TextConverter]] = []
        for index, name, type_name, conv in self.typed:
            if conv is None:
                continue
            fmt = options.formats.get(name, ColumnFormat())
            bulk = bulk_converter(type_name, decimal=fmt.decimal, cell_converter=conv)
            if bulk is not None:
                self._bulk.append((index, name, bulk, conv))
        self._seen_keys: dict[Any, int] = {}
        self._struct: type[msgspec.Struct] | None = None
        self._logged_duplicates = 0
        self._logged_bad = 0

    def _where(self, row: int) -> str:
        where = f"file '{self.table.path}'"
        if self.table.sheet:
            where += f", sheet '{self.table.sheet}'"
        return f"{where}, row {row}"

    def _lineage(self, record: dict[str, Any], row: int) -> None:
        record[SOURCE_FILE] = self.table.path
        record[SOURCE_SHEET] = self.table.sheet
        record[SOURCE_ROW] = row
        record[ROW_ERROR] = None
        record.setdefault(EXTRA_CELLS, None)

    def _bad_row(self, row: int, cells: Sequence[Any], reason: str) -> dict[str, Any]:
        """A row that cannot be read whole: every cell kept as text, with the reason."""
        texts = [cell_as_text(value) for value in cells]
        if self.table.has_undecodable:
            texts = [escape_undecodable(t) if t is not None else None for t in texts]
        record: dict[str, Any] = {}
        extra: dict[str, str | None] = {}
        for index, text in enumerate(texts):
            if index < self.width and index not in self.unknown:
                record[self.names[index]] = text
            elif text is not None:
                key = (
                    self.layout.columns[index].header or self.names[index]
                    if index < self.width
                    else f"column_{index + 1}"
                )
                extra[key] = text
        if extra:
            record[EXTRA_CELLS] = extra
        self._lineage(record, row)
        record[ROW_ERROR] = reason
        self.summary.bad_rows += 1
        if self._logged_bad < _MAX_LOGGED:
            self.logger.warning("%s: %s (row emitted with _row_error)", self._where(row), reason)
            self._logged_bad += 1
        return record

    def _check_key(self, record: dict[str, Any], row: int) -> None:
        keys = self.options.primary_keys
        if not keys:
            return
        key = record.get(keys[0]) if len(keys) == 1 else tuple(record.get(k) for k in keys)
        reason = self._key_problem(key, row)
        if reason is not None and self.options.flag_duplicates and record[ROW_ERROR] is None:
            record[ROW_ERROR] = reason
            self.summary.bad_rows += 1

    def _key_problem(self, key: Any, row: int) -> str | None:
        """Why ``key`` (of ``row``) is not a usable primary key; None when it is."""
        keys = self.options.primary_keys
        if key is None or (isinstance(key, tuple) and None in key):
            return f"primary key {', '.join(keys)} is empty"
        first = self._seen_keys.setdefault(key, row)
        if first == row:
            return None
        reason = (
            f"duplicate primary key {', '.join(keys)}={mask_value(key)} "
            f"(first seen at row {first} of the same file)"
        )
        self.summary.duplicate_keys += 1
        if self._logged_duplicates < _MAX_LOGGED:
            self.logger.warning("%s: %s", self._where(row), reason)
            self._logged_duplicates += 1
        return reason

    def records(self) -> Iterator[dict[str, Any]]:
        """The records of every non-blank data row, in sheet order."""
        for chunk in self.chunks():
            yield from chunk

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        """The records in lists of up to a thousand or so, in sheet order."""
        if self.table.is_text:
            yield from self._text_records()
        else:
            yield from self._workbook_chunks()
        if self._logged_bad >= _MAX_LOGGED or self._logged_duplicates >= _MAX_LOGGED:
            self.logger.warning(
                "%s: more problems than shown; see the run summary",
                self._where(self.layout.header_row_number),
            )

    def _text_records(self) -> Iterator[list[dict[str, Any]]]:
        table = self.table
        trim = self.options.trim and table.may_need_trim
        line_chunks = None
        if not (
            trim
            or table.has_undecodable
            or self.unknown
            or len(set(self._all_names)) != len(self._all_names)
            or table.line_chunks is None
        ):
            line_chunks = table.line_chunks()
        if line_chunks is None:
            yield from self._text_rows(table.rows())
            return
        # Rows are lines: a chunk of lines that all have the header's width and none blank
        # is split and converted column by column; any other chunk goes row by row.
        delimiter = table.delimiter or ","
        separators = self.width - 1
        blank = delimiter * separators
        header_row = self.layout.header_row_number
        for first_row, lines in line_chunks:
            if first_row <= header_row:
                skip = header_row + 1 - first_row
                lines, first_row = lines[skip:], first_row + skip
                if not lines:
                    continue
            counts = list(map(str.count, lines, repeat(delimiter)))
            if counts.count(separators) == len(counts) and blank not in lines:
                self.summary.rows_read += len(lines)
                yield self._columnar_chunk(first_row, lines, delimiter)
            else:
                yield from self._text_rows(
                    (row, line.split(delimiter)) for row, line in enumerate(lines, first_row)
                )

    def _columnar_chunk(self, first_row: int, lines: list[str], delimiter: str) -> list[Any]:
        """Records of lines that each split into exactly the header's width of cells."""
        width, count = self.width, len(lines)
        cells = delimiter.join(lines).split(delimiter)
        columns: list[list[Any]] = [cells[i::width] for i in range(width)]
        for index, column in enumerate(columns):
            if "" in column:
                # dict.get(cell, cell): None for an empty cell, the cell itself otherwise.
                columns[index] = list(map(_NONE_FOR_EMPTY, column, column))
        for index, name, convert_column, convert_cell in self._bulk:
            columns[index] = self._convert_column(
                name, columns[index], convert_column, convert_cell
            )
        return self._build_records(columns, range(first_row, first_row + count))

    def _struct_type(self) -> type[msgspec.Struct]:
        if self._struct is None:
            fields = [f"f{i}" for i in range(len(self._all_names))]
            self._struct = msgspec.defstruct(
                "SpreadsheetRecord",
                [(f, Any) for f in fields],
                rename=dict(zip(fields, self._all_names, strict=True)),
                # Cells are strings, numbers and None: no reference cycles to collect.
                gc=False,
            )
        return self._struct

    def _convert_column(
        self,
        name: str,
        column: list[Any],
        convert_column: BulkConverter,
        convert_cell: TextConverter,
    ) -> list[Any]:
        try:
            return convert_column(column)
        except Mismatch:
            pass
        # Some cell does not fit: convert one by one, keeping misfits as text.
        mismatches = self.summary.cells_kept_as_text
        converted: list[Any] = []
        for value in column:
            if value is None:
                converted.append(None)
                continue
            try:
                converted.append(convert_cell(value))
            except Mismatch:
                mismatches[name] += 1
                converted.append(value)
        return converted

    def _text_rows(self, rows: Iterable[tuple[int, list[str]]]) -> Iterator[list[dict[str, Any]]]:
        # Row by row: per-row work stays in C where possible (map, zip, `in`), typed
        # columns are converted a chunk of rows at a time (bulk.py).
        width = self.width
        trim = self.options.trim and self.table.may_need_trim
        strip = str.strip
        undecodable = self.table.has_undecodable
        summary = self.summary
        path, sheet = self.table.path, self.table.sheet
        header_row = self.layout.header_row_number
        pending: list[list[Any]] = []
        read = 0
        try:
            for row, cells in rows:
                if row <= header_row:
                    continue
                if len(cells) != width:
                    if len(cells) > width and not any(c.strip() for c in cells[width:]):
                        cells = cells[:width]  # trailing delimiters: nothing is lost
                    elif not any(c.strip() for c in cells):
                        summary.blank_rows += 1
                        continue
                    else:
                        read += 1
                        yield self._text_chunk(pending)
                        pending = []
                        yield [self._bad_row(row, cells, _ragged_reason(len(cells), width))]
                        continue
                values: list[Any] = list(map(strip, cells)) if trim else cells
                if "" in values:
                    if not any(values):
                        summary.blank_rows += 1
                        continue
                    values = [v or None for v in values]
                read += 1
                if undecodable and any(has_undecodable(c) for c in cells):
                    yield self._text_chunk(pending)
                    pending = []
                    yield [self._bad_row(row, values, self._undecodable_reason(cells))]
                    continue
                values += (path, sheet, row, None, None)
                pending.append(values)
                if len(pending) >= _CHUNK_ROWS:
                    yield self._text_chunk(pending)
                    pending = []
            yield self._text_chunk(pending)
        finally:
            summary.rows_read += read

    def _text_chunk(self, pending: list[list[Any]]) -> list[dict[str, Any]]:
        """Convert the typed columns of a chunk of rows, then yield their records."""
        if not pending:
            return []
        for index, name, convert_column, convert_cell in self._bulk:
            column = [values[index] for values in pending]
            converted = self._convert_column(name, column, convert_column, convert_cell)
            for values, value in zip(pending, converted, strict=True):
                values[index] = value
        all_names = self._all_names
        records = [dict(zip(all_names, values, strict=True)) for values in pending]
        if self.unknown:
            headers = [(self.layout.columns[i].header, self.names[i]) for i in self.unknown]
            for record in records:
                record[EXTRA_CELLS] = {header: record.pop(name) for header, name in headers}
        if self.options.primary_keys:
            for record in records:
                self._check_key(record, record[SOURCE_ROW])
        return records

    def _undecodable_reason(self, cells: Sequence[str]) -> str:
        bad_columns = [
            self.names[i] if i < self.width else f"column_{i + 1}"
            for i, c in enumerate(cells)
            if has_undecodable(c)
        ]
        return (
            f"bytes that are not valid {self.table.encoding} in {', '.join(bad_columns)}; "
            "they are kept as \\xNN"
        )

    def _workbook_chunks(self) -> Iterator[list[Any]]:
        """Workbook rows a chunk at a time, converted column by column.

        Each column of a chunk whose cells are all of one calamine type is converted with
        one C-level map; any other column goes cell by cell, exactly as
        :meth:`_workbook_records` does. Sheets with columns the schema does not know keep
        the row-by-row path (their records carry ``_extra_cells``).
        """
        if self.unknown or len(set(self._all_names)) != len(self._all_names):
            records = self._workbook_records()
            while chunk := list(islice(records, _CHUNK_ROWS)):
                yield chunk
            return
        width = self.width
        summary = self.summary
        header_row = self.layout.header_row_number
        rows: list[int] = []
        pending: list[list[Any]] = []
        read = 0
        try:
            for row, cells in self.table.rows():
                if row <= header_row:
                    continue
                size = len(cells)
                if cells.count("") == size:
                    summary.blank_rows += 1
                    continue
                read += 1
                if size != width:
                    if size > width and cells[width:].count("") != size - width:
                        yield self._workbook_chunk(rows, pending)
                        rows, pending = [], []
                        reason = (
                            f"row has cells beyond the {width} header columns; "
                            "they are kept in _extra_cells"
                        )
                        yield [self._bad_row(row, cells, reason)]
                        continue
                    cells = cells[:width] if size > width else cells + [""] * (width - size)
                rows.append(row)
                pending.append(cells)
                if len(pending) >= _CHUNK_ROWS:
                    yield self._workbook_chunk(rows, pending)
                    rows, pending = [], []
            yield self._workbook_chunk(rows, pending)
        finally:
            summary.rows_read += read

    def _workbook_chunk(self, rows: list[int], pending: list[list[Any]]) -> list[Any]:
        count = len(rows)
        if not count:
            return []
        cells = list(zip(*pending, strict=True))
        columns = [
            self._workbook_column(name, type_name, conv, cells[index])
            for index, name, type_name, conv in self.typed
        ]
        return self._build_records(columns, rows)

    def _workbook_column(
        self, name: str, type_name: str, conv: TextConverter | None, cells: Sequence[Any]
    ) -> list[Any]:
        kinds = set(map(type, cells))
        if kinds == {str}:
            column = list(map(str.strip, cells)) if self.options.trim else list(cells)
            if "" in column:
                column = list(map(_NONE_FOR_EMPTY, column, column))
            if conv is None:
                return column
            return [
                None if cell is None else self._workbook_cell(name, type_name, conv, cell)
                for cell in column
            ]
        present: Sequence[Any] = cells
        if str in kinds:
            present = [cell for cell in cells if cell != ""]
            kinds = set(map(type, present))
        fast = _WORKBOOK_COLUMN.get((type_name, kinds.pop())) if len(kinds) == 1 else None
        converted = fast(present) if fast is not None else None
        if converted is None:
            return [self._workbook_cell(name, type_name, conv, cell) for cell in cells]
        if len(present) == len(cells):
            return converted
        values = iter(converted)
        return [None if cell == "" else next(values) for cell in cells]

    def _workbook_cell(
        self, name: str, type_name: str, conv: TextConverter | None, value: Any
    ) -> Any:
        """One workbook cell as a record value (a misfit is kept as text and counted)."""
        if type(value) is str:
            if self.options.trim:
                value = value.strip()
            if not value:
                return None
            if conv is None:
                return value
            try:
                return conv(value)
            except Mismatch:
                self.summary.cells_kept_as_text[name] += 1
                return value
        try:
            return convert_workbook_cell(value, type_name, conv)
        except Mismatch:
            self.summary.cells_kept_as_text[name] += 1
            return cell_as_text(value)

    def _build_records(self, columns: list[list[Any]], rows: Sequence[int]) -> list[Any]:
        """Records (structs or dicts) from converted columns in ``self.names`` order."""
        count = len(rows)
        errors: list[str | None] | Iterator[None] = repeat(None, count)
        keys = self.options.primary_keys
        if keys:
            positions = [self.names.index(k) for k in keys]
            key_values: Iterable[Any] = (
                columns[positions[0]]
                if len(positions) == 1
                else zip(*(columns[p] for p in positions), strict=True)
            )
            problems = list(map(self._key_problem, key_values, rows))
            if self.options.flag_duplicates and problems.count(None) != count:
                errors = problems
                self.summary.bad_rows += count - problems.count(None)
        lineage = (repeat(self.table.path, count), repeat(self.table.sheet, count), rows, errors)
        if self.options.as_structs:
            return list(map(self._struct_type(), *columns, *lineage, repeat(None, count)))
        names = self._all_names
        return [
            dict(zip(names, values, strict=True))
            for values in zip(*columns, *lineage, repeat(None, count), strict=True)
        ]

    def _workbook_records(self) -> Iterator[dict[str, Any]]:
        # calamine gives every row the sheet's full width, "" for an empty cell.
        width = self.width
        trim = self.options.trim
        mismatches = self.summary.cells_kept_as_text
        summary = self.summary
        check_keys = bool(self.options.primary_keys)
        typed = self.typed
        header_row = self.layout.header_row_number
        read = 0
        try:
            for row, cells in self.table.rows():
                if row <= header_row:
                    continue
                size = len(cells)
                empty = cells.count("")
                if empty == size:
                    summary.blank_rows += 1
                    continue
                read += 1
                if size > width and cells[width:].count("") != size - width:
                    yield self._bad_row(
                        row,
                        cells,
                        (
                            f"row has cells beyond the {width} header columns; "
                            "they are kept in _extra_cells"
                        ),
                    )
                    continue
                record: dict[str, Any] = {}
                for index, name, type_name, conv in typed:
                    value = cells[index] if index < size else ""
                    if type(value) is str:
                        if trim:
                            value = value.strip()
                        if not value:
                            record[name] = None
                        elif conv is None:
                            record[name] = value
                        else:
                            try:
                                record[name] = conv(value)
                            except Mismatch:
                                mismatches[name] += 1
                                record[name] = value
                        continue
                    try:
                        record[name] = convert_workbook_cell(value, type_name, conv)
                    except Mismatch:
                        mismatches[name] += 1
                        record[name] = cell_as_text(value)
                if self.unknown:
                    record[EXTRA_CELLS] = {
                        self.layout.columns[i].header: cell_as_text(cells[i])
                        for i in self.unknown
                        if i < size
                    }
                self._lineage(record, row)
                if check_keys:
                    self._check_key(record, row)
                yield record
        finally:
            summary.rows_read += read
