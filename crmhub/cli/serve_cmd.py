"""``crmhub serve``: the steward web app."""

from __future__ import annotations

import click

from crmhub.cli.context import CliContext, pass_ctx


@click.command("serve")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default)."
)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (behind HTTPS).")
@pass_ctx
def serve(ctx: CliContext, host: str, port: int, secure_cookies: bool) -> None:
    """Run the steward web app on HOST:PORT, and the project's schedules next to it.

    Log in with a user from `crmhub users add`.
    """
    import uvicorn

    from crmhub.sync.scheduler import serve_scheduler
    from crmhub.web.app import create_app

    project, master = ctx.project(), ctx.master()
    app = create_app(project, master, secure_cookies=secure_cookies)
    scheduler = serve_scheduler(project, master)  # runs the `schedules:` of crmhub.yml
    click.echo(f"crmhub steward app on http://{host}:{port}/ (Ctrl+C stops it)")
    if scheduler is not None:
        click.echo(f"scheduler: {len(project.config.schedules)} schedule(s) from crmhub.yml")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        if scheduler is not None:
            scheduler.stop()


COMMANDS = [serve]
