"""`workflow account ...`: local staff accounts for the web app."""

from __future__ import annotations

import typer

from workflow.privacy.accounts import AccountError

app = typer.Typer(help="Staff accounts for the web app.", no_args_is_help=True)


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name."),
    name: str = typer.Option(..., "--name", help="Full name shown in the app."),
    person_id: str = typer.Option(
        ..., "--person-id", help="Staff id used in cases (team, coordinator, caseworker)."
    ),
    role: list[str] = typer.Option(..., "--role", help="A role, e.g. caseworker (repeatable)."),
    municipality: str | None = typer.Option(None, help="Municipality code, e.g. 340."),
    department: str | None = typer.Option(None, help="Department id, e.g. jobcenter."),
    email: str | None = typer.Option(None, help="Mail address."),
    locale: str = typer.Option("da", help="da or en."),
    sso: bool = typer.Option(False, "--sso", help="No password: logs in through SAML/OIDC."),
) -> None:
    """Create an account (the password is asked for, hidden)."""
    from workflow.runtime import get_runtime

    password = None if sso else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = get_runtime().accounts.create(
            username,
            password,
            display_name=name,
            person_id=person_id,
            roles=role,
            municipality_code=municipality,
            department=department,
            email=email,
            locale=locale,
        )
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {user.username} ({user.person_id}; roles: {', '.join(user.roles)})")


@app.command("password")
def password(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Set a new password (also unlocks the account)."""
    from workflow.runtime import get_runtime

    new = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        get_runtime().accounts.set_password(username, new)
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"password set for {username}")
