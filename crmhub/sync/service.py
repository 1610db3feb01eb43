"""The sync run: ingest, deletions, match and publish as one recorded run with child runs.

Every step commits as it goes (Singer STATE with its batch, the match in one transaction,
each accepted record in the publish ledger), so a sync killed at any moment is finished by
the next one: ingest resumes from the last committed STATE, unchanged records are not
written again, pending records are matched, and only what a target has not accepted yet is
published. The orchestration here adds no state of its own that a crash could lose.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from crmhub.config import Project
from crmhub.errors import CrmhubError, FatalError, MasterLockedError, RetriableError
from crmhub.ingest.runner import load_state
from crmhub.ingest.service import ingest_sources, source_names
from crmhub.logs import MaskingFilter, run_log_file
from crmhub.publish.service import TargetFiles, publish_targets, target_names
from crmhub.runs import mark_abandoned_runs, recorded_run
from crmhub.store import Master
from crmhub.store.models import Run, SourceRecord, State
from crmhub.sync.changes import match_reason, publish_reason
from crmhub.sync.deletions import detect_deletions
from crmhub.sync.lock import sync_lock
from crmhub.sync.notify import notify
from crmhub.sync.reconcile import replay_unrecorded, save_offset

log = logging.getLogger("crmhub.sync")

STEPS = ("ingest", "deletions", "match", "publish")


class SyncStepError(FatalError):
    """A sync step failed; the message names the step and the command to retry it."""

    def __init__(self, message: str, *, step: str, retry: str, hint: str | None = None):
        super().__init__(message, hint=hint or f"fix the cause, then run `{retry}`")
        self.step = step
        self.retry = retry


class SyncPartialError(RetriableError):
    """Some sources or targets failed; the rest synced. The next run retries the failed ones."""


@dataclass
class StepResult:
    """What one step did: status, counts, wall and CPU time, error."""

    step: str
    status: str = "skipped"
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "step": self.step,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "counts": self.counts,
            "error": self.error,
            "failed": self.failed,
        }


@dataclass
class SyncResult:
    """The whole run: status (succeeded, partial, failed), steps, what to retry."""

    run_id: int
    status: str = "succeeded"
    steps: list[StepResult] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    failed_step: str | None = None
    retry: str | None = None
    log_file: str | None = None
    notes: list[str] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)

    def step(self, name: str) -> StepResult:
        """The result of step ``name``."""
        return next(s for s in self.steps if s.step == name)

    def as_dict(self) -> dict[str, Any]:
        """The `--json` summary, also stored as the run's counts."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "failed_step": self.failed_step,
            "retry": self.retry,
            "log_file": self.log_file,
            "steps": [s.as_dict() for s in self.steps],
            "notes": self.notes,
            "notifications": self.notifications,
        }


def _cpu() -> float:
    times = os.times()
    # Taps and targets are child processes: their CPU time is part of the step's cost.
    return times.user + times.system + times.children_user + times.children_system


@contextmanager
def _timed(step: StepResult) -> Iterator[None]:
    wall, cpu = time.monotonic(), _cpu()
    try:
        yield
    finally:
        step.seconds = time.monotonic() - wall
        step.cpu_seconds = _cpu() - cpu


def sync_command(sources: Sequence[str], targets: Sequence[str], full: bool) -> str:
    """The `crmhub sync` command line that repeats a run."""
    parts = ["crmhub sync"]
    parts += [f"--source {s}" for s in sources]
    parts += [f"--target {t}" for t in targets]
    return " ".join(parts + (["--full"] if full else []))


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, CrmhubError):
        return exc.message
    if isinstance(exc, OSError) and exc.errno == 28:
        return f"the disk is full ({exc})"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "disk is full" in text or "database or disk is full" in text:
        return f"the disk is full: {text}"
    return f"{type(exc).__name__}: {text}"


def _database_error(exc: SQLAlchemyError, what: str) -> CrmhubError:
    orig = getattr(exc, "orig", None)
    text = (str(orig if orig is not None else exc).splitlines() or [type(exc).__name__])[0]
    if "locked" in text or "could not obtain lock" in text:
        return MasterLockedError(
            f"{what}: the master database is locked by another process ({text})",
            hint="wait for the other process to finish, or raise master.busy_timeout_s; "
            "then re-run `crmhub sync`",
        )
    if "disk is full" in text or "No space left" in text:
        return FatalError(
            f"{what}: the disk is full ({text})",
            hint="free disk space, then re-run `crmhub sync` (what was committed stays)",
        )
    return FatalError(f"{what}: database error: {text}", hint="re-run `crmhub sync` -v for details")


def run_sync(
    project: Project,
    master: Master,
    *,
    sources: Sequence[str] = (),
    targets: Sequence[str] = (),
    full: bool = False,
    wait: bool = False,
    masking: MaskingFilter | None = None,
    log_format: str = "text",
    say: Callable[[str], None] | None = None,
    send_notifications: bool = True,
    schedule: str | None = None,
) -> SyncResult:
    """Run one sync under the project lock and record it; raise when it failed or was partial.

    ``sources``/``targets`` limit the run (default: every enabled one); ``say`` hears each
    step's name; ``schedule`` names the schedule that started it. The returned (or
    raised-with, as ``error.result``) summary is also stored as the run's counts. Failing
    sources or targets make the run ``partial`` (SyncPartialError, exit 75): the rest synced
    and the next run retries them. A failing step makes it ``failed`` (SyncStepError, exit
    70). A master that cannot be written at all (locked, disk full) is one clear error too.
    """
    try:
        return _run_sync(
            project,
            master,
            sources=sources,
            targets=targets,
            full=full,
            wait=wait,
            masking=masking,
            log_format=log_format,
            say=say,
            send_notifications=send_notifications,
            schedule=schedule,
        )
    except SQLAlchemyError as exc:
        raise _database_error(exc, "sync") from exc


def _run_sync(
    project: Project,
    master: Master,
    *,
    sources: Sequence[str] = (),
    targets: Sequence[str] = (),
    full: bool = False,
    wait: bool = False,
    masking: MaskingFilter | None = None,
    log_format: str = "text",
    say: Callable[[str], None] | None = None,
    send_notifications: bool = True,
    schedule: str | None = None,
) -> SyncResult:
    """The sync itself (see :func:`run_sync`)."""
    tell = say or (lambda _text: None)
    source_list = source_names(project, sources)
    target_list = target_names(project, targets) if (targets or project.config.targets) else []
    args: dict[str, Any] = {"sources": list(sources), "targets": list(targets), "full": full}
    if schedule is not None:
        args["schedule"] = schedule
    with sync_lock(master, project.state_dir, project.config.name, wait=wait):
        mark_abandoned_runs(master)
        error: CrmhubError | None = None
        try:
            with recorded_run(master, "sync", args=args) as run:
                log_path = project.state_dir / "logs" / f"run-{run.id}-sync.log"
                with master.session() as s:
                    row = s.get(Run, run.id)
                    if row is not None:
                        row.log_path = str(log_path)
                result = SyncResult(run_id=run.id, log_file=str(log_path))
                wall, cpu = time.monotonic(), _cpu()
                with run_log_file(log_path, masking, log_format=log_format):
                    log.info(
                        "sync run %s started: sources %s, targets %s%s",
                        run.id,
                        ", ".join(source_list),
                        ", ".join(target_list) or "none",
                        " (full)" if full else "",
                    )
                    try:
                        _steps(
                            project, master, run.id, result, source_list, target_list, full, tell
                        )
                        result.notes += _renamed_sources(project, master)
                    finally:
                        result.seconds = time.monotonic() - wall
                        result.cpu_seconds = _cpu() - cpu
                        run.counts = result.as_dict()
                    log.info("sync run %s %s in %.1f s", run.id, result.status, result.seconds)
                error = _outcome_error(result, sources, targets, full)
                if result.status == "partial":
                    run.status = "partial"
                elif error is not None:
                    raise error
        except CrmhubError as exc:
            if exc is not error:
                raise
            # recorded_run marked the run failed with the message; tell people, then raise
    # Outside the run block, so the run row is closed before anybody is told about it.
    if send_notifications:
        result.notifications = notify(
            project.config.name,
            project.config.notifications,
            result.as_dict(),
            project.secrets,
        )
        if result.notifications:
            with master.session() as s:
                row = s.get(Run, result.run_id)
                if row is not None:
                    row.counts = {**(row.counts or {}), "notifications": result.notifications}
    if error is not None:
        error.result = result  # type: ignore[attr-defined]
        raise error
    return result


def _outcome_error(
    result: SyncResult, sources: Sequence[str], targets: Sequence[str], full: bool
) -> CrmhubError | None:
    if result.status == "failed":
        step = result.step(result.failed_step or "ingest")
        err: CrmhubError = SyncStepError(
            f"sync run {result.run_id} failed at step {step.step}: {step.error}",
            step=step.step,
            retry=result.retry or sync_command(sources, targets, full),
            hint=f"fix the cause, then run `{result.retry}` (what was committed stays; "
            f"nothing is duplicated); log: {result.log_file}",
        )
        if step.error and "locked" in step.error:
            err.exit_code = MasterLockedError.exit_code  # waiting helps: a retriable failure
        return err
    if result.status == "partial":
        failed = [f"{s.step}: {', '.join(s.failed)}" for s in result.steps if s.failed]
        return SyncPartialError(
            f"sync run {result.run_id} is partial: failed {'; '.join(failed)}",
            hint=f"the rest synced; the next `crmhub sync` retries them (now: `{result.retry}`); "
            f"log: {result.log_file}",
        )
    return None


def _steps(
    project: Project,
    master: Master,
    run_id: int,
    result: SyncResult,
    source_list: list[str],
    target_list: list[str],
    full: bool,
    tell: Callable[[str], None],
) -> None:
    ingest = StepResult("ingest")
    deletions = StepResult("deletions")
    match = StepResult("match")
    publish = StepResult("publish")
    result.steps = [ingest, deletions, match, publish]
    retry_parts: list[str] = []

    def fail(step: StepResult, exc: BaseException, retry: str) -> None:
        step.status = "failed"
        step.error = _error_text(exc)
        result.status = "failed"
        result.failed_step = step.step
        result.retry = retry
        log.error("step %s failed: %s", step.step, step.error, extra={"step": step.step})

    # ingest: every source as a child run; one failing source does not stop the others
    tell("ingest")
    ok_sources: list[tuple[str, dict[str, Any]]] = []
    with _timed(ingest):
        try:
            if full:
                _forget_source_state(master, source_list)
            outcome = ingest_sources(project, master, source_list, parent_run_id=run_id)
        except (CrmhubError, SQLAlchemyError, OSError) as exc:
            fail(ingest, exc, "crmhub sync" + (" --full" if full else ""))
            return
        totals: dict[str, int] = {}
        for counts in outcome.results:
            if "error" in counts:
                continue
            ok_sources.append((counts["source"], counts))
            for key in ("records", "new", "changed", "unchanged", "quarantined"):
                totals[key] = totals.get(key, 0) + int(counts.get(key) or 0)
        ingest.counts = {**totals, "sources": outcome.results}
        ingest.failed = [name for name, _ in outcome.failures]
        ingest.status = "partial" if ingest.failed else "succeeded"
        for name, failure in outcome.failures:
            log.warning("source %s failed: %s", name, failure.message, extra={"step": "ingest"})
            retry_parts.append(f"--source {name}")
        if ingest.failed and not ok_sources:
            ingest.status = "failed"
    log.info(
        "ingest: %s", ingest.counts and {k: v for k, v in ingest.counts.items() if k != "sources"}
    )

    # deletions: only for sources whose ingest finished in this run
    tell("deletions")
    with _timed(deletions):
        try:
            per_source: dict[str, Any] = {}
            total = 0
            for name, counts in ok_sources:
                with master.session() as s:
                    state_after = load_state(s, "source", name)
                found = detect_deletions(master, name, counts, state_after, force=full)
                per_source[name] = found.as_dict()
                total += found.total
            deletions.counts = {"deleted": total, "sources": per_source}
            deletions.status = "succeeded"
        except (CrmhubError, SQLAlchemyError, OSError) as exc:
            fail(deletions, exc, "crmhub sync")
            return
    log.info("deletions: %s records marked deleted", deletions.counts.get("deleted", 0))

    # match: one transaction; a crash leaves the master as it was before
    tell("match")
    with _timed(match):
        why = "--full" if full else match_reason(master)
        if why is None:
            match.status = "skipped"
            match.counts = {"changed": 0, "note": "nothing new, changed or deleted"}
    if why is not None:
        log.info("match: %s", why)
        with _timed(match):
            try:
                with recorded_run(
                    master, "match", args={"full": full, "sync": run_id}, parent_id=run_id
                ) as child:
                    # Imported here: the matching engine (pandas, numpy) costs about a second
                    # of start-up that a sync with nothing to match should not pay.
                    from crmhub.match.stage import run_match

                    summary = run_match(project, master, child.id, full=full)
                    child.counts = summary.as_dict()
                match.counts = {"run_id": child.id, **child.counts}
                match.status = "succeeded"
            except (CrmhubError, SQLAlchemyError, OSError, ValueError) as exc:
                fail(match, exc, "crmhub match" + (" --full" if full else ""))
                return
    log.info("match: %s", {k: v for k, v in match.counts.items() if not isinstance(v, list)})

    # publish: each target as a child run; accepted records are in the ledger at once
    tell("publish")
    with _timed(publish):
        if not target_list:
            publish.status = "skipped"
            publish.counts = {"note": "no enabled targets"}
        else:
            try:
                replayed = {}
                for name in target_list:
                    results = TargetFiles.of(project, name).results
                    replayed[name] = replay_unrecorded(master, name, results, run_id)
                due = target_list
                if not full:
                    reasons = {name: publish_reason(master, name) for name in target_list}
                    due = [name for name, why in reasons.items() if why is not None]
                    for name, why in reasons.items():
                        log.info("target %s: %s", name, why or "nothing changed, not started")
                outcomes, failures = publish_targets(
                    project, master, due, full=full, parent_run_id=run_id
                )
                for published in outcomes:
                    if published.results_file:
                        save_offset(master, published.target, Path(published.results_file), run_id)
            except (CrmhubError, SQLAlchemyError, OSError) as exc:
                fail(publish, exc, "crmhub publish")
                return
            publish.counts = {
                "replayed_from_killed_runs": sum(replayed.values()),
                "up_to_date": [n for n in target_list if n not in due],
                "sent": sum(o.sent for o in outcomes),
                "accepted": sum(o.accepted for o in outcomes),
                "failed": sum(o.failed for o in outcomes),
                "targets": [o.as_dict() for o in outcomes]
                + [{"target": n, "error": e.message} for n, e in failures],
            }
            publish.failed = [name for name, _ in failures]
            for name, failure in failures:
                log.warning(
                    "target %s failed: %s", name, failure.message, extra={"step": "publish"}
                )
                retry_parts.append(f"--target {name}")
            if failures and not outcomes:
                publish.status = "failed"
                publish.error = "; ".join(f"{n}: {e.message.splitlines()[0]}" for n, e in failures)
                result.status = "failed"
                result.failed_step = "publish"
                result.retry = "crmhub publish " + " ".join(publish.failed)
                return
            publish.status = "partial" if failures else "succeeded"
    if ingest.status == "failed":
        result.status = "failed"
        result.failed_step = "ingest"
        ingest.error = "; ".join(
            f"{s['source']}: {str(s['error']).splitlines()[0]}"
            for s in ingest.counts.get("sources", [])
            if "error" in s
        )
        result.retry = "crmhub sync " + " ".join(retry_parts)
    elif ingest.failed or publish.failed:
        result.status = "partial"
        result.retry = "crmhub sync " + " ".join(retry_parts)


def _forget_source_state(master: Master, names: Sequence[str]) -> None:
    """``--full``: the taps start from scratch (every row re-read, deletions detected)."""
    with master.session() as s:
        s.execute(delete(State).where(State.scope == "source", State.name.in_(list(names))))


def _renamed_sources(project: Project, master: Master) -> list[str]:
    """Sources with live records in the master that the project file no longer names."""
    configured = set(project.config.sources)
    with master.session() as s:
        # The distinct source names by hopping along the (source, source_key) index, one
        # seek per source: a GROUP BY over every source record took seconds at a million.
        names: list[str] = []
        current = s.scalar(select(SourceRecord.source).order_by(SourceRecord.source).limit(1))
        while current is not None:
            names.append(current)
            current = s.scalar(
                select(SourceRecord.source)
                .where(SourceRecord.source > current)
                .order_by(SourceRecord.source)
                .limit(1)
            )
        rows = [
            (name, count)
            for name in names
            if name not in configured
            and (
                count := s.scalar(
                    select(func.count())
                    .select_from(SourceRecord)
                    .where(SourceRecord.source == name, SourceRecord.deleted.is_(False))
                )
                or 0
            )
        ]
    return [
        f"source {name!r} has {count:,} live records in the master but is not in "
        f"{project.file.name} (renamed or removed?): its records stay in their golden records; "
        "rename it back, or keep it until a steward retires them"
        for name, count in rows
    ]
