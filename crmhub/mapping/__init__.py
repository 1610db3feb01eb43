"""Source mappings: source stream fields -> the canonical model (docs/mappings.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmhub.mapping.apply import CompiledMapping
    from crmhub.mapping.spec import LoadedMapping, MappingSpec, load_mapping

__all__ = ["CompiledMapping", "LoadedMapping", "MappingSpec", "load_mapping"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: tap-crmhub imports only crmhub.mapping.canonical (field lists),
    # and the mapping engine (pydantic, the config loader) was a fifth of its start-up.
    if name == "CompiledMapping":
        from crmhub.mapping.apply import CompiledMapping

        return CompiledMapping
    if name in ("LoadedMapping", "MappingSpec", "load_mapping"):
        from crmhub.mapping import spec

        return getattr(spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
