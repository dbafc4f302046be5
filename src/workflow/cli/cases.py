"""`workflow case ...`: refer, trigger and show cases from the command line.

Every command goes through the service layer, like the web app. After a step is
committed its effects are carried out by a `case-step` flow run when a Prefect server is
reachable (PREFECT_API_URL); otherwise the next sweep delivers them.

With ``--remote URL`` (or WORKFLOW_REMOTE) the commands call that server's JSON API
instead, as the user whose token is in WORKFLOW_API_TOKEN (``workflow login`` gives
one); the server then carries out the effects.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import typer

from workflow.cases.model import GuardianDetails
from workflow.cli.remote import Remote, RemoteError
from workflow.engine.model import Actor
from workflow.errors import WorkflowError

app = typer.Typer(help="Refer, trigger and show cases.", no_args_is_help=True)
AUTH_ENV = "WORKFLOW_API_TOKEN"
#: Who acts on the local store, when --actor is not given: role:staff-id.
ACTOR_ENV = "WORKFLOW_ACTOR"
#: How the command line gives the consent a step records (the API's ``consent``).
CONSENT_OPTIONS = (
    "on the command line: --consent-department DEPARTMENT (one or more), "
    "--consent-category CATEGORY, --parent-consent"
)
LOGIN_HINT = f"log in with `workflow login URL --username NAME` and set {AUTH_ENV}"


def register(main: typer.Typer) -> None:
    """Add the top-level commands of this module (`workflow login`) to the main app."""
    main.command()(login)


def remote_option() -> Any:
    """The --remote option of every case command."""
    return typer.Option(
        None,
        "--remote",
        envvar="WORKFLOW_REMOTE",
        help=f"Use this server's JSON API instead of the local store (token: {AUTH_ENV}).",
        metavar="URL",
    )


def actor_option(example: str = "caseworker:cw-mette") -> Any:
    """The --actor option: who acts on the local store (the access rule must know), as
    ``role:staff-id``; from WORKFLOW_ACTOR when not given. With --remote the server's
    token says who acts."""
    return typer.Option(
        None,
        "--actor",
        envvar=ACTOR_ENV,
        metavar="ROLE:STAFF-ID",
        show_envvar=True,
        help=f"Who acts, in a role they hold on the case, e.g. {example} (local store only).",
    )


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a value that is JSON (a list, a number, true) is read as JSON."""
    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{pair}': write key=value", param_hint="--input")
        try:
            inputs[key] = json.loads(value) if value[:1] in "[{0123456789-tfn" else value
        except json.JSONDecodeError:
            inputs[key] = value
    return inputs


def consent_scope(
    departments: list[str], categories: list[str], parent_consent: bool
) -> dict[str, Any] | None:
    """The consent a step gives, as the API's ``consent`` (None: none given)."""
    if not (departments or categories or parent_consent):
        return None
    return {"departments": departments, "categories": categories, "guardian": parent_consent}


def _consent_request(scope: dict[str, Any] | None) -> Any:
    from workflow.privacy.consents import ConsentRequest

    if scope is None:
        return None
    return ConsentRequest(scope["departments"], scope["categories"], guardian=scope["guardian"])


def parse_actor(text: str) -> Actor:
    """`role` or `role:staff-id`."""
    role, _, ident = text.partition(":")
    return Actor(role, ident or None)


def known_actor(text: str | None) -> Actor:
    """`role:staff-id`: reading or changing a case needs to know who asks (the access rule)."""
    if not text:
        raise typer.BadParameter(
            f"say who acts: --actor role:staff-id (e.g. caseworker:cw-mette), or set {ACTOR_ENV}; "
            "the access rule lets only the case's own people see and change it",
            param_hint="--actor",
        )
    actor = parse_actor(text)
    if not actor.id:
        raise typer.BadParameter(
            f"'{text}': write --actor role:staff-id (e.g. caseworker:cw-mette); "
            "the access rule lets only the case's own people see it",
            param_hint="--actor",
        )
    return actor


def _carry_out(result: Any, trigger: str = "caseworker") -> None:
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo("  (no Prefect server configured: the next sweep delivers the notifications)")
        return
    import asyncio

    from workflow.orchestration.flows import run_step

    try:
        outcome = asyncio.run(run_step(result, trigger))
    except Exception as exc:  # the step is committed; its effects wait in the outbox
        typer.echo(
            "  the step is saved, but Prefect could not carry out its effects now "
            f"({type(exc).__name__}); the next sweep delivers them"
        )
        return
    typer.echo(f"  effects carried out by flow run {result.reference}-step-{result.seq}: {outcome}")


def fail(exc: WorkflowError) -> None:
    """Print a refusal (with its fields) and exit 1."""
    _fail(exc)


def _fail(exc: WorkflowError) -> None:
    from workflow.cases.consent_at_start import ConsentScopeError
    from workflow.cases.model import RejectedError
    from workflow.errors import InvalidRequestError

    if isinstance(exc, RejectedError):
        typer.echo(f"Refused: {exc.rejection.text('da')}", err=True)
        for error in exc.rejection.field_errors:
            typer.echo(f"  {error.name}: {error.text('da')}", err=True)
    elif isinstance(exc, InvalidRequestError):
        typer.echo("Refused:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        if isinstance(exc, ConsentScopeError):
            typer.echo(f"  ({CONSENT_OPTIONS})", err=True)
    else:
        typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(1)


def _fail_remote(exc: RemoteError, *, logging_in: bool = False) -> NoReturn:
    """The server's refusal as the local commands print theirs: a line, then the fields."""
    if exc.code == "not_authenticated" and not logging_in:
        typer.echo(f"Error: not logged in, or the token has expired: {LOGIN_HINT}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{'Refused' if exc.code == 'rejected' else 'Error'}: {exc.message}", err=True)
    for problem in exc.problems:
        typer.echo(f"  {problem}", err=True)
    if any(str(problem).startswith("consent") for problem in exc.problems):
        typer.echo(f"  ({CONSENT_OPTIONS})", err=True)
    raise typer.Exit(1)


def _remote(url: str) -> Remote:
    token = os.environ.get(AUTH_ENV, "").strip()
    if not token:
        typer.echo(f"Error: no API token: {LOGIN_HINT}", err=True)
        raise typer.Exit(1)
    try:
        return Remote(url, token)
    except RemoteError as exc:
        _fail_remote(exc)


def _moment(value: datetime | str) -> datetime:
    """A time from the store, or from the API's JSON (ISO 8601 text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _print_case(case: dict[str, Any], zone: ZoneInfo) -> None:
    """A case's stage, timeline, team, coordinator, plan and timers (local or remote)."""
    typer.echo(
        f"{case['reference']}  ({case['definition']} v{case['version']})  stage: {case['stage']}"
    )
    typer.echo("Timeline:")
    for h in case["history"]:
        notes = sum(1 for e in h["effects"] if e["type"] == "Notify")
        typer.echo(
            f"  {h['seq']:>3}  {_moment(h['at']).astimezone(zone):%Y-%m-%d %H:%M}  "
            f"{h['event']:<24} {h['from'] or '(new)'} -> {h['to']}  [{h['actor']}]"
            + (f"  {notes} notification(s)" if notes else "")
        )
    if case["team"]:
        typer.echo("Team (chosen by the young person):")
        for m in case["team"]:
            typer.echo(f"  {m['department']}: {m['person']}")
    if case["coordinator"]:
        typer.echo(f"Coordinator: {case['coordinator']}")
    if case["plan"]:
        typer.echo(f"Plan (version {case['plan_version']}):")
        for g in case["plan"]:
            typer.echo(f"  {g['number']}. {g['text']}  [{g['department'] or '-'}, {g['status']}]")
    for t in case["timers"]:
        passed = " (overdue: passed in this stage)" if t.get("overdue") else ""
        typer.echo(
            f"Timer {t['timer']}: due {_moment(t['due_at']).astimezone(zone):%Y-%m-%d %H:%M}"
            + passed
        )


def _guardian(text: str) -> GuardianDetails:
    """A ``--guardian 'name;cpr[;email[;phone]]'`` option."""
    parts = [part.strip() for part in text.split(";")]
    if len(parts) < 2 or not parts[0] or len(parts) > 4:
        raise typer.BadParameter(
            f"'{text}': write 'name;cpr' or 'name;cpr;email;phone'", param_hint="--guardian"
        )
    parts += [""] * (4 - len(parts))
    return GuardianDetails(parts[0], parts[1], parts[2] or None, parts[3] or None)


@app.command()
def refer(
    definition: str = typer.Argument(..., help="Definition id, e.g. soroe."),
    name: str = typer.Option(..., help="The young person's name (stored only in the case store)."),
    cpr: str = typer.Option(..., help="CPR number (stored only in the case store)."),
    birth_date: str = typer.Option(..., help="Birth date, YYYY-MM-DD."),
    email: str | None = typer.Option(None, help="The young person's own e-mail."),
    phone: str | None = typer.Option(None, help="The young person's own mobile (SMS)."),
    guardian: list[str] = typer.Option(
        [],
        "--guardian",
        help="A custodial parent of a minor: 'name;cpr[;email[;phone]]' (repeatable).",
    ),
    actor: str | None = actor_option(),
    inputs: list[str] = typer.Option(
        [], "--input", metavar="NAME=VALUE", help="A step input, name=value (repeatable)."
    ),
    idempotency_key: str | None = typer.Option(None, help="Repeat-safe key."),
    remote: str | None = remote_option(),
) -> None:
    """Open a case by referral."""
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        raise typer.BadParameter("write YYYY-MM-DD", param_hint="--birth-date") from None
    guardians = [_guardian(text) for text in guardian]
    if remote:
        person = {
            "name": name,
            "cpr": cpr,
            "birth_date": born.isoformat(),
            "email": email,
            "phone": phone,
            "guardians": [vars(g) for g in guardians],
        }
        try:
            answer = _remote(remote).refer(
                definition, person, parse_inputs(inputs), idempotency_key
            )
        except RemoteError as exc:
            _fail_remote(exc)
        typer.echo(f"{answer['reference']}: opened in {answer['to_stage']}")
        return

    from workflow.cases.model import YoungPersonDetails
    from workflow.runtime import get_runtime

    try:
        result = get_runtime().service.refer(
            definition,
            YoungPersonDetails(name, cpr, born, email, phone, tuple(guardians)),
            known_actor(actor),
            parse_inputs(inputs),
            idempotency_key=idempotency_key,
        )
    except WorkflowError as exc:
        _fail(exc)
        return
    typer.echo(f"{result.reference}: opened in {result.to_stage}")
    _carry_out(result)


@app.command()
def trigger(
    reference: str = typer.Argument(..., help="Case reference, e.g. SOR-2026-0042."),
    event: str = typer.Argument(..., help="The step, e.g. accept_referral."),
    inputs: list[str] = typer.Option(
        [], "--input", metavar="NAME=VALUE", help="A step input, name=value (repeatable)."
    ),
    departments: list[str] = typer.Option(
        [],
        "--consent-department",
        metavar="DEPARTMENT",
        help="A department the young person's consent covers (repeatable): a step that "
        "records the consent (accept_referral) needs at least one.",
    ),
    categories: list[str] = typer.Option(
        [],
        "--consent-category",
        metavar="CATEGORY",
        help="A data category the consent covers (repeatable).",
    ),
    parent_consent: bool = typer.Option(
        False, "--parent-consent", help="A custodial parent consented too."
    ),
    actor: str | None = actor_option(),
    idempotency_key: str | None = typer.Option(None, help="Repeat-safe key."),
    remote: str | None = remote_option(),
) -> None:
    """Take the next step of a case.

    A step that records the young person's consent (accept_referral) is given with the
    consent's scope, recorded with the step: --consent-department (one or more),
    --consent-category and --parent-consent."""
    scope = consent_scope(departments, categories, parent_consent)
    if remote:
        try:
            answer = _remote(remote).trigger(
                reference, event, parse_inputs(inputs), idempotency_key, scope
            )
        except RemoteError as exc:
            _fail_remote(exc)
        note = " (repeated request: first result)" if answer["repeated"] else ""
        typer.echo(f"{answer['reference']}: {answer['from_stage']} -> {answer['to_stage']}{note}")
        return

    from workflow.runtime import get_runtime

    raised: list[Any] = []  # the steps the system takes after it (a consent recorded)
    get_runtime().service.system_steps.append(raised.append)
    try:
        result = get_runtime().service.trigger(
            reference,
            event,
            parse_inputs(inputs),
            known_actor(actor),
            idempotency_key=idempotency_key,
            consent=_consent_request(scope),
            consent_required=True,
        )
    except WorkflowError as exc:
        _fail(exc)
        return
    note = " (repeated request: first result)" if result.repeated else ""
    typer.echo(f"{result.reference}: {result.from_stage} -> {result.to_stage}{note}")
    if not result.repeated:
        _carry_out(result)
    for step in raised:
        typer.echo(f"{step.reference}: {step.from_stage} -> {step.to_stage} ({step.event})")
        _carry_out(step, "system")


@app.command()
def show(
    reference: str = typer.Argument(..., help="Case reference."),
    actor: str | None = actor_option(),
    purpose: str = typer.Option(
        "", help="Why you look (kept in the audit log; needed through a legal basis)."
    ),
    remote: str | None = remote_option(),
) -> None:
    """Show a case: stage, timeline, team, plan and running timers."""
    if remote:
        try:
            case = _remote(remote).show(reference, purpose)
        except RemoteError as exc:
            _fail_remote(exc)
        _print_case(case, ZoneInfo(case["timezone"]))
        return

    from workflow.runtime import get_runtime

    runtime = get_runtime()
    try:
        view = runtime.service.view(reference, known_actor(actor), purpose or None)
    except WorkflowError as exc:
        _fail(exc)
        return
    zone = ZoneInfo(runtime.catalog.by_id(view.definition).calendar.timezone)
    _print_case(
        {
            "reference": view.reference,
            "definition": view.definition,
            "version": view.version,
            "stage": view.stage,
            "history": view.history,
            "team": view.team,
            "coordinator": view.coordinator,
            "plan": view.plan,
            "plan_version": view.plan_version,
            "timers": view.timers,
        },
        zone,
    )


def login(
    url: str = typer.Argument(..., help="The server, e.g. https://kui.example."),
    username: str = typer.Option(..., "--username", help="Your username on the server."),
) -> None:
    """Log in to a server; prints an API token to set as WORKFLOW_API_TOKEN."""
    password = typer.prompt("Password", hide_input=True, err=True)
    try:
        remote = Remote(url)
        answer = remote.login(username, password)
    except RemoteError as exc:
        _fail_remote(exc, logging_in=True)
    typer.echo(answer["token"])
    typer.echo(
        f"Logged in until {answer['expires_at']}. Use the token above for the case commands:\n"
        f"  export {AUTH_ENV}=<token> WORKFLOW_REMOTE={remote.base}",
        err=True,
    )
