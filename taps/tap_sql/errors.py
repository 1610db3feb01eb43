"""Errors of tap-sql, grouped by what the user should do about them.

tap-sql is a standalone Singer plugin and imports nothing from the hub, so it has its own
small hierarchy that mirrors the hub's recovery classes and exit codes (BSD ``sysexits.h``):

=========================  ====  ====================================================
class                      exit  recovery
=========================  ====  ====================================================
TapSQLConfigurationError     78  fix the config (URL, credentials, query, filters), re-run
TapSQLRetriableError         75  the server is down or unreachable: re-run later
TapSQLFatalError             70  the run stopped (a table vanished, the database failed)
=========================  ====  ====================================================
"""

from __future__ import annotations


class TapSQLError(Exception):
    """Base of every error tap-sql reports to a user as one clear line."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The message, plus the hint on what to do, for the log."""
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class TapSQLConfigurationError(TapSQLError):
    """The configuration, credentials or a custom query is wrong: fix it and re-run."""

    exit_code = 78


class TapSQLRetriableError(TapSQLError):
    """A passing condition (server down, host unreachable): re-run later."""

    exit_code = 75


class TapSQLFatalError(TapSQLError):
    """The run stopped; what was emitted before (with its STATE) stays valid."""

    exit_code = 70
