"""Ingest: Singer taps as processes, their output into the master's ``source_record``."""

from __future__ import annotations

from crmhub.ingest.runner import IngestSummary, SourceIngest

__all__ = ["IngestSummary", "SourceIngest"]
