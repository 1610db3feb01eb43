"""Exceptions of target-crm, grouped by what the user (or the run) does about them.

- ``ConfigurationError``: fix the config or the mapping file and re-run; raised before any write.
- ``AuthenticationError``: the CRM refused the credentials; the run stops with a clear message.
- ``RetriableError``: a throttle, a 5xx or a timeout; retried with backoff, a bounded number
  of times, then turned into a ``BatchError`` for the records concerned.
- ``RecordError``: one record cannot be pushed (missing required field, value too long,
  invalid picklist value, rejected by the CRM); it goes to the error file, the run goes on.
- ``BatchError``: a whole request failed after its retries; every record in it goes to the
  error file with the message, the run goes on.
- ``ProtocolError``: the CRM answered something that is not its API (HTML instead of JSON).
- ``QuotaExceededError``: a daily API allowance is used up; the run stops, retry later.
"""

from __future__ import annotations


class TargetCRMError(Exception):
    """Base of every error target-crm raises on purpose."""


class ConfigurationError(TargetCRMError):
    """Configuration or mapping is wrong: fix it and re-run. Nothing was written."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class AuthenticationError(TargetCRMError):
    """The CRM rejected the credentials (expired or revoked token). The run stops."""


class RetriableError(TargetCRMError):
    """A transient failure (429, 5xx, timeout); the caller backs off and retries."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ProtocolError(TargetCRMError):
    """The CRM answered with something that is not its API (for example an HTML page)."""


class BatchError(TargetCRMError):
    """A whole request failed for good; every record in it is reported as an error."""


class RecordError(TargetCRMError):
    """One record cannot be pushed; it is written to the error file and the run continues."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class QuotaExceededError(TargetCRMError):
    """The CRM's long-term API allowance is used up (Salesforce's 24-hour request limit).

    Waiting seconds will not help: the run stops; unsent records go out on the next run.
    """
