"""Reading XLSX / XLSM / XLSB / XLS / ODS workbooks with python-calamine."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import python_calamine

from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.tables import MergedRange, RawTable, extension_of

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")
_UNPROTECT_HINT = "remove the password in Excel (File > Info > Protect Workbook) and export again"


def _raise_for_encrypted(path: str) -> None:
    """An encrypted .xlsx is an OLE container holding an EncryptionInfo stream."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64 * 1024)
    except FileNotFoundError as exc:
        raise SpreadsheetFileError(
            path,
            "the file disappeared before it could be read",
            hint="check whether another process moves or deletes files in this folder",
        ) from exc
    if not head:
        raise SpreadsheetFileError(path, "the file is empty", hint="export it again")
    if (
        head.startswith(_OLE_MAGIC)
        and extension_of(path) in (".xlsx", ".xlsm", ".xlsb")
        and _ENCRYPTION_INFO in head
    ):
        raise SpreadsheetFileError(path, "the workbook is password-protected", hint=_UNPROTECT_HINT)


# calamine loads a whole sheet at once; discovery samples the sheet and the sync then reads
# it, so the last sheet loaded is kept (one only, keyed by the file's size and mtime).
_LOADED_SHEET: dict[tuple[str, str, int, int], python_calamine.CalamineSheet] = {}


def _cache_key(path: str, sheet_name: str) -> tuple[str, str, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (os.path.abspath(path), sheet_name, stat.st_size, stat.st_mtime_ns)


def open_workbook(path: str) -> python_calamine.CalamineWorkbook:
    """Open a workbook; every failure becomes a :class:`SpreadsheetFileError`."""
    _raise_for_encrypted(path)
    try:
        return python_calamine.CalamineWorkbook.from_path(path)
    except python_calamine.PasswordError as exc:
        raise SpreadsheetFileError(
            path, "the workbook is password-protected", hint=_UNPROTECT_HINT
        ) from exc
    except FileNotFoundError as exc:
        raise SpreadsheetFileError(path, "the file disappeared before it could be read") from exc
    except (python_calamine.CalamineError, OSError, ValueError) as exc:
        raise SpreadsheetFileError(
            path,
            f"the workbook is corrupt or truncated ({type(exc).__name__}: {exc})",
            hint="open it in Excel or LibreOffice, save it again, and re-run",
        ) from exc


def visible_sheet_names(workbook: python_calamine.CalamineWorkbook) -> list[str]:
    """Names of the visible worksheets, in workbook order."""
    names: list[str] = []
    for meta in workbook.sheets_metadata:
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            continue
        if meta.visible != python_calamine.SheetVisibleEnum.Visible:
            continue
        names.append(meta.name)
    return names


def select_sheets(
    path: str, workbook: python_calamine.CalamineWorkbook, wanted: Sequence[str]
) -> list[str]:
    """The sheets to read: the named ones, all visible ones for ``*``, else the first."""
    visible = visible_sheet_names(workbook) or list(workbook.sheet_names)
    if not visible:
        raise SpreadsheetFileError(path, "the workbook has no worksheets")
    if not wanted:
        return visible[:1]
    if "*" in wanted:
        return visible
    missing = [name for name in wanted if name not in workbook.sheet_names]
    if missing:
        raise SpreadsheetFileError(
            path,
            f"sheet(s) {', '.join(repr(m) for m in missing)} not found",
            hint=f"the workbook has: {', '.join(repr(n) for n in workbook.sheet_names)}",
        )
    return list(wanted)


def read_sheet_table(
    path: str, workbook: python_calamine.CalamineWorkbook, sheet_name: str
) -> RawTable:
    """The cells of one sheet as a :class:`RawTable`."""
    key = _cache_key(path, sheet_name)
    cached = _LOADED_SHEET.get(key) if key else None
    try:
        sheet = cached if cached is not None else workbook.get_sheet_by_name(sheet_name)
    except python_calamine.CalamineError as exc:
        raise SpreadsheetFileError(
            path,
            f"the sheet cannot be read ({type(exc).__name__}: {exc})",
            sheet=sheet_name,
            hint="open it in Excel or LibreOffice, save it again, and re-run",
        ) from exc
    if key:
        _LOADED_SHEET.clear()
        _LOADED_SHEET[key] = sheet
    start = sheet.start
    # iter_rows starts at row 0 but at the first used column; merged ranges are absolute.
    col_offset = start[1] if start else 0
    merged: list[MergedRange] = []
    try:
        ranges = sheet.merged_cell_ranges or []
    except python_calamine.CalamineError:
        ranges = []
    for (r0, c0), (r1, c1) in ranges:
        merged.append((r0, c0 - col_offset, r1, c1 - col_offset))

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for index, row in enumerate(sheet.iter_rows()):
            yield index + 1, row

    return RawTable(path=path, sheet=sheet_name, rows=rows, is_text=False, merged_ranges=merged)
