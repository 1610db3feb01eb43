"""The tap's settings, declared once: JSON schema (drives validation, ``--about`` and the docs)
and the typed view of one ``files`` entry that the rest of the tap works with."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from singer_sdk import typing as th

from tap_spreadsheet.errors import SpreadsheetConfigError

COLUMN_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")
FILE_ERROR_ACTIONS = ("fail", "skip")
DUPLICATE_KEY_ACTIONS = ("flag", "log")

SOURCE_SCHEMA = th.ObjectType(
    th.Property(
        "path",
        th.StringType,
        required=True,
        description=(
            "A file, a folder (every spreadsheet file directly in it) or a glob pattern "
            "(`exports/klanten_*.csv`, `**` for sub-folders). All matching files go into one "
            "stream, in name order; relative paths are taken from the working directory."
        ),
    ),
    th.Property(
        "stream_name",
        th.StringType,
        description=(
            "Name of the stream. Default: the file name (or the pattern without wildcards), "
            "normalized like a column name."
        ),
    ),
    th.Property(
        "sheets",
        th.ArrayType(th.StringType),
        description=(
            'Workbook sheets to read, by name; `["*"]` reads every visible worksheet. '
            "Default: the first visible worksheet. Each sheet is its own stream "
            "(`<stream_name>_<sheet>`) unless `merge_sheets` is true."
        ),
    ),
    th.Property(
        "merge_sheets",
        th.BooleanType,
        default=False,
        description="Read all selected sheets into one stream (`_source_sheet` tells them apart).",
    ),
    th.Property(
        "header_row",
        th.IntegerType,
        description=(
            "1-based row number of the header row. Default: detected (title rows and "
            "group-header rows above the header are skipped)."
        ),
    ),
    th.Property(
        "encoding",
        th.StringType,
        description=(
            "Text encoding of CSV/TSV/TXT files (`utf-8`, `utf-8-sig`, `utf-16`, `cp1252`, "
            "`latin-1`, ...). Default: detected (BOM, UTF-8, else the most likely Western "
            "code page)."
        ),
    ),
    th.Property(
        "delimiter",
        th.StringType,
        description="Cell delimiter of text files. Default: sniffed among `,` `;` tab `|`.",
    ),
    th.Property(
        "quotechar",
        th.StringType,
        default='"',
        description="Quote character of text files.",
    ),
    th.Property(
        "decimal_separator",
        th.StringType,
        default="auto",
        allowed_values=["auto", ".", ","],
        description=(
            "Decimal separator of numbers written as text. `auto` decides per column from "
            "the values (a `;`-delimited file prefers the decimal comma when ambiguous)."
        ),
    ),
    th.Property(
        "date_order",
        th.StringType,
        default="dmy",
        allowed_values=["dmy", "mdy"],
        description=(
            "Order of day and month in dates like 03/04/2024 when the values do not decide "
            "it (a day above 12 does)."
        ),
    ),
    th.Property(
        "primary_keys",
        th.ArrayType(th.StringType),
        description=(
            "Columns forming the primary key (property names or original headers). "
            "Default: the row lineage `_source_file`, `_source_sheet`, `_source_row`."
        ),
    ),
    th.Property(
        "column_types",
        th.ObjectType(additional_properties=th.StringType),
        description=(
            "Type per column (property name or original header), overriding inference: "
            "one of " + ", ".join(f"`{t}`" for t in COLUMN_TYPES) + "."
        ),
    ),
)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "files",
        th.ArrayType(SOURCE_SCHEMA),
        required=True,
        description="The spreadsheet sources: one entry per file, folder or glob pattern.",
    ),
    th.Property(
        "on_file_error",
        th.StringType,
        default="fail",
        allowed_values=list(FILE_ERROR_ACTIONS),
        description=(
            "What to do with a file that cannot be read at all (corrupt, encrypted, unknown "
            "extension, empty, vanished): `fail` stops the run with one error naming the file "
            "(exit code 1); `skip` logs it, counts it and goes on with the other files."
        ),
    ),
    th.Property(
        "duplicate_key_action",
        th.StringType,
        default="flag",
        allowed_values=list(DUPLICATE_KEY_ACTIONS),
        description=(
            "A row whose primary key was already seen in the same file: `flag` emits it with "
            "`_row_error` set (so the hub quarantines it rather than overwriting the first); "
            "`log` only logs and counts it."
        ),
    ),
    th.Property(
        "infer_rows",
        th.IntegerType,
        default=1000,
        description=(
            "Data rows per file sampled to infer column types (0 = all rows). A later value "
            "that does not fit is kept as the original string."
        ),
    ),
    th.Property(
        "header_scan_rows",
        th.IntegerType,
        default=30,
        description="How many rows from the top are searched for the header row.",
    ),
    th.Property(
        "trim_whitespace",
        th.BooleanType,
        default=True,
        description="Strip leading and trailing whitespace from text cells (headers are always stripped).",
    ),
).to_dict()


@dataclass(frozen=True)
class SourceSpec:
    """One entry of the ``files`` setting, with defaults applied."""

    path: str
    stream_name: str | None = None
    sheets: tuple[str, ...] = ()
    merge_sheets: bool = False
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    quotechar: str = '"'
    decimal_separator: str = "auto"
    date_order: str = "dmy"
    primary_keys: tuple[str, ...] = ()
    column_types: Mapping[str, str] = field(default_factory=dict)

    @property
    def all_sheets(self) -> bool:
        """True when every visible sheet is wanted."""
        return "*" in self.sheets


@dataclass(frozen=True)
class TapSettings:
    """The global settings, with defaults applied."""

    sources: tuple[SourceSpec, ...]
    on_file_error: str = "fail"
    duplicate_key_action: str = "flag"
    infer_rows: int = 1000
    header_scan_rows: int = 30
    trim_whitespace: bool = True


def _source_from_config(index: int, raw: Mapping[str, Any]) -> tuple[SourceSpec, list[str]]:
    problems: list[str] = []
    where = f"files[{index}]"
    known = list(SOURCE_SCHEMA.type_dict["properties"])
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            advice = f" (did you mean `{close[0]}`?)" if close else ""
            problems.append(f"{where}.{key}: unknown setting{advice}")
    column_types = dict(raw.get("column_types") or {})
    for column, type_name in column_types.items():
        if type_name not in COLUMN_TYPES:
            problems.append(
                f"{where}.column_types.{column}: unknown type '{type_name}' "
                f"(use one of {', '.join(COLUMN_TYPES)})"
            )
    header_row = raw.get("header_row")
    if header_row is not None and header_row < 1:
        problems.append(f"{where}.header_row: must be 1 or more (rows count from 1)")
    delimiter = raw.get("delimiter")
    if delimiter is not None and len(delimiter) != 1:
        problems.append(f"{where}.delimiter: must be one character, got {delimiter!r}")
    encoding = raw.get("encoding")
    if encoding:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            problems.append(f"{where}.encoding: unknown encoding '{encoding}'")
    spec = SourceSpec(
        path=str(raw["path"]),
        stream_name=raw.get("stream_name"),
        sheets=tuple(raw.get("sheets") or ()),
        merge_sheets=bool(raw.get("merge_sheets", False)),
        header_row=header_row,
        encoding=encoding or None,
        delimiter=delimiter,
        quotechar=raw.get("quotechar") or '"',
        decimal_separator=raw.get("decimal_separator") or "auto",
        date_order=raw.get("date_order") or "dmy",
        primary_keys=tuple(raw.get("primary_keys") or ()),
        column_types=column_types,
    )
    return spec, problems


def settings_from_config(config: Mapping[str, Any]) -> TapSettings:
    """Build the typed settings, collecting every problem into one error."""
    problems: list[str] = []
    sources: list[SourceSpec] = []
    raw_sources: Sequence[Mapping[str, Any]] = config.get("files") or []
    if not raw_sources:
        problems.append("files: at least one entry with a `path` is required")
    for index, raw in enumerate(raw_sources):
        spec, source_problems = _source_from_config(index, raw)
        sources.append(spec)
        problems.extend(source_problems)
    infer_rows = int(config.get("infer_rows", 1000))
    if infer_rows < 0:
        problems.append("infer_rows: must be 0 (all rows) or more")
    if problems:
        raise SpreadsheetConfigError(
            "invalid tap-spreadsheet configuration: " + "; ".join(problems),
            hint="fix the config file and re-run",
        )
    return TapSettings(
        sources=tuple(sources),
        on_file_error=config.get("on_file_error", "fail"),
        duplicate_key_action=config.get("duplicate_key_action", "flag"),
        infer_rows=infer_rows,
        header_scan_rows=int(config.get("header_scan_rows", 30)),
        trim_whitespace=bool(config.get("trim_whitespace", True)),
    )
