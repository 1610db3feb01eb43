"""Publishing errors, on the bases of crmhub.errors (exit codes by what to do)."""

from __future__ import annotations

from crmhub.errors import ConfigurationError, FatalError


class UnknownTargetError(ConfigurationError):
    """A target named on the command line is not under `targets:` in crmhub.yml."""


class PublishFailedError(FatalError):
    """tap-crmhub or the target exited non-zero; what the target accepted is recorded."""
