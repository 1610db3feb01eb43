"""Errors of tap-spreadsheet, named by what the user does about them.

A :class:`SpreadsheetFileError` is about one whole file (or one sheet of it): the file is
corrupt, encrypted, of an unknown kind, gone, or empty. Depending on the ``on_file_error``
setting the run stops on it (exit code 1, one clear log line) or logs it, counts it and goes
on with the other files. Problems with single rows are never raised: the row is emitted with
its raw cells and a ``_row_error`` property (see ``rows.py``) so nothing is lost.
"""

from __future__ import annotations


class SpreadsheetError(Exception):
    """Base of every error this tap reports to a user."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """One line for the log: what went wrong, where, and what to do."""
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class SpreadsheetConfigError(SpreadsheetError):
    """The tap configuration is wrong: fix it and re-run."""


class SpreadsheetFileError(SpreadsheetError):
    """One file (or one sheet of it) cannot be read at all."""

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"file '{path}'"
        if sheet is not None:
            where += f", sheet '{sheet}'"
        if row is not None:
            where += f", row {row}"
        super().__init__(f"{where}: {reason}", hint=hint)
        self.path = path
        self.sheet = sheet
        self.row = row
        self.reason = reason
