"""One exceptions module for the hub, grouped by what the user should do about an error.

The four bases say how to recover; every concrete error derives from exactly one of them and
carries its data (file, line, key path, stream, record key) so the CLI or web layer renders
one clear line. Exit codes follow BSD ``sysexits.h`` so schedulers can tell the cases apart.

=====================  ====  ==========================================================
base                   exit  recovery
=====================  ====  ==========================================================
ConfigurationError       78  fix the project file, mapping or command line, then re-run
RetriableError           75  nothing to fix here: wait (locked master, server down), re-run
SkippableRecordError     65  one record is bad: it is quarantined and the run goes on
FatalError               70  the run stopped (tap crashed, protocol broken); see the message
=====================  ====  ==========================================================

Click's own usage errors exit with 2; success is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CrmhubWarning(UserWarning):
    """Warnings of our own; the test suite turns them into errors."""


class CrmhubError(Exception):
    """Base of every error crmhub reports to a user."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """One line (plus an optional hint) for the terminal."""
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigurationError(CrmhubError):
    """The project file, a mapping or the command line is wrong: fix it and re-run."""

    exit_code = 78


class RetriableError(CrmhubError):
    """A passing condition (locked master, server unreachable): re-run later."""

    exit_code = 75


class SkippableRecordError(CrmhubError):
    """One record cannot be used; it goes to quarantine and the run goes on."""

    exit_code = 65

    def __init__(
        self,
        message: str,
        *,
        reasons: Sequence[str] = (),
        source: str | None = None,
        stream: str | None = None,
        source_key: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.reasons = list(reasons) or [message]
        self.source = source
        self.stream = stream
        self.source_key = source_key


class FatalError(CrmhubError):
    """The run stopped and was marked failed; what was committed before stays."""

    exit_code = 70


# --- configuration ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a file: where it is and what is wrong."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path} (line {self.line})" if self.line else self.path
        return f"{where}: {self.message}"


class ConfigFileError(ConfigurationError):
    """A project or mapping file has problems; all of them are listed at once."""

    def __init__(self, file: str, problems: Sequence[Problem], *, hint: str | None = None):
        self.file = file
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{file}: {count} {noun}:\n{lines}", hint=hint)


class ProjectNotFoundError(ConfigurationError):
    """No crmhub.yml where one was expected."""


class UnknownSourceError(ConfigurationError):
    """A source name given on the command line is not in the project file."""


class TapNotInstalledError(ConfigurationError):
    """The executable configured for a source is not on PATH."""


class MappingError(ConfigurationError):
    """A source mapping does not fit its stream (unknown field, bad transform)."""


# --- retriable -------------------------------------------------------------------------


class MasterLockedError(RetriableError):
    """Another process holds the master database or the project's run lock."""


class DatabaseUnreachableError(RetriableError):
    """The master database URL does not answer."""


# --- record level ----------------------------------------------------------------------


class RecordMappingError(SkippableRecordError):
    """A record could not be mapped to the canonical model."""


# --- fatal -----------------------------------------------------------------------------


class TapFailedError(FatalError):
    """A tap exited non-zero or was killed."""


class SingerProtocolError(FatalError):
    """A tap wrote something that is not a valid Singer message."""

    def __init__(
        self,
        message: str,
        *,
        line_number: int | None = None,
        stream: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.line_number = line_number
        self.stream = stream
        super().__init__(message, hint=hint)


# --- steward decisions -----------------------------------------------------------------


class DecisionError(ConfigurationError):
    """A steward action that cannot be done as asked (unknown id, empty split, ...)."""


class ConflictError(RetriableError):
    """Someone else decided first (optimistic version check): reload and decide again."""
