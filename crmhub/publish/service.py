"""`crmhub publish`: each target as a recorded run of ``tap-crmhub | target``.

The hub writes both configs (PluginFiles, mode 0600), points the target's results, error
and report files into the project's ``.crmhub/publish/<target>/`` folder, runs the pipe, then
reads the results written during this run into the publish ledger: accepted records with
their remote id and hash, failed ones on the retry list. A target that stops half-way still
has its accepted records recorded, so a re-run sends only what is left.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmhub.config import Project
from crmhub.errors import CrmhubError
from crmhub.heap import collector_paused
from crmhub.ingest.plugin import PluginFiles, resolve_executable, tail
from crmhub.publish.changes import changed_since
from crmhub.publish.errors import PublishFailedError, UnknownTargetError
from crmhub.publish.ledger import Outcome, ledger_counts, record_outcomes
from crmhub.publish.pipe import run_pipe
from crmhub.publish.results import ResultsTail, count_actions, file_size, read_report
from crmhub.runs import recorded_run
from crmhub.store import Master

TAP_COMMAND = "tap-crmhub"

log = logging.getLogger(__name__)


def target_names(project: Project, requested: Sequence[str]) -> list[str]:
    """The targets to publish to: those requested (all must exist) or every enabled one."""
    configured = project.config.targets
    names = list(requested) or [n for n, t in configured.items() if t.enabled]
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise UnknownTargetError(
            f"unknown target(s) {', '.join(unknown)} "
            f"(targets in {project.file.name}: {', '.join(sorted(configured)) or 'none'})",
            hint="check the names, or add them under `targets:` in crmhub.yml",
        )
    if not names:
        raise UnknownTargetError(
            f"{project.file.name} has no enabled targets",
            hint="add one under `targets:` (target: target-crm, config: {profile: ...})",
        )
    return names


@dataclass
class TargetFiles:
    """Where one target's results, errors, reports and logs live in the project."""

    folder: Path

    @classmethod
    def of(cls, project: Project, name: str) -> TargetFiles:
        """The files of target ``name``; the folder is created."""
        folder = project.state_dir / "publish" / name
        (folder / "reports").mkdir(parents=True, exist_ok=True)
        return cls(folder)

    @property
    def results(self) -> Path:
        """JSONL results of every run: the target's own ledger, kept across runs."""
        return self.folder / "results.jsonl"

    @property
    def errors(self) -> Path:
        """CSV of every record the target failed to push, appended."""
        return self.folder / "errors.csv"

    def report(self, run_id: int) -> Path:
        """The target's run report of one run."""
        return self.folder / "reports" / f"report-{run_id}.json"


@dataclass
class PublishOutcome:
    """What one target did in one run (or would do, in a dry run)."""

    target: str
    run_id: int
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    accepted: int = 0
    failed: int = 0
    retry_list: int = 0
    seconds: float = 0.0
    results_file: str | None = None
    error_file: str | None = None
    report_file: str | None = None
    log_file: str | None = None
    samples: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (`crmhub publish --json`)."""
        return {k: v for k, v in self.__dict__.items()}


def publish_targets(
    project: Project,
    master: Master,
    names: Sequence[str],
    *,
    dry_run: bool = False,
    full: bool = False,
    on_error: Callable[[str, CrmhubError], None] | None = None,
    parent_run_id: int | None = None,
) -> tuple[list[PublishOutcome], list[tuple[str, CrmhubError]]]:
    """Publish to each target as its own recorded run; one failing does not stop the rest."""
    outcomes: list[PublishOutcome] = []
    failures: list[tuple[str, CrmhubError]] = []
    for name in names:
        try:
            outcomes.append(
                publish_one(
                    project,
                    master,
                    name,
                    dry_run=dry_run,
                    full=full,
                    parent_run_id=parent_run_id,
                )
            )
        except CrmhubError as exc:
            failures.append((name, exc))
            if on_error is not None:
                on_error(name, exc)
    return outcomes, failures


def publish_one(
    project: Project,
    master: Master,
    name: str,
    *,
    dry_run: bool = False,
    full: bool = False,
    parent_run_id: int | None = None,
) -> PublishOutcome:
    """Run ``tap-crmhub | <target>`` once for target ``name`` and record what it accepted."""
    config = project.config.targets[name]
    what = f"target {name}"
    tap_command = resolve_executable(TAP_COMMAND, what="tap-crmhub")
    target_command = resolve_executable(config.target, what=what)
    files = TargetFiles.of(project, name)
    logs = project.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    args = {"target": name, "dry_run": dry_run, "full": full}
    with recorded_run(master, "publish", target=name, args=args, parent_id=parent_run_id) as run:
        target_log = logs / f"run-{run.id}-publish-{name}.log"
        tap_log = logs / f"run-{run.id}-publish-{name}-tap.log"
        report = files.report(run.id)
        outcome = PublishOutcome(
            target=name,
            run_id=run.id,
            dry_run=dry_run,
            results_file=str(files.results),
            error_file=str(files.errors),
            report_file=str(report),
            log_file=str(target_log),
        )
        plugin_files = PluginFiles(project.state_dir / "tmp")
        try:
            tap_settings: dict[str, Any] = {
                "master_url": master.url,
                "target": name,
                "only_changed": not full,
            }
            since = None if full else changed_since(master, name)
            if since is not None:
                tap_settings["changed_since"] = since.isoformat()
            tap_config = plugin_files.write("tap-crmhub.json", tap_settings)
            target_config = plugin_files.write(
                "target.json",
                {
                    **config.config,
                    "results_path": str(files.results),
                    "error_file": str(files.errors),
                    "report_path": str(report),
                    "dry_run": dry_run,
                },
            )
            recorder = _Recorder(
                master, name, run.id, ResultsTail(files.results, file_size(files.results))
            )
            try:
                pipe = run_pipe(
                    [*tap_command, "--config", str(tap_config)],
                    [*target_command, "--config", str(target_config)],
                    cwd=project.root,
                    tap_log=tap_log,
                    target_log=target_log,
                    # the ledger is filled batch by batch while the target runs, not after
                    while_running=None if dry_run else recorder.record_new,
                )
            except KeyboardInterrupt:
                # Interrupted: keep what the target confirmed before it was stopped.
                _collect(master, name, recorder, report, outcome)
                raise
        finally:
            plugin_files.cleanup()
        outcome.seconds = round(pipe.seconds, 3)
        _collect(master, name, recorder, report, outcome)
        run.counts = {
            "actions": outcome.counts,
            "sent": outcome.sent,
            "accepted": outcome.accepted,
            "failed": outcome.failed,
            "retry_list": outcome.retry_list,
            "dry_run": dry_run,
            "seconds": outcome.seconds,
        }
        if pipe.target_code != 0:
            raise PublishFailedError(
                f"{what} ({config.target if isinstance(config.target, str) else config.target[0]})"
                f" exited with code {pipe.target_code}; {outcome.accepted:,} records it "
                f"accepted and {outcome.failed:,} failures are recorded:\n{tail(target_log)}",
                hint=f"full log: {target_log}; fix the cause and re-run `crmhub publish {name}` "
                "(accepted records are not sent again)",
            )
        if pipe.tap_code != 0:
            raise PublishFailedError(
                f"tap-crmhub exited with code {pipe.tap_code} while publishing to {name}; "
                f"what {name} accepted is recorded:\n{tail(tap_log)}",
                hint=f"full log: {tap_log}; re-run `crmhub publish {name}`",
            )
    return outcome


@dataclass
class _Recorder:
    """Records the lines a target appends to its results file into the publish ledger.

    Called while the pipe runs (each batch the target confirmed is in the ledger moments
    later, and a hub killed half-way keeps it) and once after it. A failed write (the
    master busy) keeps the lines for the next call; only the last call raises.
    """

    master: Master
    target: str
    run_id: int
    tail: ResultsTail
    counts: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    accepted: int = 0
    failed: int = 0
    pending: list[Outcome] = field(default_factory=list)

    def record_new(self) -> None:
        """Record what the target confirmed since the last call (while it still runs)."""
        try:
            self._record(final=False)
        except CrmhubError as exc:
            log.debug("publish ledger not written yet (retried): %s", exc.message)

    def record_rest(self) -> None:
        """Record everything left, the target having stopped."""
        self._record(final=True)

    def _record(self, *, final: bool) -> None:
        # 100,000 results lines become objects alive until their rows are written; the
        # collector's full passes over them took half of the reading time.
        with collector_paused():
            lines = self.tail.read(final=final)
            self.counts.update(o.action for o in lines)
            self.sent += len(lines)
            self.pending += lines
            if not self.pending:
                return
            with self.master.session() as s:
                recorded = record_outcomes(s, self.target, self.pending, self.run_id)
            self.pending = []
            self.accepted += recorded["accepted"]
            self.failed += recorded["failed"]


def _collect(
    master: Master,
    name: str,
    recorder: _Recorder,
    report: Path,
    outcome: PublishOutcome,
) -> None:
    """Fill ``outcome`` from the target's files; outside a dry run, update the ledger."""
    data = read_report(report)
    if outcome.dry_run:
        # A dry run appends nothing to the results file: the report is all there is.
        totals = (data or {}).get("totals") or {}
        outcome.counts = count_actions([]) | {str(k): int(v) for k, v in totals.items()}
        outcome.sent = sum(outcome.counts.values())
        outcome.samples = (data or {}).get("samples") or {}
        with master.session() as s:
            outcome.retry_list = ledger_counts(s, name).get("failed", 0)
        return
    recorder.record_rest()
    outcome.counts = count_actions([]) | dict(recorder.counts)
    outcome.sent = recorder.sent
    outcome.accepted = recorder.accepted
    outcome.failed = recorder.failed
    with master.session() as s:
        outcome.retry_list = ledger_counts(s, name).get("failed", 0)
    if data is not None:
        outcome.samples = data.get("samples") or {}
    unreadable = recorder.tail.unreadable
    if not recorder.sent and data is None and not unreadable:
        outcome.error = (
            f"{name} wrote no results file and no report: the hub cannot tell what it accepted, "
            "so every record is sent again next time (does the target support results_path?)"
        )
    if unreadable:
        outcome.error = (
            f"{unreadable} unreadable line(s) in {recorder.tail.path} (cut short by a crash?): "
            "those records are sent again next run"
        )
