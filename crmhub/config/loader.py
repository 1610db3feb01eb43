"""Find, read, interpolate and validate ``crmhub.yml``; report every problem at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from crmhub.config.envvars import interpolate
from crmhub.config.model import Project, ProjectConfig
from crmhub.config.yamlsource import YamlDocument, load_yaml
from crmhub.errors import ConfigFileError, Problem, ProjectNotFoundError

PROJECT_FILE = "crmhub.yml"


def find_project_file(start: Path | None = None) -> Path:
    """``crmhub.yml`` in ``start`` or a parent folder, or ``$CRMHUB_PROJECT``."""
    env = os.environ.get("CRMHUB_PROJECT")
    if env:
        path = Path(env)
        path = path / PROJECT_FILE if path.is_dir() else path
        if not path.exists():
            raise ProjectNotFoundError(
                f"CRMHUB_PROJECT points at {path}, which does not exist",
                hint="unset it or run `crmhub init`",
            )
        return path
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.exists():
            return candidate
    raise ProjectNotFoundError(
        f"no {PROJECT_FILE} in {here} or its parent folders",
        hint="run `crmhub init` to create one, or pass --project PATH",
    )


def _problems_from(exc: ValidationError, doc: YamlDocument) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see `crmhub init` for every key)"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(Problem(dotted, message, doc.line_of(loc)))
    return problems


def load_project(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Project:
    """Load and validate a project file; raise one ConfigFileError listing every problem."""
    file = find_project_file() if path is None else path
    if file.is_dir():
        file = file / PROJECT_FILE
    if not file.exists():
        raise ProjectNotFoundError(
            f"{file} does not exist", hint="run `crmhub init` or pass --project PATH"
        )
    doc = load_yaml(file, what="project file")
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigFileError(str(file), [Problem("(top level)", "must be a mapping of keys")])
    problems: list[Problem] = []
    secrets: set[str] = set()
    data = interpolate(data, environ=environ, problems=problems, secrets=secrets)
    for problem in problems:
        parts = tuple(problem.path.split("."))
        problem_line = doc.line_of(parts)
        problems[problems.index(problem)] = Problem(problem.path, problem.message, problem_line)
    config: ProjectConfig | None = None
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, doc))
    if config is not None:
        problems.extend(_check_files(config, file.parent, doc))
    if problems or config is None:
        problems.sort(key=lambda p: (p.line or 0, p.path))
        raise ConfigFileError(str(file), problems, hint="fix these keys and run the command again")
    return Project(root=file.parent.resolve(), file=file.resolve(), config=config, secrets=secrets)


def _check_files(config: ProjectConfig, root: Path, doc: YamlDocument) -> list[Problem]:
    problems = []
    for name, source in config.sources.items():
        for stream, spec in source.streams.items():
            if isinstance(spec.mapping, str) and not (root / spec.mapping).exists():
                loc: tuple[str, ...] = ("sources", name, "streams", stream, "mapping")
                problems.append(
                    Problem(
                        ".".join(loc),
                        f"mapping file {spec.mapping} does not exist",
                        doc.line_of(loc),
                    )
                )
        if source.catalog and not (root / source.catalog).exists():
            loc = ("sources", name, "catalog")
            problems.append(
                Problem(
                    ".".join(loc), f"catalog file {source.catalog} does not exist", doc.line_of(loc)
                )
            )
    return problems
