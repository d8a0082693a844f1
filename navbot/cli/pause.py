"""`navbot pause` and `navbot resume`: the kill switch, recorded in the state database.

Every worker reads it at each stage boundary and right before any write, so a pause takes
effect at once on every process that shares the database; `NAVBOT_PAUSED=true` pauses the
processes started with it and cannot be lifted from here.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING

import click

from navbot.core.config import Settings, load_settings

if TYPE_CHECKING:
    from bot.state.store import StateStore

_FULL_NAME_HELP = "owner/repo, or --all"


def _scope(full_name: str | None, everything: bool) -> str:
    from bot.state.job import FULL_NAME
    from bot.state.records import ALL_REPOSITORIES

    if everything == (full_name is not None):
        raise click.UsageError(f"name one repository ({_FULL_NAME_HELP}), not both or neither")
    if full_name is None:
        return ALL_REPOSITORIES
    if not FULL_NAME.fullmatch(full_name):
        raise click.BadParameter(f"{full_name!r} is not owner/repo", param_hint="REPO")
    return full_name


def _state(ctx: click.Context) -> tuple[Settings, StateStore]:
    from bot.state.store import StateStore

    settings = load_settings(home=(ctx.obj or {}).get("home"))
    return settings, StateStore(settings.state_url())


def _who() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment: the pause still holds
        return None


def _label(scope: str) -> str:
    from bot.state.records import ALL_REPOSITORIES

    return "every repository" if scope == ALL_REPOSITORIES else scope


@click.command()
@click.argument("full_name", metavar="[REPO]", required=False)
@click.option("--all", "everything", is_flag=True, help="Pause every repository.")
@click.pass_context
def pause(ctx: click.Context, full_name: str | None, everything: bool) -> None:
    """Stop every comment and reaction on REPO (owner/repo) or on --all, from now on."""
    scope = _scope(full_name, everything)
    _, state = _state(ctx)
    fresh = state.pause(scope, by=_who())
    click.echo(f"paused {_label(scope)}: no comment will be created or edited"
               + ("" if fresh else " (it already was)"))


@click.command()
@click.argument("full_name", metavar="[REPO]", required=False)
@click.option("--all", "everything", is_flag=True, help="Lift the pause of every repository.")
@click.pass_context
def resume(ctx: click.Context, full_name: str | None, everything: bool) -> None:
    """Lift a pause on REPO (owner/repo) or the one of --all."""
    scope = _scope(full_name, everything)
    settings, state = _state(ctx)
    lifted = state.resume(scope)
    click.echo(f"resumed {_label(scope)}" if lifted else f"{_label(scope)} was not paused")
    if settings.paused:
        click.echo("still paused by NAVBOT_PAUSED=true in this environment")


def register(main: click.Group) -> None:
    """Add `pause` and `resume` to the CLI."""
    main.add_command(pause)
    main.add_command(resume)
