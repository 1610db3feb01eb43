"""The CLI reference in docs/cli.md, generated from ``--help`` (a test fails when it drifts).

Regenerate with ``python -m crmhub.cli.reference > docs/cli.md``.
"""

from __future__ import annotations

import sys

import click

HEADER = """# crmhub command reference

Generated from `--help` by `python -m crmhub.cli.reference > docs/cli.md`; a test fails
when this page and the commands drift apart.

Exit codes: 0 success; 1 unexpected error; 2 usage error; 65 a record was rejected;
70 the run failed (tap crashed, protocol broken); 75 retry later (master locked, database
unreachable); 78 configuration error (fix crmhub.yml or the mapping).
"""


def _walk(
    command: click.Command, path: list[str], out: list[str], parent: click.Context | None = None
) -> None:
    settings = {**command.context_settings, "terminal_width": 80, "max_content_width": 80}
    ctx = click.Context(command, info_name=path[-1], parent=parent, **settings)
    out.append(f"\n## `{' '.join(path)}`\n\n```\n{command.get_help(ctx).rstrip()}\n```\n")
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                _walk(sub, [*path, name], out, ctx)


def render_reference() -> str:
    """The whole reference as Markdown."""
    from crmhub.cli import main

    out = [HEADER]
    _walk(main, ["crmhub"], out)
    return "".join(out)


if __name__ == "__main__":
    sys.stdout.write(render_reference())
