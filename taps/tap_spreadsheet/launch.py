"""The ``tap-spreadsheet`` program: start reading the first workbook, then run the tap.

Importing the Singer SDK takes about half a second, and loading a 100,000-row XLSX sheet
about a second more; neither needs the other. So before the SDK is imported, the config
files named on the command line are read just far enough to find the first workbook the
run will open, and its first sheet starts loading on a background thread
(:func:`tap_spreadsheet.workbooks.prefetch_sheet`). Everything else (validation, errors,
which sheets are really read) is left to the tap: a wrong guess costs only the load.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from tap_spreadsheet.tables import WORKBOOK_EXTENSIONS, extension_of, files_for_path

# Runs that read no file, or (discovery) only a sample of it: nothing to load ahead.
_NO_READ_FLAGS = frozenset({"--about", "--help", "--version", "--discover"})


def config_paths(argv: Sequence[str]) -> list[str]:
    """The values of every ``--config PATH`` / ``--config=PATH`` on the command line."""
    paths: list[str] = []
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            paths.append(argv[index + 1])
        elif arg.startswith("--config="):
            paths.append(arg.split("=", 1)[1])
    return [path for path in paths if path != "ENV"]


def first_workbook(argv: Sequence[str]) -> tuple[str, tuple[str, ...]] | None:
    """The first workbook file the run will open and its ``sheets`` setting, if any."""
    if _NO_READ_FLAGS & set(argv):
        return None
    config: dict[str, Any] = {}
    for path in config_paths(argv):
        try:
            with open(path, encoding="utf-8") as handle:
                loaded = json.load(handle)
        except (OSError, ValueError):
            return None  # the tap reports the bad config itself
        if isinstance(loaded, dict):
            config.update(loaded)
    entries = config.get("files")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return None
    entry = entries[0]
    path_setting, sheets = entry.get("path"), entry.get("sheets") or ()
    if not isinstance(path_setting, str) or not isinstance(sheets, list | tuple):
        return None
    try:
        files = files_for_path(path_setting)
    except OSError:
        return None
    if not files or extension_of(files[0]) not in WORKBOOK_EXTENSIONS:
        return None
    return files[0], tuple(str(name) for name in sheets)


def main() -> None:
    """Console script entry point."""
    found = first_workbook(sys.argv[1:])
    if found is not None:
        from tap_spreadsheet.workbooks import prefetch_sheet

        prefetch_sheet(*found)
    from tap_spreadsheet.tap import TapSpreadsheet

    TapSpreadsheet.cli()
