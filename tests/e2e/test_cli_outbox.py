"""`workflow outbox list | retry` and `workflow machinery` as an operator runs them.

A delivery is given up for real (the SMTP server refuses mail, one attempt allowed) and
another withheld (consent withdrawn for its department); the operator lists them, sees
the case's machinery, puts the dead row back in line and the sweep delivers it — on
SQLite and on PostgreSQL. Codes only in every answer; every use in the audit log.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.test_cli_cases import run
from tests.integration.conftest import (  # noqa: F401 (fixtures)
    Clock,
    clock,
    pg_server,
    settings_for,
    smtp,
    store_url,
)
from tests.support.case_api import ACCEPT, CASEWORKER, PRE_MEETING, REFERRAL_INPUTS
from tests.support.services import SmtpSink
from workflow.cases.model import YoungPersonDetails
from workflow.delivery.mail import message_id
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime, build_runtime
from workflow.store.tables import AuditEntry, OutboxRow

OPERATOR = ("--by", "drift-ole")
PERSON = YoungPersonDetails("Ung Maskinrum", "0101104321", date(2010, 1, 1))


def _open_case(runtime: Runtime) -> str:
    """A case taken to its first meeting: referral, acceptance, consent, pre-meeting."""
    opened = runtime.service.refer("soroe", PERSON, CASEWORKER, REFERRAL_INPUTS)
    runtime.service.trigger(opened.reference, "accept_referral", ACCEPT, CASEWORKER)
    runtime.consents.give(
        opened.reference, CASEWORKER, ConsentRequest(["skole", "uu"], guardian=True)
    )
    runtime.service.trigger(opened.reference, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    return opened.reference


def _env(url: str, sink: SmtpSink) -> dict[str, str]:
    return {
        "WORKFLOW_DATABASE_URL": url,
        "WORKFLOW_SMTP_HOST": "127.0.0.1",
        "WORKFLOW_SMTP_PORT": str(sink.port),
        "WORKFLOW_BASE_URL": "https://kui.example",
    }


def _rows(runtime: Runtime) -> dict[int, OutboxRow]:
    with runtime.sessions() as session:
        return {r.id: r for r in session.scalars(select(OutboxRow))}


def _no_personal_data(output: str, runtime: Runtime) -> None:
    """No name, CPR number, address or error text of any row in an operator's answer."""
    assert PERSON.name not in output
    assert PERSON.cpr not in output
    assert "@" not in output
    assert "Service not available" not in output  # the SMTP server's words
    for row in _rows(runtime).values():
        for value in row.recipient.values():
            if value and str(value) not in {row.recipient.get("kind"), row.recipient.get("id")}:
                assert str(value) not in output


@pytest.fixture
def operated(
    store_url: str,  # noqa: F811
    smtp: SmtpSink,  # noqa: F811
    clock: Clock,  # noqa: F811
    tmp_path: Path,
) -> tuple[Runtime, str, Path]:
    """A case whose e-mail was given up (SMTP refuses, one attempt) and whose letter to
    'uu' was withheld (consent withdrawn), delivered once on the CLI's own store."""
    home = tmp_path / "var"
    settings = settings_for(store_url, smtp, home).model_copy(update={"delivery_attempts": 1})
    runtime = build_runtime(settings, clock=clock)
    reference = _open_case(runtime)
    runtime.consents.withdraw(reference, CASEWORKER, ["uu"])
    smtp.down = True  # up, but answering 421 to every message
    delivered = runtime.deliverer.drain()
    # E-mails to staff and the team are given up; the young person's and guardian's
    # letters (files) are sent; the invitation to 'uu' is withheld.
    assert delivered == {"dead": 5, "sent": 2, "withheld": 1}, delivered
    return runtime, reference, home


def test_a_dead_delivery_listed_retried_and_delivered(
    operated: tuple[Runtime, str, Path],
    store_url: str,  # noqa: F811
    smtp: SmtpSink,  # noqa: F811
) -> None:
    runtime, reference, home = operated
    env = _env(store_url, smtp)
    rows = _rows(runtime)
    dead = sorted(r.id for r in rows.values() if r.state == "dead")
    (withheld,) = (r for r in rows.values() if r.state == "withheld")
    skole = next(r for r in rows.values() if r.recipient["id"] == "skole")
    assert skole.state == "dead"

    listed = run(home, "outbox", "list", "--state", "dead", *OPERATOR, extra_env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "id", "case", "step", "recipient", "template", "state", "try", "error", "type"
    ]  # fmt: skip
    shown = {int(line.split()[0]): line.split()[1:] for line in lines[1:]}
    assert sorted(shown) == dead
    assert shown[skole.id] == [
        reference,
        "4",
        "team_member:skole",
        "first_meeting_invitation",
        "dead",
        "1",
        "SMTP",
        "421",
    ]  # fmt: skip (step 4: the pre-meeting, after consent_given)
    _no_personal_data(listed.stdout, runtime)

    by_case = run(home, "outbox", "list", "--case", reference, "--json", *OPERATOR, extra_env=env)
    assert by_case.returncode == 0, by_case.stderr
    assert [by_case.stdout.count(f'"state": "{s}"') for s in ("dead", "withheld", "sent")] == [
        5, 1, 2
    ]  # fmt: skip
    assert '"error_type": "no_consent"' in by_case.stdout
    _no_personal_data(by_case.stdout, runtime)

    view = run(home, "machinery", reference, *OPERATOR, extra_env=env)
    assert view.returncode == 0, view.stderr
    text = view.stdout
    assert text.splitlines()[0].startswith(f"{reference}  soroe v")
    steps = re.findall(r"^ +(\d+)  (\w+) +(\w+) +\d{4}-", text, re.MULTILINE)
    assert steps == [
        ("1", "refer", "caseworker"),
        ("2", "accept_referral", "caseworker"),
        ("3", "consent_given", "system"),
        ("4", "hold_pre_meeting", "caseworker"),
        ("5", "consent_withdrawn", "system"),
    ], text
    assert re.search(r"^ +\d+  pre_meeting_due +cancelled +due 2026-03-16", text, re.MULTILINE)
    # A timer due on a birthday shows no date: it is the young person's birth date (it
    # was shown, though the operator sees no personal data).
    assert re.search(
        r"^ +\d+  eighteenth_birthday +\w+ +due on a date of the young person's \(not shown\)",
        text,
        re.MULTILINE,
    ), text
    assert re.search(r"team_member:uu +withheld 1\n", text), text
    assert re.search(r"team_member:skole +dead 1\n", text), text
    assert "Not delivered:" in text
    assert f"tagged case:{reference}" in text
    _no_personal_data(text, runtime)
    # A leader without a legal basis is told "no case"; the operator is not.
    assert run(home, "machinery", "SOR-2026-9999", *OPERATOR, extra_env=env).stderr.strip() == (
        "Error: no case SOR-2026-9999"
    )

    # The withheld row stays withheld unless asked; the dead one goes back in line.
    retried = run(home, "outbox", "retry", "--case", reference, *OPERATOR, extra_env=env)
    assert retried.returncode == 0, retried.stderr
    assert (
        f"retried {skole.id} ({reference} step 4: team_member:skole first_meeting_invitation; "
        "was dead)"
    ) in retried.stdout
    assert retried.stdout.count("retried ") == 5
    assert f"left {withheld.id} ({reference}): withheld (add --include-withheld)" in (
        retried.stdout
    )
    after = _rows(runtime)
    assert {(after[i].state, after[i].attempts, after[i].last_error) for i in dead} == {
        ("pending", 0, None)
    }
    assert after[withheld.id].state == "withheld"
    again = run(home, "outbox", "retry", str(skole.id), "99999", *OPERATOR, extra_env=env)
    assert again.returncode == 1
    assert f"left {skole.id} ({reference}): pending" in again.stdout
    assert "no outbox row 99999" in again.stderr

    smtp.down = False
    assert smtp.received == []
    swept = run(home, "sweep", "--no-prefect", extra_env=env)
    assert swept.returncode == 0, swept.stderr
    # Each retried row's mail arrived, once per address (the sweep also fired the case's
    # timers, due by the wall clock: their mails arrive too, under keys of their own).
    arrived = Counter(m["Message-ID"] for _, m in smtp.messages())
    rows = _rows(runtime)
    assert {arrived[message_id(rows[i].dedupe_key)] for i in dead} == {1}
    assert {_rows(runtime)[i].state for i in dead} == {"sent"}
    # The withheld row, retried explicitly, is checked again: still no consent for uu.
    forced = run(
        home, "outbox", "retry", str(withheld.id), "--include-withheld", *OPERATOR, extra_env=env
    )
    assert f"retried {withheld.id}" in forced.stdout
    run(home, "sweep", "--no-prefect", extra_env=env)
    assert _rows(runtime)[withheld.id].state == "withheld"
    assert run(home, "outbox", "list", "--state", "dead", *OPERATOR, extra_env=env).stdout == (
        "no rows\n"
    )

    with runtime.sessions() as session:
        audited = [
            (e.actor, e.action, e.object_type, e.object_id)
            for e in session.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor == "operator:drift-ole")
                .order_by(AuditEntry.id)
            )
        ]
    assert audited == [
        ("operator:drift-ole", "search", "outbox", "*"),
        ("operator:drift-ole", "search", "outbox", reference),
        ("operator:drift-ole", "read", "machinery", reference),
        ("operator:drift-ole", "read", "machinery", "SOR-2026-9999"),
        *[("operator:drift-ole", "change", "outbox", f"outbox:{i}") for i in dead],
        ("operator:drift-ole", "change", "outbox", f"outbox:{withheld.id}"),
        ("operator:drift-ole", "search", "outbox", "*"),
    ]
    runtime.engine.dispose()


def test_the_operator_commands_say_who_and_refuse_unknown_states(tmp_path: Path) -> None:
    home = tmp_path / "var"
    nobody = run(home, "outbox", "list")
    assert nobody.returncode == 2
    assert "--by" in nobody.stderr
    unknown = run(home, "outbox", "list", "--state", "deadd", *OPERATOR)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "Error: unknown state deadd; known: pending, sending, sent, dead, withheld"
    )
    neither = run(home, "outbox", "retry", *OPERATOR)
    assert neither.returncode == 1
    assert "name the rows" in neither.stderr


def test_the_machinery_view_loads_neither_prefect_nor_the_definitions(tmp_path: Path) -> None:
    """The view reads the store only: Prefect and the definitions catalogue stay unloaded."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from workflow.cli.main import app\n"
        "out = CliRunner().invoke(app, ['machinery', 'SOR-2026-0001', '--by', 'drift-ole'])\n"
        "assert out.exit_code == 1, out.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'"
        " or m in ('workflow.runtime', 'workflow.orchestration.flows')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"WORKFLOW_HOME": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_sweep_as_of_a_later_time_delivers_what_its_timers_made_due(tmp_path: Path) -> None:
    """`sweep --now` ahead of the clock fired a deadline's timer, and its notifications
    were counted "skipped" and left pending (they were due as of the sweep's time, the
    delivery claimed them as of the clock)."""
    from tests.e2e.test_cli_cases import refer_here, runtime_on

    home = tmp_path / "var"
    runtime = runtime_on(home)
    refer_here(runtime)  # the referral's deadline: a timer weeks ahead
    runtime.engine.dispose()
    first = run(home, "sweep", "--no-prefect")
    assert first.returncode == 0, first.stderr
    later = run(home, "sweep", "--no-prefect", "--now", "2040-01-01T09:00")
    assert later.returncode == 0, later.stderr
    assert re.search(r"Swept: [1-9]\d* timers fired", later.stdout)
    assert "skipped" not in later.stdout
    assert "delivered: sent " in later.stdout
    listed = run(home, "outbox", "list", "--by", "op-test")
    assert "pending" not in listed.stdout, listed.stdout
