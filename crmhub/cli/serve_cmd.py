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
    """Run the steward web app on HOST:PORT (log in with a user from `crmhub users add`)."""
    import uvicorn

    from crmhub.web.app import create_app

    app = create_app(ctx.project(), ctx.master(), secure_cookies=secure_cookies)
    click.echo(f"crmhub steward app on http://{host}:{port}/ (Ctrl+C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


COMMANDS = [serve]
