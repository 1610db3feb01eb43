"""Project configuration: ``crmhub.yml``."""

from __future__ import annotations

from crmhub.config.loader import PROJECT_FILE, find_project_file, load_project
from crmhub.config.model import Project, ProjectConfig, SourceConfig, TargetConfig

__all__ = [
    "PROJECT_FILE",
    "Project",
    "ProjectConfig",
    "SourceConfig",
    "TargetConfig",
    "find_project_file",
    "load_project",
]
