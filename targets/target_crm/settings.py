"""Typed view of the target's configuration (validated by singer-sdk's JSON schema first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from target_crm.errors import ConfigurationError
from target_crm.http_client import RetryPolicy

PROFILES = ("hubspot", "salesforce", "dynamics365", "tryton", "csv-import", "sql")
DELETE_POLICIES = ("ignore", "archive", "delete")


@dataclass
class Settings:
    """Everything a profile reads from the config, with defaults filled in."""

    profile: str
    raw: Mapping[str, Any]
    mapping_path: Path | None
    results_path: Path | None
    error_file: Path | None
    report_path: Path | None
    dry_run: bool
    delete_policy: str
    batch_size: int | None
    retry: RetryPolicy
    sample_size: int

    def get(self, name: str, default: Any = None) -> Any:
        """A profile-specific setting."""
        value = self.raw.get(name)
        return default if value is None else value

    def require(self, *names: str) -> None:
        """Raise ConfigurationError naming every missing setting of the profile."""
        missing = [n for n in names if not self.raw.get(n)]
        if missing:
            raise ConfigurationError(
                f"profile {self.profile} needs config setting(s) {', '.join(missing)}; "
                "see docs/targets/target-crm.md"
            )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Build and check settings; raise ConfigurationError listing every problem."""
        problems = []
        profile = str(config.get("profile") or "")
        if profile not in PROFILES:
            problems.append(f"config 'profile' is {profile!r}; use one of {', '.join(PROFILES)}")
        policy = str(config.get("delete_policy") or "archive")
        if policy not in DELETE_POLICIES:
            problems.append(
                f"config 'delete_policy' is {policy!r}; use one of {', '.join(DELETE_POLICIES)}"
            )
        if problems:
            raise ConfigurationError(problems)

        def path(name: str) -> Path | None:
            v = config.get(name)
            return Path(str(v)) if v else None

        return cls(
            profile=profile,
            raw=config,
            mapping_path=path("mapping_path"),
            results_path=path("results_path"),
            error_file=path("error_file"),
            report_path=path("report_path"),
            dry_run=bool(config.get("dry_run", False)),
            delete_policy=policy,
            batch_size=int(config["batch_size"]) if config.get("batch_size") else None,
            retry=RetryPolicy(
                max_retries=int(config.get("max_retries", 5)),
                backoff_base=float(config.get("backoff_base_seconds", 0.5)),
                backoff_max=float(config.get("backoff_max_seconds", 30.0)),
                timeout=float(config.get("request_timeout_seconds", 30.0)),
            ),
            sample_size=int(config.get("sample_size", 5)),
        )
