"""Reading XLSX / XLSM / XLSB / XLS / ODS workbooks with python-calamine."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import python_calamine

from tap_spreadsheet.errors import SpreadsheetFileError
from tap_spreadsheet.tables import MergedRange, RawTable, extension_of
from tap_spreadsheet.xlsx_sample import sample_workbook

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
_prefetch: threading.Thread | None = None


def prefetch_sheet(path: str, sheets: Sequence[str] = ()) -> None:
    """Start loading the sheet a run will read first, on a background thread.

    calamine parses without holding the GIL, so the load (about 1 s per 100,000 rows of
    XLSX) runs on the second core while the tap is still importing the Singer SDK (about
    0.5 s). The first :func:`read_sheet_table` waits for it and takes the sheet from the
    cache. A guess only: any problem is left for that read to report with its own message.
    """
    global _prefetch

    def load() -> None:
        key = None
        try:
            workbook = python_calamine.CalamineWorkbook.from_path(path)
            try:
                name = select_sheets(path, workbook, sheets)[0]
                key = _cache_key(path, name)
                sheet = workbook.get_sheet_by_name(name) if key else None
            finally:
                workbook.close()
        except Exception:  # the tap's own read of the file reports it
            return
        if key and sheet is not None:
            _LOADED_SHEET.clear()
            _LOADED_SHEET[key] = sheet

    _prefetch = threading.Thread(target=load, name="tap-spreadsheet-prefetch", daemon=True)
    _prefetch.start()


def _await_prefetch() -> None:
    global _prefetch
    if _prefetch is not None:
        _prefetch.join()
        _prefetch = None


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
    _await_prefetch()
    key = _cache_key(path, sheet_name)
    cached = _LOADED_SHEET.get(key) if key else None
    sheet = cached if cached is not None else _load_sheet(path, workbook, sheet_name)
    if key:
        _LOADED_SHEET.clear()
        _LOADED_SHEET[key] = sheet
    return _sheet_table(path, sheet_name, sheet)


def read_sheet_sample(path: str, sheet_name: str, rows: int) -> RawTable | None:
    """A sheet of an XLSX/XLSM whose first ``rows`` rows come without loading the rest.

    For discovery, which reads only the first rows (:mod:`tap_spreadsheet.xlsx_sample`).
    A reader that goes past them gets the following rows from the whole sheet, loaded
    then, so the table reads exactly like :func:`read_sheet_table`'s. None when a sample
    saves nothing or cannot stand for the sheet: not an XLSX/XLSM, no more rows than that,
    or the sampled rows leave the first columns empty (rows further down might use them,
    and calamine's rows start at the first used column).
    """
    if extension_of(path) not in (".xlsx", ".xlsm"):
        return None
    workbook = _sampled_workbook(path, rows)
    if workbook is None:
        return None
    try:
        sheet = workbook.get_sheet_by_name(sheet_name)
    except (python_calamine.CalamineError, OSError, ValueError):
        return None
    if sheet.start is not None and sheet.start[1] != 0:
        return None
    sample = _sheet_table(path, sheet_name, sheet)
    first_rows = sample.rows

    def rows_then_the_rest() -> Iterator[tuple[int, list[Any]]]:
        read = 0
        for read, cells in first_rows():
            yield read, cells
        whole = open_workbook(path)
        try:
            table = read_sheet_table(path, whole, sheet_name)
        finally:
            whole.close()
        for number, cells in table.rows():
            if number > read:
                yield number, cells

    sample.rows = rows_then_the_rest
    return sample


# The sampled copy of the last workbook (every sheet cut; None: no sample saves anything),
# so that a stream over several of its sheets samples the file once, not once per sheet.
_SAMPLED: dict[tuple[str, str, int, int], python_calamine.CalamineWorkbook | None] = {}


def _sampled_workbook(path: str, rows: int) -> python_calamine.CalamineWorkbook | None:
    key = _cache_key(path, f"sample of {rows} rows")
    if key is not None and key in _SAMPLED:
        return _SAMPLED[key]
    sampled = sample_workbook(path, rows)
    workbook = None
    if sampled is not None and sampled[1]:
        try:
            workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(sampled[0]))
        except (python_calamine.CalamineError, OSError, ValueError):
            workbook = None
    if key is not None:
        _SAMPLED.clear()
        _SAMPLED[key] = workbook
    return workbook


def _load_sheet(
    path: str, workbook: python_calamine.CalamineWorkbook, sheet_name: str
) -> python_calamine.CalamineSheet:
    try:
        return workbook.get_sheet_by_name(sheet_name)
    except python_calamine.CalamineError as exc:
        raise SpreadsheetFileError(
            path,
            f"the sheet cannot be read ({type(exc).__name__}: {exc})",
            sheet=sheet_name,
            hint="open it in Excel or LibreOffice, save it again, and re-run",
        ) from exc


def _sheet_table(path: str, sheet_name: str, sheet: python_calamine.CalamineSheet) -> RawTable:
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
