"""Source mappings: source stream fields -> the canonical model (docs/mappings.md)."""

from __future__ import annotations

from crmhub.mapping.apply import CompiledMapping
from crmhub.mapping.spec import LoadedMapping, MappingSpec, load_mapping

__all__ = ["CompiledMapping", "LoadedMapping", "MappingSpec", "load_mapping"]
