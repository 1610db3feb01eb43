"""A sheet of cells, whatever file it came from: the common shape of CSV files and workbook
sheets that header detection, type inference and row reading work on."""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab")
WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS + WORKBOOK_EXTENSIONS
GLOB_CHARS = frozenset("*?[")

# (first row, first column, last row, last column), 0-based, inclusive.
MergedRange = tuple[int, int, int, int]


@dataclass
class RawTable:
    """The cells of one CSV file or one workbook sheet.

    ``rows`` yields ``(row_number, cells)`` from the top of the sheet, row numbers 1-based as
    a spreadsheet shows them (for text files: the line on which the row starts). Text files
    give ``str`` cells; workbooks give calamine's typed cells.
    """

    path: str
    sheet: str | None
    rows: Callable[[], Iterator[tuple[int, list[Any]]]]
    is_text: bool
    delimiter: str | None = None
    encoding: str | None = None
    has_undecodable: bool = False
    # Whether some cell may have surrounding whitespace (see may_need_trim); None: assume so.
    trim_check: Callable[[], bool] | None = None
    merged_ranges: list[MergedRange] = field(default_factory=list)
    # Text files without a quote character (most exports) can be split on line breaks and
    # delimiters with str methods, many rows at a time: this returns an iterator of
    # ``(first_row, lines)`` with the line breaks removed, or None when quoting or a bare
    # carriage return rules that out; ``rows`` is then the only way.
    line_chunks: Callable[[], Iterator[tuple[int, list[str]]] | None] | None = None

    @functools.cached_property
    def may_need_trim(self) -> bool:
        """False when no cell can have surrounding whitespace, so trimming can be skipped.

        The check scans the whole text: it runs when rows are read, not during discovery,
        which only samples the first rows.
        """
        return True if self.trim_check is None else self.trim_check()


def extension_of(path: str) -> str:
    """Lower-case extension of ``path`` including the dot."""
    return Path(path).suffix.lower()


def files_for_path(path_setting: str) -> list[str]:
    """Files for a ``path`` setting: one file, a folder's spreadsheet files, or a glob."""
    path = os.path.expanduser(path_setting)
    if GLOB_CHARS & set(path):
        matches = sorted(glob.glob(path, recursive=True))
        return [m for m in matches if os.path.isfile(m)]
    if os.path.isdir(path):
        return sorted(
            str(entry)
            for entry in Path(path).iterdir()
            if entry.is_file()
            and entry.suffix.lower() in SUPPORTED_EXTENSIONS
            and not entry.name.startswith(("~$", "."))  # Excel lock files, hidden files
        )
    return [path]
