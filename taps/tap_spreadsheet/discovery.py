"""From the ``files`` setting to streams: which files, which sheets, which columns and
types, which primary key."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from tap_spreadsheet.config import SourceSpec, TapSettings
from tap_spreadsheet.errors import SpreadsheetConfigError, SpreadsheetFileError
from tap_spreadsheet.headers import normalize_name
from tap_spreadsheet.inference import ColumnFormat, infer_types, merge_types
from tap_spreadsheet.layout import TableLayout, data_rows, find_layout
from tap_spreadsheet.rows import EXTRA_CELLS, ROW_ERROR, SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET
from tap_spreadsheet.tables import (
    GLOB_CHARS,
    SUPPORTED_EXTENSIONS,
    TEXT_EXTENSIONS,
    RawTable,
    extension_of,
    files_for_path,
)
from tap_spreadsheet.text_files import read_text_table
from tap_spreadsheet.workbooks import (
    open_workbook,
    read_sheet_sample,
    read_sheet_table,
    select_sheets,
)


@dataclass
class StreamPlan:
    """One stream: its source entry, its files and sheet, and what discovery learnt."""

    name: str
    spec: SourceSpec
    files: list[str]
    # None: the first visible sheet (or the only one of a text file); "*": every sheet the
    # spec selects (merged); else one named sheet.
    sheet: str | None
    columns: dict[str, str] = field(default_factory=dict)  # property name -> header
    types: dict[str, str] = field(default_factory=dict)
    formats: dict[str, ColumnFormat] = field(default_factory=dict)
    has_workbooks: bool = False

    @property
    def primary_keys(self) -> list[str]:
        """The configured key as property names, else the row lineage."""
        if self.spec.primary_keys:
            by_header = {normalize_name(h): n for n, h in self.columns.items()}
            resolved = []
            for key in self.spec.primary_keys:
                name = key if key in self.columns else by_header.get(normalize_name(key))
                if name is None:
                    raise SpreadsheetConfigError(
                        f"stream '{self.name}': primary key column '{key}' is not in the "
                        f"files (columns: {', '.join(self.columns)})",
                        hint="fix `primary_keys` in the config",
                    )
                resolved.append(name)
            return resolved
        if self.has_workbooks:
            return [SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW]
        return [SOURCE_FILE, SOURCE_ROW]

    def schema(self) -> dict[str, Any]:
        """JSON schema of the stream's records."""
        properties: dict[str, Any] = {}
        for name, header in self.columns.items():
            properties[name] = property_schema(self.types.get(name, "string"), header)
        properties[SOURCE_FILE] = {"type": ["string"], "description": "Path of the source file."}
        properties[SOURCE_SHEET] = {
            "type": ["string", "null"],
            "description": "Sheet name in the workbook; null for text files.",
        }
        properties[SOURCE_ROW] = {
            "type": ["integer"],
            "description": "Row number in the sheet as a spreadsheet shows it (1 = first "
            "row); for text files the line on which the row starts.",
        }
        properties[ROW_ERROR] = {
            "type": ["string", "null"],
            "description": "Set when the row could not be read whole (ragged, undecodable "
            "bytes, duplicate or empty primary key): the reason. Its cells are then kept as "
            "text. Route such records to quarantine.",
        }
        properties[EXTRA_CELLS] = {
            "type": ["object", "null"],
            "additionalProperties": {"type": ["string", "null"]},
            "description": "Cells with no column of their own (beyond the header, or under "
            "a header this stream's schema does not know), by header or column_<n>.",
        }
        return {"type": "object", "properties": properties, "additionalProperties": False}


_TYPES_IN_SCHEMA: dict[str, dict[str, Any]] = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "string", "null"]},
    "number": {"type": ["number", "string", "null"]},
    "boolean": {"type": ["boolean", "string", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},
    "datetime": {"type": ["string", "null"], "format": "date-time"},
}


def property_schema(type_name: str, header: str) -> dict[str, Any]:
    """Schema of one column: its type, plus string for cells that do not fit it."""
    schema: dict[str, Any] = dict(_TYPES_IN_SCHEMA[type_name])
    schema["title"] = header
    note = (
        ""
        if type_name == "string"
        else (f"; a cell that is not a valid {type_name} is kept as the original text")
    )
    schema["description"] = f"Column '{header}' ({type_name}{note})."
    return schema


def type_from_schema(schema: dict[str, Any]) -> str:
    """Our column type back from a (possibly user-edited) catalog property schema."""
    fmt = schema.get("format")
    if fmt == "date":
        return "date"
    if fmt == "date-time":
        return "datetime"
    declared = schema.get("type", "string")
    types = [declared] if isinstance(declared, str) else list(declared)
    for candidate in ("integer", "number", "boolean"):
        if candidate in types:
            return candidate
    return "string"


def resolve_files(spec: SourceSpec) -> list[str]:
    """Files for a ``path`` setting: one file, a folder's spreadsheet files, or a glob."""
    return files_for_path(spec.path)


def default_stream_name(spec: SourceSpec) -> str:
    """The spec's stream name, or one made from the path without wildcards."""
    if spec.stream_name:
        return spec.stream_name
    path = Path(os.path.expanduser(spec.path))
    parts = [p for p in path.parts if not (GLOB_CHARS & set(p))]
    last = path.name
    if GLOB_CHARS & set(last) or not last:
        stem = last.split(".")[0]
        name = normalize_name("".join(ch for ch in stem if ch not in "*?[]"))
        if name:
            return name
        return normalize_name(parts[-1]) if parts else "spreadsheet"
    if os.path.isdir(path):
        return normalize_name(last) or "spreadsheet"
    return normalize_name(path.stem) or "spreadsheet"


def is_text_file(path: str) -> bool:
    """True for the CSV-like extensions."""
    return extension_of(path) in TEXT_EXTENSIONS


def check_extension(path: str) -> None:
    """Raise a :class:`SpreadsheetFileError` for a file this tap cannot read."""
    ext = extension_of(path)
    if ext not in SUPPORTED_EXTENSIONS:
        raise SpreadsheetFileError(
            path,
            f"unknown file extension '{ext or '(none)'}'",
            hint=f"supported: {', '.join(SUPPORTED_EXTENSIONS)}; rename the file if it is "
            "one of those, or narrow the `path` pattern",
        )
    if not os.path.exists(path):
        raise SpreadsheetFileError(
            path, "the file does not exist (or disappeared)", hint="check `path` in the config"
        )


def open_tables(
    path: str, spec: SourceSpec, sheet: str | None, *, sample_rows: int = 0
) -> Iterator[RawTable]:
    """The tables of one file for a stream: the text file, or the wanted sheet(s).

    ``sample_rows`` > 0: the reader means to read about that many rows only; workbook
    sheets that allow it then come from a sample (:func:`read_sheet_sample`), which reads
    on from the whole sheet if asked for more.
    """
    check_extension(path)
    if is_text_file(path):
        yield read_text_table(
            path, encoding=spec.encoding, delimiter=spec.delimiter, quotechar=spec.quotechar
        )
        return
    workbook = open_workbook(path)
    try:
        if sheet is None:
            names = select_sheets(path, workbook, ())
        elif sheet == "*":
            names = select_sheets(path, workbook, spec.sheets)
        else:
            names = select_sheets(path, workbook, (sheet,))
        for name in names:
            sample = read_sheet_sample(path, name, sample_rows) if sample_rows else None
            yield sample or read_sheet_table(path, workbook, name)
    finally:
        workbook.close()


OnFileError = Callable[[SpreadsheetFileError], None]


def _sheet_names(path: str, spec: SourceSpec) -> list[str]:
    workbook = open_workbook(path)
    try:
        return select_sheets(path, workbook, spec.sheets)
    finally:
        workbook.close()


def plan_streams(
    settings: TapSettings, on_error: OnFileError, *, sample_only: bool = False
) -> list[StreamPlan]:
    """One plan per stream, with columns and types learnt from the files.

    ``sample_only``: for a discovery that reads no rows afterwards, so large XLSX/XLSM sheets
    are not loaded whole for the few hundred rows the schema is learnt from. The schema is
    the same either way.
    """
    plans: list[StreamPlan] = []
    for spec in settings.sources:
        files = resolve_files(spec)
        base = default_stream_name(spec)
        if not files:
            raise SpreadsheetConfigError(
                f"stream '{base}': no file matches path '{spec.path}'",
                hint="check `path` in the config (globs: *, ?, ** for sub-folders)",
            )
        per_sheet = (
            bool(spec.sheets)
            and not spec.merge_sheets
            and (spec.all_sheets or len(spec.sheets) > 1)
        )
        if not per_sheet:
            sheet = "*" if spec.sheets else None
            plans.append(StreamPlan(name=base, spec=spec, files=files, sheet=sheet))
            continue
        text_files = [f for f in files if is_text_file(f)]
        if text_files:
            plans.append(StreamPlan(name=base, spec=spec, files=text_files, sheet=None))
        by_sheet: dict[str, list[str]] = {}
        for path in files:
            if is_text_file(path):
                continue
            try:
                check_extension(path)
                names = _sheet_names(path, spec)
            except SpreadsheetFileError as exc:
                on_error(exc)
                continue
            for name in names:
                by_sheet.setdefault(name, []).append(path)
        for name, sheet_files in by_sheet.items():
            plans.append(
                StreamPlan(
                    name=f"{base}_{normalize_name(name) or 'sheet'}",
                    spec=spec,
                    files=sheet_files,
                    sheet=name,
                )
            )
    seen: dict[str, str] = {}
    for plan in plans:
        if plan.name in seen:
            raise SpreadsheetConfigError(
                f"two sources make a stream called '{plan.name}' ({seen[plan.name]} and "
                f"{plan.spec.path})",
                hint="give one of them a `stream_name`",
            )
        seen[plan.name] = plan.spec.path
        learn_schema(plan, settings, on_error, sample_only=sample_only)
    return plans


def table_sample(
    table: RawTable, settings: TapSettings, spec: SourceSpec
) -> tuple[TableLayout, list[list[Any]]]:
    """The layout of a table and the first ``infer_rows`` data rows."""
    layout = find_layout(table, header_row=spec.header_row, scan_rows=settings.header_scan_rows)
    width = len(layout.columns)
    # Ragged rows are emitted as bad rows with text cells; they must not sway the types.
    rows = (
        cells
        for _, cells in data_rows(table, layout)
        if len(cells) == width or not any(_filled(c) for c in cells[width:])
    )
    limited = rows if settings.infer_rows == 0 else islice(rows, settings.infer_rows)
    if table.is_text:
        return layout, [cells for cells in limited if len(cells) >= width]
    return layout, list(limited)


def _filled(value: Any) -> bool:
    return value is not None and value != "" and not (isinstance(value, str) and not value.strip())


def sample_size(settings: TapSettings, spec: SourceSpec) -> int:
    """Rows that finding the header and inferring types usually read (0: all of them).

    A margin on top covers blank and ragged rows, which do not count towards
    ``infer_rows``; a sample that is still too short reads on (see ``open_tables``).
    """
    if settings.infer_rows == 0:
        return 0
    above = spec.header_row or settings.header_scan_rows
    return above + settings.infer_rows + max(100, settings.infer_rows // 2)


def learn_schema(
    plan: StreamPlan, settings: TapSettings, on_error: OnFileError, *, sample_only: bool = False
) -> None:
    """Columns (union over the files, first seen first) and types of a stream."""
    spec = plan.spec
    rows = sample_size(settings, spec) if sample_only else 0
    for path in plan.files:
        try:
            tables = list(open_tables(path, spec, plan.sheet, sample_rows=rows))
            for table in tables:
                layout, sample = table_sample(table, settings, spec)
                names = [c.name for c in layout.columns]
                for col in layout.columns:
                    plan.columns.setdefault(col.name, col.header)
                types, formats = infer_types(
                    names,
                    sample,
                    decimal_separator=spec.decimal_separator,
                    date_order=spec.date_order,
                    prefer_comma=table.delimiter == ";",
                )
                plan.types = merge_types(plan.types, types)
                for name, fmt in formats.items():
                    plan.formats.setdefault(name, fmt)
                plan.has_workbooks = plan.has_workbooks or not table.is_text
        except SpreadsheetFileError as exc:
            on_error(exc)
    by_header = {normalize_name(h): n for n, h in plan.columns.items()}
    for column, type_name in spec.column_types.items():
        found = column if column in plan.columns else by_header.get(normalize_name(column))
        if found is None:
            raise SpreadsheetConfigError(
                f"stream '{plan.name}': column_types names '{column}', which is not a column "
                f"of the files (columns: {', '.join(plan.columns)})",
                hint="fix `column_types` in the config",
            )
        plan.types[found] = type_name
