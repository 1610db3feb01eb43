"""``${VAR}`` interpolation: secrets come from the environment, never from the project file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from crmhub.errors import Problem

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(
    value: Any,
    path: tuple[str | int, ...] = (),
    *,
    environ: Mapping[str, str] | None = None,
    problems: list[Problem] | None = None,
    secrets: set[str] | None = None,
) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of ``value``.

    A variable that is unset and has no default is a problem (collected, not raised) so the
    user sees every missing variable at once. Values that came from the environment are added
    to ``secrets`` so log masking can hide them.
    """
    env = os.environ if environ is None else environ
    if isinstance(value, dict):
        return {
            k: interpolate(v, (*path, k), environ=env, problems=problems, secrets=secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            interpolate(v, (*path, i), environ=env, problems=problems, secrets=secrets)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value

    def repl(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            if secrets is not None and env[name]:
                secrets.add(env[name])
            return env[name]
        if default is not None:
            return default
        if problems is not None:
            dotted = ".".join(str(p) for p in path)
            problems.append(
                Problem(dotted, f"environment variable {name} is not set (export {name}=...)")
            )
        return ""

    return _VAR.sub(repl, value)
