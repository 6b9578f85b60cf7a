"""``chartkeeper users|clients|token``: accounts and tokens from the command line.

Secrets (generated passwords, client secrets, tokens) go alone on standard output, so a script
can capture them; what they are goes to standard error. Each is shown once and never stored.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from chartkeeper.cli import common
from chartkeeper.cli.common import console, fail
from chartkeeper.config import Settings
from chartkeeper.fhir.instant import format_instant, now_us
from chartkeeper.security.roles import ROLES
from chartkeeper.security.service import SecurityService
from chartkeeper.store.repository import Store

users_app = typer.Typer(help="People who sign in, and their roles.", no_args_is_help=True)
clients_app = typer.Typer(
    help="Systems that call the API (client secret or SMART JWK set).", no_args_is_help=True
)


def _service(ctx: typer.Context, store: Store | None = None) -> SecurityService:
    settings: Settings = ctx.obj
    return SecurityService(
        store or common.open_store(ctx), token_lifetime=settings.token_lifetime, token_url=settings.token_url
    )


def _show_secret(label: str, secret: str) -> None:
    console.print(f"{label} (shown once; it is not stored and cannot be shown again):")
    print(secret)


def initialize_security(ctx: typer.Context, store: Store) -> None:
    """At ``init``: the signing key, and the first admin whose password is printed once."""
    password = common.guard(lambda: _service(ctx, store).initialize())
    if password is not None:
        _show_secret("created user 'admin' (role admin); its password", password)


def _password(password_stdin: bool, generate: bool) -> str | None:
    """The new password: from stdin, generated (None), or typed twice at a hidden prompt."""
    if password_stdin and generate:
        fail("give --password-stdin or --generate-password, not both")
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if generate:
        return None
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True, err=True))


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]
Generate = Annotated[
    bool, typer.Option("--generate-password", help="Generate a random password and print it once.")
]


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Lower-case letters, digits, '.', '_' or '-'.")],
    role: Annotated[list[str], typer.Option("--role", help=f"A role (repeat for more): {', '.join(ROLES)}.")],
    display: Annotated[str | None, typer.Option("--display", help="The person's name as shown.")] = None,
    password_stdin: PasswordStdin = False,
    generate: Generate = False,
) -> None:
    """Add a user. The password comes from a hidden prompt, --password-stdin, or is generated."""
    service = _service(ctx)
    password = _password(password_stdin, generate)
    generated = common.guard(lambda: service.accounts.add_user(username, role, display, password))
    console.print(f"added user {username!r} ({', '.join(sorted(set(role)))})")
    if generated is not None:
        _show_secret("password", generated)


@users_app.command("list")
def users_list(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Users: name, roles, whether disabled or locked."""
    users = common.guard(_service(ctx).accounts.list_users)
    if json_out:
        for u in users:
            row = {
                "username": u.username,
                "display": u.display,
                "roles": list(u.roles),
                "disabled": u.disabled,
                "locked_until": format_instant(u.locked_until)
                if u.locked_until and u.locked_until > now_us()
                else None,
                "created": format_instant(u.created_at),
            }
            print(orjson.dumps(row).decode())
        return
    from rich.table import Table

    table = Table("username", "display", "roles", "status")
    for u in users:
        locked = u.locked_until is not None and u.locked_until > now_us()
        status = "disabled" if u.disabled else ("locked" if locked else "active")
        table.add_row(u.username, u.display, " ".join(u.roles), status)
    console.print(table)


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="The user.")]) -> None:
    """Disable a user: sign-ins and tokens already issued stop working at once."""
    common.guard(lambda: _service(ctx).accounts.disable_user(username))
    console.print(f"disabled user {username!r}")


@users_app.command("reset-password")
def users_reset_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user.")],
    password_stdin: PasswordStdin = False,
    generate: Generate = False,
) -> None:
    """Set a new password (and lift a lockout)."""
    service = _service(ctx)
    if common.guard(lambda: service.accounts.get_user(username)) is None:
        fail(f"no user {username!r}")
    password = _password(password_stdin, generate)
    generated = common.guard(lambda: service.accounts.reset_password(username, password))
    console.print(f"password of {username!r} changed")
    if generated is not None:
        _show_secret("password", generated)


@clients_app.command("add")
def clients_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The client id: lower-case letters, digits, '.', '_' or '-'.")],
    scope: Annotated[
        str,
        typer.Option("--scope", help='The most it may get, e.g. "system/Patient.rs system/Observation.rs".'),
    ],
    jwks: Annotated[
        Path | None, typer.Option("--jwks", help="Public JWK set file (SMART Backend Services, RS384/ES384).")
    ] = None,
    no_secret: Annotated[
        bool,
        typer.Option("--no-secret", help="No client secret: the client authenticates with its JWK set only."),
    ] = False,
) -> None:
    """Register an API client; prints its secret once (only a hash is stored)."""
    jwks_text = common.guard(lambda: jwks.read_text()) if jwks is not None else None
    secret = common.guard(lambda: _service(ctx).accounts.add_client(name, scope, jwks_text, not no_secret))
    console.print(f"added client {name!r}")
    if secret is not None:
        _show_secret("client secret", secret)


@clients_app.command("list")
def clients_list(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Clients: name, allowed scopes, how they authenticate, whether disabled."""
    clients = common.guard(_service(ctx).accounts.list_clients)
    rows = [
        {
            "name": c.name,
            "scopes": c.scopes,
            "auth": " + ".join(a for a, on in (("secret", c.secret_hash), ("jwks", c.jwks)) if on),
            "disabled": c.disabled,
            "created": format_instant(c.created_at),
        }
        for c in clients
    ]
    if json_out:
        for row in rows:
            print(orjson.dumps(row).decode())
        return
    from rich.table import Table

    table = Table("name", "scopes", "auth", "status")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["scopes"]),
            str(row["auth"]),
            "disabled" if row["disabled"] else "active",
        )
    console.print(table)


@clients_app.command("disable")
def clients_disable(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The client.")]) -> None:
    """Disable a client: new tokens are refused and issued ones stop working at once."""
    common.guard(lambda: _service(ctx).accounts.disable_client(name))
    console.print(f"disabled client {name!r}")


def token(
    ctx: typer.Context,
    client: Annotated[str, typer.Option("--client", help="A registered, enabled client.")],
    scope: Annotated[
        str | None, typer.Option("--scope", help="Ask for less than the client's scopes (never more).")
    ] = None,
) -> None:
    """Print a bearer token for a client (the local operator, for scripts); it is audited."""
    response = common.guard(lambda: _service(ctx).issue_client_token(client, scope))
    console.print(f"token for client {client!r}, scope {response.scope!r}, valid {response.expires_in} s:")
    print(response.access_token)


def register(app: typer.Typer) -> None:
    """Add ``users``, ``clients`` and ``token`` to the main command."""
    app.add_typer(users_app, name="users")
    app.add_typer(clients_app, name="clients")
    app.command("token")(token)
