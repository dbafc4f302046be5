"""`workflow account ...`: local staff accounts for the web app."""

from __future__ import annotations

import typer

from workflow.privacy.accounts import AccountError, check_roles

app = typer.Typer(help="Staff accounts for the web app.", no_args_is_help=True)
#: How the audit log names what an operator does here.
OPERATOR = "operator:cli"


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

    try:
        check_roles(role)
    except AccountError as error:
        typer.echo(f"error: --role: {error}", err=True)
        raise typer.Exit(1) from None
    _check_municipality(municipality, role, department)
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


def _check_municipality(code: str | None, roles: list[str], department: str | None) -> None:
    """A staff account works for a municipality whose definition is installed (its cases
    are that definition's), in one of its departments; only a national analyst's account
    has no municipality. Told before the password is asked for."""
    from workflow.runtime import get_runtime

    definitions = [d for d in get_runtime().catalog.current.values() if d.municipality]
    known = {d.municipality.code: d.municipality.name for d in definitions if d.municipality}
    listed = ", ".join(f"{c} ({n})" for c, n in sorted(known.items()))
    if not known:  # run outside the project, or the definitions are elsewhere
        folder = get_runtime().settings.definitions_dir.resolve()
        typer.echo(
            f"error: no municipality's definition found in {folder}; run this in the "
            "project's folder, or set WORKFLOW_DEFINITIONS_DIR to the folder of the "
            "definitions (e.g. its definitions/)",
            err=True,
        )
        raise typer.Exit(1)
    if code is None:
        if set(roles) - {"analyst"}:
            typer.echo(
                f"error: --municipality: a {roles[0]}'s account belongs to a municipality; "
                f"give its code, one of {listed}",
                err=True,
            )
            raise typer.Exit(1)
        return
    if code not in known:
        typer.echo(
            f"error: --municipality {code}: no installed definition has this kommunekode; "
            f"use one of {listed}",
            err=True,
        )
        raise typer.Exit(1)
    departments = sorted(
        {d.id for x in definitions if x.municipality and x.municipality.code == code
         for d in x.departments}
    )  # fmt: skip
    if department is not None and department not in departments:
        typer.echo(
            f"error: --department {department}: {known[code]} has no such department; "
            f"use one of {', '.join(departments)}",
            err=True,
        )
        raise typer.Exit(1)


@app.command("password")
def password(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Set a new password: every session and API token of the account ends."""
    from workflow.runtime import get_runtime

    new = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        ended = get_runtime().accounts.set_password(username, new, by=OPERATOR)
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"password set for {username}; {ended} sessions and API tokens ended")


@app.command("tokens")
def tokens(username: str = typer.Argument(..., help="Login name.")) -> None:
    """List the account's live sessions and API tokens (ids, never the tokens)."""
    from workflow.runtime import get_runtime

    try:
        found = get_runtime().accounts.tokens(username)
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if not found:
        typer.echo(f"{username} has no live sessions or API tokens")
    for token in found:
        name = f"  {token.name}" if token.name else ""
        typer.echo(
            f"{token.id}  {token.kind:<7}  {','.join(token.scopes):<12}  "
            f"created {token.created_at:%Y-%m-%d %H:%M}  expires {token.expires_at:%Y-%m-%d %H:%M}"
            f"{name}"
        )


@app.command("revoke-token")
def revoke_token(
    username: str = typer.Argument(..., help="Login name."),
    token_id: str | None = typer.Argument(None, help="The id from `workflow account tokens`."),
    every: bool = typer.Option(False, "--all", help="End every session and token instead."),
) -> None:
    """End one session or API token of an account (or --all of them)."""
    from workflow.runtime import get_runtime

    accounts = get_runtime().accounts
    try:
        if every:
            ids = [t.id for t in accounts.tokens(username)]
        elif token_id:
            ids = [token_id]
        else:
            typer.echo(
                "error: give a token id (see `workflow account tokens USER`) or --all", err=True
            )
            raise typer.Exit(2)
        missing = [i for i in ids if not accounts.revoke(username, i, by=OPERATOR)]
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if missing:
        typer.echo(
            f"error: {username} has no live session or token '{missing[0]}' "
            f"(see `workflow account tokens {username}`)",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"ended {len(ids)} of {username}'s sessions and API tokens")


@app.command("deactivate")
def deactivate(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Close an account: no login, every session and token ends (the cases keep its id)."""
    from workflow.runtime import get_runtime

    try:
        ended = get_runtime().accounts.deactivate(username, by=OPERATOR)
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"deactivated {username}; {ended} sessions and API tokens ended")


@app.command("reactivate")
def reactivate(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Open a deactivated account again (it logs in anew; old tokens stay ended)."""
    from workflow.runtime import get_runtime

    try:
        get_runtime().accounts.reactivate(username, by=OPERATOR)
    except AccountError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"reactivated {username}")
