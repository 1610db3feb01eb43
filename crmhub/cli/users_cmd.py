"""``crmhub users``: who may use the steward app."""

from __future__ import annotations

import getpass

import click
from sqlalchemy import select

from crmhub.cli.context import CliContext, emit_json, pass_ctx
from crmhub.store.models import AppUser
from crmhub.web.users import ROLES, add_user, set_disabled, set_password

_PASSWORD = click.option(
    "--password",
    envvar="CRMHUB_NEW_PASSWORD",
    help="The password (default: asked twice; or $CRMHUB_NEW_PASSWORD for scripts).",
)


def _ask(password: str | None) -> str:
    if password:
        return password
    value: str = click.prompt("password", hide_input=True, confirmation_prompt=True)
    return value


@click.group("users")
def users() -> None:
    """Users and roles of the steward app (viewer, steward, admin)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="steward", show_default=True)
@_PASSWORD
@pass_ctx
def add(ctx: CliContext, username: str, role: str, password: str | None) -> None:
    """Add a user."""
    secret = _ask(password)
    with ctx.master().session() as s:
        add_user(s, username, secret, role, actor=getpass.getuser())
    click.echo(f"added {username} ({role})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(ctx: CliContext, as_json: bool) -> None:
    """List users."""
    with ctx.master().session() as s:
        rows = [
            {
                "username": u.username,
                "role": u.role,
                "disabled": u.disabled,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
            }
            for u in s.scalars(select(AppUser).order_by(AppUser.username))
        ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = " (disabled)" if r["disabled"] else ""
        click.echo(
            f"{r['username']:20} {r['role']:8}{state}  last login {r['last_login_at'] or '-'}"
        )
    if not rows:
        click.echo("no users yet: `crmhub users add NAME --role admin`")


@users.command("disable")
@click.argument("username")
@pass_ctx
def disable(ctx: CliContext, username: str) -> None:
    """Disable a user (their sessions end at once)."""
    with ctx.master().session() as s:
        set_disabled(s, username, True, actor=getpass.getuser())
    click.echo(f"disabled {username}")


@users.command("enable")
@click.argument("username")
@pass_ctx
def enable(ctx: CliContext, username: str) -> None:
    """Enable a disabled user."""
    with ctx.master().session() as s:
        set_disabled(s, username, False, actor=getpass.getuser())
    click.echo(f"enabled {username}")


@users.command("passwd")
@click.argument("username")
@_PASSWORD
@pass_ctx
def passwd(ctx: CliContext, username: str, password: str | None) -> None:
    """Set a user's password (their sessions end)."""
    secret = _ask(password)
    with ctx.master().session() as s:
        set_password(s, username, secret, actor=getpass.getuser())
    click.echo(f"password of {username} changed")


COMMANDS = [users]
