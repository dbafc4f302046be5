"""`workflow consent|access|audit|retention ...`: privacy from the command line.

Every command goes through the same services as the web app, so the access rule and the
audit log apply: commands that touch a case need ``--actor role:staff-id``, and
operator commands (grants, log retention, deletion) need ``--by STAFF-ID`` for the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import typer

from workflow.cli.cases import known_actor
from workflow.errors import WorkflowError
from workflow.texts import LANGUAGES, text

consent_app = typer.Typer(help="The young person's consent to share a case.", no_args_is_help=True)
access_app = typer.Typer(help="Recorded legal bases for access (grants).", no_args_is_help=True)
audit_app = typer.Typer(
    help="The audit log: exports, access logs, retention.", no_args_is_help=True
)
retention_app = typer.Typer(help="Which closed cases may be deleted; deleting them.")
T = TypeVar("T")

ACTOR = typer.Option(..., "--actor", help="role:staff-id of who acts (the access rule).")
BY = typer.Option(..., "--by", help="Your staff id (kept in the audit log).")


@contextmanager
def refusals() -> Iterator[None]:
    """A service's refusal as a line (and its fields), exit code 1 — never a traceback."""
    try:
        yield
    except WorkflowError as exc:
        problems = getattr(exc, "problems", None)
        if problems:
            typer.echo("Refused:", err=True)
            for problem in problems:
                typer.echo(f"  {problem}", err=True)
            typer.echo("Nothing was changed.", err=True)
        else:
            typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


def with_runtime(call: Callable[[Any], T]) -> T:
    from workflow.runtime import get_runtime

    with refusals():
        return call(get_runtime())


# --- consent -----------------------------------------------------------------------


@consent_app.command("give")
def give(
    reference: str = typer.Argument(..., help="Case reference."),
    department: list[str] = typer.Option(..., "--department", help="A department (repeatable)."),
    category: list[str] = typer.Option([], "--category", help="A data category (repeatable)."),
    guardian: bool = typer.Option(False, "--guardian", help="A custodial parent consented too."),
    given_on: str | None = typer.Option(None, help="YYYY-MM-DD (default: today)."),
    actor: str = ACTOR,
) -> None:
    """Record a consent from the signed consent form."""
    from workflow.privacy.consents import ConsentRequest

    try:
        day = date.fromisoformat(given_on) if given_on else None
    except ValueError:
        raise typer.BadParameter("write YYYY-MM-DD", param_hint="--given-on") from None
    request = ConsentRequest(department, category, day, guardian)
    ident = with_runtime(lambda rt: rt.consents.give(reference, known_actor(actor), request))
    typer.echo(f"{reference}: consent {ident} recorded for {', '.join(sorted(set(department)))}")


@consent_app.command("withdraw")
def withdraw(
    reference: str = typer.Argument(..., help="Case reference."),
    department: list[str] = typer.Option([], "--department", help="Only these (default: all)."),
    actor: str = ACTOR,
) -> None:
    """Withdraw consent: sharing with those departments stops now."""
    done = with_runtime(
        lambda rt: rt.consents.withdraw(reference, known_actor(actor), department or None)
    )
    typer.echo(f"{reference}: consent withdrawn for {', '.join(done) or 'no department'}")


# --- legal bases -------------------------------------------------------------------


@access_app.command("grant")
def grant(
    person: str = typer.Argument(..., help="The staff id it is for."),
    municipality: str = typer.Option(..., help="Municipality code, e.g. 340."),
    basis: str = typer.Option(..., help="A short code, e.g. oversight."),
    law: str = typer.Option(..., help="The law it rests on, e.g. 'Serviceloven § 146'."),
    action: list[str] = typer.Option(
        ["read", "export"], "--action", help="read, trigger or export (repeatable)."
    ),
    by: str = BY,
) -> None:
    """Record a legal basis for seeing a municipality's cases."""
    made = with_runtime(
        lambda rt: rt.grants.grant(
            person, municipality, basis, law, f"operator:{by}", tuple(action)
        )
    )
    typer.echo(f"grant {made.id}: {person} in {municipality} ({basis}: {', '.join(made.actions)})")


@access_app.command("revoke")
def revoke(grant_id: int = typer.Argument(..., help="The grant's id."), by: str = BY) -> None:
    """End a grant from now on (it stays on record)."""
    ended = with_runtime(lambda rt: rt.grants.revoke(grant_id, f"operator:{by}"))
    typer.echo(f"grant {ended.id}: revoked {ended.revoked_at:%Y-%m-%d %H:%M}")


@access_app.command("list")
def list_grants(municipality: str | None = typer.Option(None, help="Only this code.")) -> None:
    """Every grant, revoked ones too."""
    for g in with_runtime(lambda rt: rt.grants.list(municipality)):
        state = f"revoked {g.revoked_at:%Y-%m-%d}" if g.revoked_at else "active"
        typer.echo(
            f"{g.id:>4}  {g.person_id}  {g.municipality_code}  {g.basis}  "
            f"[{', '.join(g.actions)}]  {g.law}  ({state})"
        )


# --- the audit log -----------------------------------------------------------------


@audit_app.command("access-log")
def access_log(
    reference: str = typer.Argument(..., help="Case reference."),
    actor: str = ACTOR,
    purpose: str = typer.Option("access log for the citizen", help="Why (logged)."),
    lang: str = typer.Option("da", "--lang", help="da or en."),
    guardian: bool = typer.Option(
        False, "--guardian", help="Written to a guardian ('the young person's course')."
    ),
) -> None:
    """The citizen's full access log, in words, to hand out on request: when, who (a
    role, never a name), what and why — every entry, oldest first."""
    from workflow.web.citizen_log import log_rows

    if lang not in LANGUAGES:
        raise typer.BadParameter(f"use one of {', '.join(LANGUAGES)}", param_hint="--lang")
    shown = with_runtime(
        lambda rt: rt.audit.access_log_shown(reference, known_actor(actor), purpose, None)
    )
    why, zone = text("ung_why", lang), ZoneInfo(shown.definition.calendar.timezone)
    for row in reversed(log_rows(shown, guardian, lang)):
        because = f" ({why.lower()}: {row['why']})" if row["why"] else ""
        at = row["at"].astimezone(zone)
        typer.echo(f"{at:%d-%m-%Y %H:%M}  {row['who']} {row['did']}{because}")


@audit_app.command("export")
def export(
    reference: str = typer.Argument(..., help="Case reference."),
    actor: str = ACTOR,
    purpose: str = typer.Option(..., help="Why you export it (logged)."),
) -> None:
    """The whole case as JSON (CPR masked), logged as an export."""
    data = with_runtime(lambda rt: rt.audit.export(reference, known_actor(actor), purpose))
    typer.echo(json.dumps(data, default=str, ensure_ascii=False, indent=2))


@audit_app.command("prune")
def prune(
    apply: bool = typer.Option(False, "--apply", help="Delete (default: only count)."),
    by: str = BY,
) -> None:
    """Remove audit entries older than the retention period (WORKFLOW_AUDIT_RETENTION_DAYS)."""
    result = with_runtime(lambda rt: rt.audit.prune(f"operator:{by}", dry_run=not apply))
    verb = "would remove" if result.dry_run else "removed"
    typer.echo(f"{verb} {result.entries} entries older than {result.cutoff:%Y-%m-%d}")


# --- retention ---------------------------------------------------------------------


@retention_app.command("report")
def report(by: str = BY) -> None:
    """The dry run: every closed case and what the retention rules say (nothing deleted)."""
    items = with_runtime(lambda rt: rt.retention.report(f"operator:{by}"))
    for i in items:
        until = f"  deletable from {i.deletable_from}" if i.deletable_from else ""
        typer.echo(
            f"{i.reference}  {i.definition}  closed {i.closed_at:%Y-%m-%d}  {i.verdict}{until}"
        )
    deletable = sum(1 for i in items if i.verdict == "may_delete")
    typer.echo(f"{len(items)} closed cases; {deletable} may be deleted")


@retention_app.command("delete")
def delete(
    references: list[str] = typer.Argument(..., help="The cases to delete."),
    authorisation: str = typer.Option(..., help="The archive's authorisation (journal no.)."),
    by: str = BY,
) -> None:
    """Delete closed cases the rules allow; refuses the whole batch otherwise."""
    done = with_runtime(lambda rt: rt.retention.delete(references, f"operator:{by}", authorisation))
    typer.echo(f"deleted {len(done)} cases: {', '.join(done)}")
