"""Ingest: Singer taps as processes, their output into the master's ``source_record``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmhub.ingest.runner import IngestSummary, SourceIngest

__all__ = ["IngestSummary", "SourceIngest"]


def __getattr__(name: str) -> Any:
    # Lazy: the writer process (crmhub.ingest.writer_process) imports this package too and
    # needs none of the runner's imports (config, mappings, plugins) at its start.
    if name in __all__:
        from crmhub.ingest import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
