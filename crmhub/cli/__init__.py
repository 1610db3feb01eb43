"""The ``crmhub`` command line: one group, subcommands in their own modules.

Errors reach the user as one clear line (what, where, what to do) and an exit code that
says how to recover (see crmhub/errors.py); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from crmhub import __version__
from crmhub.cli.context import CliContext
from crmhub.errors import CrmhubError
from crmhub.logs import configure

log = logging.getLogger("crmhub")


class CrmhubGroup(click.Group):
    """A group that renders crmhub errors as one line with the right exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; turn our errors into messages and exit codes."""
        try:
            return super().invoke(ctx)
        except CrmhubError as exc:
            verbose = isinstance(ctx.obj, CliContext) and ctx.obj.verbose > 0
            if verbose:
                traceback.print_exc(file=sys.stderr)
            click.secho(f"error: {exc.render()}", err=True, fg="red")
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.secho("interrupted: what was committed stays; re-run to continue", err=True)
            ctx.exit(130)
        finally:
            if isinstance(ctx.obj, CliContext):
                ctx.obj.close()


@click.group(cls=CrmhubGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--project",
    "-p",
    type=click.Path(path_type=Path),
    envvar="CRMHUB_PROJECT",
    help="crmhub.yml (or its folder); default: found in this folder or a parent.",
)
@click.option("--verbose", "-v", count=True, help="More output; -vv for debug, with tracebacks.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="CRMHUB_LOG_FORMAT",
    help="Log lines on stderr and in run log files as text or as JSON objects.",
)
@click.version_option(__version__, prog_name="crmhub")
@click.pass_context
def main(ctx: click.Context, project: Path | None, verbose: int, log_format: str) -> None:
    """crmhub: customer data from many sources into one master, and on to any CRM."""
    masking = configure(verbose, log_format=log_format)
    ctx.obj = CliContext(project_path=project, verbose=verbose, masking=masking)


def _register() -> None:
    from crmhub.cli import (
        db_cmd,
        dedupe_cmd,
        demo_cmd,
        export_cmd,
        ingest_cmd,
        init_cmd,
        match_cmd,
        publish_cmd,
        review_cmd,
        runs_cmd,
        schedule_cmd,
        serve_cmd,
        sync_cmd,
        users_cmd,
    )

    for module in (
        init_cmd,
        demo_cmd,
        ingest_cmd,
        match_cmd,
        dedupe_cmd,
        publish_cmd,
        sync_cmd,
        schedule_cmd,
        review_cmd,
        export_cmd,
        runs_cmd,
        serve_cmd,
        users_cmd,
        db_cmd,
    ):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
