"""`workflow case ...` as a caseworker runs it: a real process on the default SQLite store."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.runtime import Runtime

WORKFLOW = str(Path(sys.executable).with_name("workflow"))


def run(
    home: Path, *args: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "WORKFLOW_"))}
    env["WORKFLOW_HOME"] = str(home)
    env.update(extra_env or {})
    return subprocess.run(
        [WORKFLOW, *args], capture_output=True, text=True, timeout=120, check=False, env=env
    )


REFER = [
    "case",
    "refer",
    "soroe",
    "--name",
    "Test Person",
    "--cpr",
    "0101104321",
    "--birth-date",
    "2010-01-01",
    "--input",
    "source=school",
]


def runtime_on(home: Path) -> Runtime:
    """The CLI's own store (the same home folder), opened in this process to set a case up."""
    from workflow.runtime import build_runtime
    from workflow.settings import Settings

    return build_runtime(Settings(home=home))


def refer_here(runtime: Runtime, caseworker: str = "cw-mette") -> str:
    """The case ``workflow case refer`` with REFER's details opens, opened in this process."""
    from workflow.cases.model import YoungPersonDetails
    from workflow.engine.model import Actor

    person = YoungPersonDetails("Test Person", "0101104321", date(2010, 1, 1))
    inputs = {"source": "school", "caseworker": caseworker}
    return runtime.service.refer("soroe", person, Actor("caseworker", caseworker), inputs).reference


def test_refer_trigger_show_and_refusals(tmp_path: Path) -> None:
    home = tmp_path / "var"
    opened = run(home, *REFER, "--actor", "caseworker:cw-mette", "--input", "caseworker=cw-mette")
    assert opened.returncode == 0, opened.stderr
    reference, _, rest = opened.stdout.splitlines()[0].partition(": ")
    assert re.fullmatch(r"SOR-\d{4}-0001", reference)
    assert rest == "opened in referred"

    accept = [
        "case",
        "trigger",
        reference,
        "accept_referral",
        "--input",
        "young_person_agrees=true",
        "--input",
        "consent=true",
        "--idempotency-key",
        "k1",
        "--actor",
        "caseworker:cw-mette",
    ]
    # The step records the young person's consent: refused without the consent's scope.
    unscoped = run(home, *accept)
    assert unscoped.returncode == 1
    assert unscoped.stderr.splitlines()[:2] == [
        "Refused:",
        "  consent: step 'accept_referral' records the young person's consent (send the "
        "consent's scope with the step: consent.departments (the departments the case may be "
        "shared with, at least one), consent.categories (data categories) and "
        "consent.guardian (true when a custodial parent consented too))",
    ]
    assert "--consent-department DEPARTMENT" in unscoped.stderr
    accept += ["--consent-department", "skole", "--consent-category", "education"]
    accept += ["--parent-consent"]
    first, repeat = run(home, *accept), run(home, *accept)
    assert first.stdout.splitlines()[0] == f"{reference}: referred -> pre_meeting"
    assert repeat.stdout.splitlines()[0] == (
        f"{reference}: referred -> pre_meeting (repeated request: first result)"
    )

    team = json.dumps([{"department": "skole", "person": "laerer-anna"}])
    refused = run(
        home,
        "case",
        "trigger",
        reference,
        "hold_pre_meeting",
        "--input",
        f"team={team}",
        "--input",
        "coordinator=lise",
        "--input",
        'agenda=["uddannelse"]',
        "--input",
        "first_meeting_at=2026-12-01T09:00",
        "--input",
        "meeting_room=kantinen",
        "--actor",
        "caseworker:cw-mette",
    )
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "Refused: Nogle felter mangler eller er udfyldt forkert: meeting_room.",
        "  meeting_room: 'kantinen' er ikke et af valgene: raadhuset_storskaerm, "
        "ungecentret_storskaerm",
    ]

    nobody = run(home, "case", "show", reference)  # who is asking? the access rule must know
    assert nobody.returncode != 0
    assert "--actor role:staff-id" in nobody.stderr
    assert "Traceback" not in nobody.stderr
    stranger = run(home, "case", "show", reference, "--actor", "caseworker:cw-bo")
    assert stranger.returncode == 1
    assert stranger.stderr.strip() == f"Error: no case {reference}"  # not even that it exists

    shown = run(
        home, "case", "show", reference, "--purpose", "opfølgning", "--actor", "caseworker:cw-mette"
    )
    assert shown.returncode == 0, shown.stderr
    assert "stage: pre_meeting" in shown.stdout.splitlines()[0]
    assert "accept_referral          referred -> pre_meeting" in shown.stdout

    missing = run(home, "case", "show", "SOR-2026-0999", "--actor", "caseworker:cw-mette")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: no case SOR-2026-0999"


def test_a_step_is_saved_even_when_prefect_is_unreachable(tmp_path: Path) -> None:
    home = tmp_path / "var"
    env_dead = {"PREFECT_API_URL": "http://127.0.0.1:9/api"}  # nothing listens there
    opened = run(
        home, *REFER, "--actor", "caseworker:cw", "--input", "caseworker=cw", extra_env=env_dead
    )
    assert opened.returncode == 0, opened.stderr
    assert "the step is saved" in opened.stdout
    assert "the next sweep delivers them" in opened.stdout
    assert "Traceback" not in opened.stderr

    # With Prefect still away, the operator sweeps straight against the store: the
    # referral's notification goes out once; a second sweep has nothing left.
    mail = home / "mail"
    assert not list(mail.rglob("*.eml"))
    swept = run(home, "sweep", "--no-prefect", extra_env=env_dead)
    assert swept.returncode == 0, swept.stderr
    assert "delivered: sent 1" in swept.stdout
    assert len(list(mail.rglob("*.eml"))) == 1
    again = run(home, "sweep", "--no-prefect", extra_env=env_dead)
    assert again.stdout.strip() == (
        "Swept: 0 timers fired, 0 task reminders queued; delivered: nothing"
    )


def test_the_role_claimed_with_actor_must_be_held_on_the_case(tmp_path: Path) -> None:
    """The issue's reproduction with the CLI: a Sorø case with caseworker cw-mette,
    coordinator tovholder-lise and team member laerer-anna (skole, with consent). The
    teacher cannot write the plan as coordinator, nor close the case as its caseworker.

    The case is set up, and its stage read afterwards, in this process on the CLI's own
    store (the same home folder); only the two refused commands run as the caseworker
    would type them."""
    from workflow.engine.model import Actor
    from workflow.privacy.consents import ConsentRequest

    home = tmp_path / "var"
    runtime = runtime_on(home)
    mette = Actor("caseworker", "cw-mette")
    reference = refer_here(runtime)
    accept = {"young_person_agrees": True, "consent": True}
    runtime.service.trigger(reference, "accept_referral", accept, mette)
    runtime.consents.give(reference, mette, ConsentRequest(["skole"], [], guardian=True))
    pre_meeting = {
        "team": [{"department": "skole", "person": "laerer-anna"}],
        "coordinator": "tovholder-lise",
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-12-08T09:00",
        "meeting_room": "raadhuset_storskaerm",
    }
    runtime.service.trigger(reference, "hold_pre_meeting", pre_meeting, mette)
    runtime.engine.dispose()

    plan = 'plan=[{"text": "Jeg skal møde op i skole", "theme": "uddannelse"}]'
    as_coordinator = run(
        home,
        "case",
        "trigger",
        reference,
        "hold_first_meeting",
        "--input",
        plan,
        "--input",
        "next_meeting_at=2026-12-15T09:00",
        "--actor",
        "coordinator:laerer-anna",
    )
    assert as_coordinator.returncode == 1
    assert f"laerer-anna is on the team of {reference} as skole, not its coordinator" in (
        as_coordinator.stderr
    )
    as_caseworker = run(
        home, "case", "trigger", reference, "age_out", "--actor", "caseworker:laerer-anna"
    )
    assert as_caseworker.returncode == 1
    assert "not its caseworker" in as_caseworker.stderr
    assert "Traceback" not in as_caseworker.stderr + as_coordinator.stderr
    assert runtime.service.view(reference, mette, None).stage == "awaiting_first_meeting"
    runtime.engine.dispose()


def test_starting_the_course_records_its_consent_and_the_team_is_then_invited(
    tmp_path: Path,
) -> None:
    """Issue 17, on the command line: ``case trigger accept_referral`` with the consent's
    departments and categories records a consent with the step, so the pre-meeting's
    invitations to the team go out at the next sweep (before: withheld for want of it)."""
    from sqlalchemy import select

    from workflow.engine.model import Actor
    from workflow.store.tables import OutboxRow

    home = tmp_path / "var"
    runtime = runtime_on(home)
    reference = refer_here(runtime)
    runtime.engine.dispose()
    started = run(
        home,
        "case",
        "trigger",
        reference,
        "accept_referral",
        "--input",
        "young_person_agrees=true",
        "--input",
        "consent=true",
        "--consent-department",
        "skole",
        "--consent-department",
        "uu",
        "--consent-category",
        "education",
        "--parent-consent",
        "--actor",
        "caseworker:cw-mette",
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.splitlines()[0] == f"{reference}: referred -> pre_meeting"

    today = date.today()
    tuesday = today + timedelta(days=7 + (1 - today.weekday()) % 7)  # a Sorø meeting day
    team = [
        {"department": "skole", "person": "laerer-anna"},
        {"department": "uu", "person": "vejleder-sara"},
    ]
    held = run(
        home,
        "case",
        "trigger",
        reference,
        "hold_pre_meeting",
        "--input",
        f"team={json.dumps(team)}",
        "--input",
        "coordinator=tovholder-lise",
        "--input",
        'agenda=["uddannelse"]',
        "--input",
        f"first_meeting_at={tuesday.isoformat()}T09:00",
        "--input",
        "meeting_room=raadhuset_storskaerm",
        "--actor",
        "caseworker:cw-mette",
    )
    assert held.returncode == 0, held.stderr
    swept = run(home, "sweep", "--no-prefect")
    assert swept.returncode == 0, swept.stderr

    runtime = runtime_on(home)
    view = runtime.service.view(reference, Actor("caseworker", "cw-mette"), "kontrol")
    assert [sorted(d["department"] for d in c["departments"]) for c in view.consents] == [
        ["skole", "uu"]
    ]
    with runtime.sessions() as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.case_id.is_not(None))).all()
        team_rows = {
            str(r.recipient["id"]): r.state for r in rows if r.recipient["kind"] == "team_member"
        }
    runtime.engine.dispose()
    assert team_rows == {"skole": "sent", "uu": "sent"}
