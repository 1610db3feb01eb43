"""Errors of tap-tryton, grouped by what the user should do about them.

tap-tryton is a standalone Singer plugin and imports nothing from the hub, so it keeps its
own small hierarchy mirroring the hub's recovery classes and exit codes (BSD ``sysexits.h``):

============================  ====  =================================================
class                         exit  recovery
============================  ====  =================================================
TapTrytonConfigurationError     78  fix url, database, username or password; re-run
TapTrytonRetriableError         75  Tryton is down or unreachable: re-run later
TapTrytonFatalError             70  Tryton refused a call; the message says which
============================  ====  =================================================

Whatever stops a run, the STATE messages already written cover exactly the records written
before them, so a re-run with the last STATE loses nothing and repeats nothing.
"""

from __future__ import annotations


class TapTrytonError(Exception):
    """Base of every error tap-tryton reports to a user as one clear line."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The message, plus the hint on what to do, for the log."""
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class TapTrytonConfigurationError(TapTrytonError):
    """Wrong credentials, unknown database, no access to a model: fix the config, re-run."""

    exit_code = 78


class TapTrytonRetriableError(TapTrytonError):
    """Tryton did not answer (down, unreachable, overloaded) after every retry: re-run later."""

    exit_code = 75


class TapTrytonFatalError(TapTrytonError):
    """Tryton answered a call with an error the tap cannot work around."""

    exit_code = 70
