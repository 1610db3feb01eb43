"""``--workers``: how many processes normalize the records (``crmhub match``, ``crmhub dedupe``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class WorkersType(click.ParamType[Any, Any]):
    """``auto`` or a whole number >= 1."""

    name = "auto|N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """``"auto"`` or the number; a usage error (exit code 2) for anything else."""
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return "auto"
        if text.isdigit() and int(text) >= 1:
            return int(text)
        self.fail(f"{value!r} is not 'auto' or a whole number of processes >= 1", param, ctx)


def workers_option(default: str | None, help_text: str) -> Callable[[F], F]:
    """The ``--workers`` option with the command's own default and help."""
    return click.option(
        "--workers",
        type=WorkersType(),
        default=default,
        show_default=default is not None,
        help=help_text,
    )
