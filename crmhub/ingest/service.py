"""Ingest several sources as recorded runs: what the CLI, the demo and sync share."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crmhub.config import Project
from crmhub.errors import CrmhubError, UnknownSourceError
from crmhub.ingest.runner import ProgressFn, SourceIngest
from crmhub.runs import recorded_run
from crmhub.store import Master


@dataclass
class IngestOutcome:
    """Per-source results (counts or the error) of one `ingest` over several sources."""

    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, CrmhubError]] = field(default_factory=list)

    def raise_failures(self, total: int) -> None:
        """Raise the failure (or one error summarizing several)."""
        if not self.failures:
            return
        if len(self.failures) == 1:
            raise self.failures[0][1]
        first = self.failures[0][1]
        raise type(first)(
            f"{len(self.failures)} of {total} sources failed: "
            + "; ".join(f"{n}: {e.message.splitlines()[0]}" for n, e in self.failures),
            hint="see the messages above; re-run `crmhub ingest` for the failed sources",
        )


def source_names(project: Project, requested: Sequence[str]) -> list[str]:
    """The sources to run: those requested (all must exist) or every enabled one."""
    configured = project.config.sources
    names = list(requested) or [n for n, s in configured.items() if s.enabled]
    unknown = [n for n in names if n not in configured]
    if unknown:
        raise UnknownSourceError(
            f"unknown source(s) {', '.join(unknown)} "
            f"(sources in {project.file.name}: {', '.join(sorted(configured)) or 'none'})",
            hint="check the names, or add them under `sources:` in crmhub.yml",
        )
    if not names:
        raise UnknownSourceError(
            f"{project.file.name} has no enabled sources", hint="add one under `sources:`"
        )
    return names


def ingest_sources(
    project: Project,
    master: Master,
    names: Sequence[str],
    *,
    progress: Callable[[], ProgressFn | None] = lambda: None,
    on_error: Callable[[str, CrmhubError], None] | None = None,
    parent_run_id: int | None = None,
) -> IngestOutcome:
    """Run each source as its own recorded run; a failing source does not stop the others."""
    outcome = IngestOutcome()
    for name in names:
        try:
            counts = ingest_one(project, master, name, progress(), parent_run_id)
        except CrmhubError as exc:
            outcome.failures.append((name, exc))
            outcome.results.append({"source": name, "error": exc.message})
            if on_error is not None:
                on_error(name, exc)
            continue
        outcome.results.append(counts)
    return outcome


def ingest_one(
    project: Project,
    master: Master,
    name: str,
    progress: ProgressFn | None = None,
    parent_run_id: int | None = None,
) -> dict[str, Any]:
    """One source's tap into the master as a recorded run; returns its counts."""
    with recorded_run(
        master, "ingest", target=name, args={"source": name}, parent_id=parent_run_id
    ) as run:
        job = SourceIngest(project, master, name, run.id, progress=progress)
        try:
            job.run()
        finally:
            done = getattr(progress, "done", None)
            if callable(done):
                done()
            run.counts = job.summary.as_dict()
    return {"run_id": run.id, **run.counts}
