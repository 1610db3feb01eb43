"""Load YAML while remembering the line of every key, so errors can point at the file's line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from crmhub.errors import ConfigFileError, Problem


@dataclass
class YamlDocument:
    """A parsed YAML file: its data and a map from key path to 1-based line number."""

    path: Path
    data: Any
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        """The line of the deepest known key on ``path``."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def _walk(
    node: yaml.Node, path: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), lines)


def load_yaml(path: Path, *, what: str = "file") -> YamlDocument:
    """Parse ``path``; a syntax error becomes a ConfigFileError with line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(str(path), [Problem("(file)", f"{what} does not exist")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(
            str(path), [Problem("(file)", f"cannot read {what}: {exc}")]
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        raise ConfigFileError(
            str(path),
            [Problem("(syntax)", f"{exc.problem or exc}{col}", line)],
            hint="fix the YAML syntax at that line",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(str(path), [Problem("(syntax)", str(exc))]) from None
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlDocument(path=path, data=data, lines=lines)
