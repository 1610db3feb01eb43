"""Docs that cannot drift: every project-file key and mapping key is documented."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from crmhub.config.model import ProjectConfig
from crmhub.mapping.spec import FieldRule, MappingSpec

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _keys(model: type[BaseModel]) -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        annotation = field.annotation
        for candidate in (*getattr(annotation, "__args__", ()), annotation):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys |= _keys(candidate)
    return keys


def test_every_project_file_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    from crmhub.config.model import SourceConfig, StreamConfig, TargetConfig, Thresholds

    keys = _keys(ProjectConfig) | _keys(SourceConfig) | _keys(StreamConfig) | _keys(TargetConfig)
    keys |= _keys(Thresholds)
    missing = sorted(k for k in keys if f"`{k}`" not in text and f"`thresholds.{k}`" not in text)
    assert not missing, f"docs/configuration.md does not document: {missing}"


def test_every_mapping_key_is_documented() -> None:
    text = (DOCS / "mappings.md").read_text()
    missing = sorted(k for k in _keys(MappingSpec) | _keys(FieldRule) if f"`{k}`" not in text)
    assert not missing, f"docs/mappings.md does not document: {missing}"


def test_test_modules_have_unique_names() -> None:
    """pytest imports test folders without __init__.py by basename: equal names collide."""
    tests = Path(__file__).resolve().parents[1]
    seen: dict[str, Path] = {}
    for path in sorted(tests.rglob("test_*.py")):
        if (path.parent / "__init__.py").exists():
            continue
        assert path.name not in seen, f"{path} and {seen[path.name]} share a module name"
        seen[path.name] = path
