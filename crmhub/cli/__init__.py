"""The ``crmhub`` command line: one group, subcommands in their own modules.

Errors reach the user as one clear line (what, where, what to do) and an exit code that
says how to recover (see crmhub/errors.py); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import importlib
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


# Subcommand name -> the module that defines it. Modules are imported when their command
# runs (or for --help of the group), so a command pays only for its own imports: a
# no-change `crmhub sync` from cron should not load the matching engine or the web app.
_COMMAND_MODULES: dict[str, str] = {
    "init": "init_cmd",
    "demo": "demo_cmd",
    "ingest": "ingest_cmd",
    "match": "match_cmd",
    "dedupe": "dedupe_cmd",
    "publish": "publish_cmd",
    "sync": "sync_cmd",
    "schedule": "schedule_cmd",
    "review": "review_cmd",
    "xref": "export_cmd",
    "golden": "export_cmd",
    "runs": "runs_cmd",
    "status": "runs_cmd",
    "serve": "serve_cmd",
    "users": "users_cmd",
    "db": "db_cmd",
}


class CrmhubGroup(click.Group):
    """A group that renders crmhub errors as one line with the right exit code.

    Subcommands load lazily from ``_COMMAND_MODULES``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand name, sorted as click lists them."""
        return sorted(set(_COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the subcommand's module the first time it is asked for."""
        module_name = _COMMAND_MODULES.get(cmd_name)
        if module_name is not None and cmd_name not in self.commands:
            module = importlib.import_module(f"crmhub.cli.{module_name}")
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

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
