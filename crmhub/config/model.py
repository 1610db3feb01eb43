"""The project file (``crmhub.yml``) as typed models; unknown keys are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    """Base: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MasterConfig(Strict):
    """Where the master database lives."""

    url: str = Field(
        default="sqlite:///master.db",
        description="SQLAlchemy URL; a relative SQLite path is relative to the project folder",
    )
    busy_timeout_s: float = Field(default=10.0, ge=0, description="wait this long for a lock")
    batch_size: int = Field(default=20_000, ge=100, le=1_000_000)


class StreamConfig(Strict):
    """How one stream of a source becomes canonical records."""

    mapping: str | dict[str, Any] | None = Field(
        default=None, description="path of a mapping YAML (relative to the project) or inline"
    )


class SourceConfig(Strict):
    """One Singer tap and the streams it feeds into the master."""

    tap: str | list[str] = Field(description="executable on PATH (or a command as a list)")
    config: dict[str, Any] = Field(default_factory=dict, description="the tap's --config")
    catalog: str | None = Field(default=None, description="catalog file; else --discover")
    catalog_flag: Literal["--catalog", "--properties"] = "--catalog"
    discover: bool = True
    overlap_discovery: bool = Field(
        default=True,
        description=(
            "start the tap while its discovery runs; it reads its catalog from a named pipe "
            "(POSIX), which the hub fills once discovery is done. Turn off for a tap that "
            "must not run twice at once"
        ),
    )
    streams: dict[str, StreamConfig] = Field(default_factory=dict)
    priority: int = Field(default=100, description="survivorship: lower wins")
    enabled: bool = True


class Thresholds(Strict):
    """Match probability bands: merge above auto_merge, review between, distinct below."""

    auto_merge: float = Field(default=0.99, gt=0, le=1)
    review: float = Field(default=0.80, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review >= self.auto_merge:
            raise ValueError(f"review ({self.review}) must be below auto_merge ({self.auto_merge})")
        return self


class MatchingConfig(Strict):
    """The matching stage; engine settings are validated by the engine itself."""

    thresholds: Thresholds = Field(default_factory=Thresholds)
    engine: dict[str, Any] = Field(
        default_factory=dict, description="comparisons and blocking rules (see docs/matching)"
    )
    survivorship: dict[str, Any] = Field(
        default_factory=dict, description="which rule picks each golden field (see docs/matching)"
    )
    workers: int | Literal["auto"] = Field(
        default="auto",
        description="processes that normalize a full match: 'auto' (the CPUs this process may"
        " use, at most 4; one for small inputs) or a number >= 1; a number >= 2 also builds an"
        " incremental run's golden records in a second process",
    )

    @field_validator("workers", mode="before")
    @classmethod
    def _workers(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())  # from ${ENV_VAR}
        if value == "auto" or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        ):
            return value
        raise ValueError(f"must be 'auto' or a whole number of processes >= 1, not {value!r}")


class TargetConfig(Strict):
    """One Singer target the master is published to."""

    target: str | list[str]
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class ScheduleConfig(Strict):
    """One scheduled job that `crmhub serve` runs (and `crmhub schedule show` exports)."""

    cron: str = Field(description="cron expression, five fields (minute hour day month weekday)")
    command: Literal["sync", "ingest", "match", "publish"] = Field(
        default="sync", description="which crmhub command the schedule runs"
    )
    sources: list[str] = Field(default_factory=list, description="only these sources (sync)")
    targets: list[str] = Field(default_factory=list, description="only these targets (sync)")
    full: bool = Field(default=False, description="run with --full")
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from crmhub.sync.cron import check_cron

        return check_cron(value)


class WebhookConfig(Strict):
    """A URL that gets the run summary as a JSON POST."""

    url: str = Field(description="http(s) URL receiving the POST")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    timeout_s: float = Field(default=10.0, gt=0)


class EmailConfig(Strict):
    """An SMTP server and the addresses that get the run summary."""

    smtp_host: str = Field(description="SMTP server host name")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = Field(default=False, description="upgrade the connection with STARTTLS")
    username: str | None = None
    password: str | None = Field(default=None, description="use ${ENV_VAR}; masked in logs")
    sender: str = Field(description="From address")
    to: list[str] = Field(min_length=1, description="recipients")
    timeout_s: float = Field(default=10.0, gt=0)


class NotificationsConfig(Strict):
    """Who hears about sync runs: on failure always, on success when asked."""

    on_success: bool = Field(default=False, description="also notify when a run succeeds")
    on_partial: bool = Field(default=True, description="notify when some sources failed")
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    email: EmailConfig | None = None


class ProjectConfig(Strict):
    """The whole project file."""

    version: Literal[1] = 1
    name: str = "crmhub"
    master: MasterConfig = Field(default_factory=MasterConfig)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)
    schedules: dict[str, ScheduleConfig] = Field(default_factory=dict)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)

    @field_validator("sources", "targets", "schedules")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not name or not all(c.isalnum() or c in "-_" for c in name):
                raise ValueError(f"name {name!r} may only contain letters, digits, - and _")
        return value


class Project:
    """A loaded project: its folder, its validated config, and secrets to mask in logs."""

    def __init__(self, root: Path, file: Path, config: ProjectConfig, secrets: set[str]):
        self.root = root
        self.file = file
        self.config = config
        self.secrets = secrets

    @property
    def state_dir(self) -> Path:
        """Folder for run logs, temporary tap files and the lock file."""
        return self.root / ".crmhub"

    def resolve(self, relative: str) -> Path:
        """A path from the project file, relative to the project folder."""
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.root / path

    def master_url(self) -> str:
        """The master URL with a relative SQLite path made absolute."""
        url = self.config.master.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith("sqlite:////"):
            rest = url[len(prefix) :]
            if rest and rest != ":memory:" and not rest.startswith("file:"):
                return prefix + str(self.resolve(rest))
        return url
