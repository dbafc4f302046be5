"""A bulk intake's check decides each distinct set of the engine's arguments once.

Before a file's first case is opened, every row is checked by the engine (issue 19:
the check was half an intake's time). The engine's answer is a function of what it is
given: the definition, who refers, the inputs, the birth date, the staff the inputs
name as the account store knows them, and the moment. A file of thousands of young
people has far fewer birth dates, so referrals alike in all of these are decided once
(cases.referral_checks.ReferralChecks) — and each still gets the answer it gets alone: an age
one day short of the target group, a caseworker nobody is, a slip of the keys.

A file is taken in as of one moment, when its check began: its cases are opened as of
it too, with the check's decisions (each case stored as one opened alone at that moment),
and their audit entries say when each was written. A young person who turns 30 between
the check and the opening is opened as the check found, not refused half-way through.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.integration.conftest import Clock
from tests.integration.test_bulk_intake import _stored_step
from tests.support.case_api import create_staff
from workflow.cases import referral_checks as checking
from workflow.cases.model import Referral, RejectedError, StepResult, YoungPersonDetails
from workflow.engine.input_facts import StaffDirectory
from workflow.engine.model import Actor
from workflow.errors import WorkflowError
from workflow.orchestration import intake
from workflow.runtime import Runtime
from workflow.store.tables import AuditEntry, Case

#: The test clock's day is 2026-03-02; Sorø's target group is 14 to 29 years old.
BIRTHS = (
    date(2010, 1, 1),  # 16
    date(2012, 3, 2),  # 14 today
    date(2012, 3, 3),  # 14 tomorrow: refused
    date(1996, 3, 3),  # 29, 30 tomorrow
    date(1995, 1, 1),  # 31: refused
)
#: A caseworker the account store knows, one it does not, and a slip of the keys.
CASEWORKERS = ("cw-mette", "cw-nobody", "cw-mete")


def referral(number: int, born: date, caseworker: str, definition: str = "soroe") -> Referral:
    century = 4000 if born.year >= 2000 else 1000  # the CPR number's 7th digit
    person = YoungPersonDetails(f"Ung Nummer{number}", f"{born:%d%m%y}{century + number:04d}", born)
    inputs = {"source": "school", "caseworker": caseworker}
    return Referral(definition, person, Actor("caseworker", caseworker), inputs, f"k{number}")


def many() -> list[Referral]:
    """60 referrals of Sorø (each birth date with each caseworker, four times) and two of
    Horsens, alike but for the definition."""
    found = [
        referral(i, BIRTHS[i % len(BIRTHS)], CASEWORKERS[i // len(BIRTHS) % len(CASEWORKERS)])
        for i in range(60)
    ]
    return [*found, referral(60, BIRTHS[0], "cw-mette", "horsens"), referral(61, BIRTHS[0], "x")]


def described(answer: WorkflowError | None) -> Any:
    """An answer as what a refused row's report shows: the reason and each field's error."""
    if answer is None:
        return None
    assert isinstance(answer, RejectedError), answer
    fields = sorted(
        (e.name, e.code, sorted(e.params.items())) for e in answer.rejection.field_errors
    )
    return answer.rejection.reason.value, fields


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[date | None]:
    """The birth date of every referral the engine decides."""
    decided: list[date | None] = []
    decide = checking.open_case

    def counting(*args: Any, **kwargs: Any) -> Any:
        decided.append(kwargs.get("born"))
        return decide(*args, **kwargs)

    monkeypatch.setattr(checking, "open_case", counting)
    return decided


def test_each_referral_gets_the_answer_it_gets_alone(runtime: Runtime) -> None:
    create_staff(runtime, ["mette"])
    requests = many()
    alone = [described(runtime.service.check_many([r])[0]) for r in requests]
    checks = runtime.service.referral_checks()
    together = [
        described(a)
        for start in range(0, len(requests), 25)  # chunks, as an intake's
        for a in runtime.service.check_many(requests[start : start + 25], checks)
    ]
    assert together == alone
    # Not a file of one answer: accepted rows, ages refused, staff refused (with "meant").
    assert alone.count(None) == 4 * 3  # 16, 14 today and 29 years old with cw-mette
    codes = {code for answer in alone if answer for _, code, _ in answer[1]}
    assert {"not_staff", "not_staff_meant"} <= codes
    assert {a[0] for a in alone if a} == {"invalid_input", "guard_false"}
    # The same young person's age and caseworker in Horsens: a caseworker of Sorø's.
    assert alone[0] is None
    assert alone[60] == (
        "invalid_input",
        [("caseworker", "staff_elsewhere", [("value", "cw-mette")])],
    )


def test_referrals_alike_are_decided_once_across_chunks(
    runtime: Runtime, counted: list[date | None]
) -> None:
    create_staff(runtime, ["mette"])
    requests = many()
    checks = runtime.service.referral_checks()
    for start in range(0, len(requests), 25):
        runtime.service.check_many(requests[start : start + 25], checks)
    # Five birth dates and three caseworkers in Sorø, one of Horsens, one more caseworker.
    assert len(counted) == 5 * 3 + 1 + 1
    counted.clear()
    # Each check on its own: a chunk decides what it has not seen, the next chunk again.
    for start in range(0, len(requests), 25):
        runtime.service.check_many(requests[start : start + 25])
    assert len(counted) > 5 * 3 + 2


def test_an_input_that_cannot_be_a_key_is_decided_every_time(
    runtime: Runtime, counted: list[date | None]
) -> None:
    odd = referral(1, BIRTHS[0], "cw-mette")
    odd = Referral(odd.definition_id, odd.person, odd.actor, {**odd.inputs, "extra": ["x"]})
    checks = runtime.service.referral_checks()
    first = runtime.service.check_many([odd, odd], checks)
    assert len(counted) == 2
    assert (
        described(first[0])
        == described(first[1])
        == described(runtime.service.check_many([odd])[0])
    )
    assert described(first[0]) is not None  # an input the referral does not ask


def write_file(path: Path, requests: list[Referral]) -> None:
    """The referrals as an intake file."""
    fields = ["definition", "name", "cpr", "birth_date", "source", "caseworker", "key"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for r in requests:
            person = r.person
            born = person.birth_date.isoformat()
            writer.writerow(
                [
                    r.definition_id,
                    person.name,
                    person.cpr,
                    born,
                    "school",
                    r.inputs["caseworker"],
                    r.idempotency_key,
                ]
            )


def test_an_intake_keeps_no_answers_after_its_check(runtime: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "henvisninger.csv"
    write_file(path, many())
    refused: list[list[dict[str, Any]]] = []
    intake.REFUSED.append(refused.append)
    try:
        summary = intake.intake_rows(path)
    finally:
        intake.REFUSED.remove(refused.append)
    # Without accounts of its own a municipality's staff ids are not checked: the ages are.
    assert summary == {"refused": 24, "not opened": 62 - 24}
    assert [row["row"] for row in refused[0]][:4] == [4, 6, 9, 11]  # the header is line 1
    assert intake._CHECKS == {}


def test_every_argument_of_the_engine_is_in_the_key(runtime: Runtime) -> None:
    """What :func:`checking.decide` gives the engine but the moment, each part changed
    alone, gives another key (a key that left one out would share a wrong answer)."""
    soroe, horsens = (runtime.uow.catalog.by_id(name) for name in ("soroe", "horsens"))
    first = referral(1, BIRTHS[0], "cw-mette")
    given = {**first.inputs, "age": 16}
    asked = checking.Asked(first, soroe, given, date(2026, 3, 2))
    staff = StaffDirectory(known=frozenset({"cw-mette"}))
    other_person = YoungPersonDetails(first.person.name, first.person.cpr, date(2010, 1, 2))
    variants = [
        checking._engine_arguments(asked, staff),
        checking._engine_arguments(replace(asked, definition=horsens), staff),
        checking._engine_arguments(
            replace(asked, request=replace(first, actor=Actor("team_member", "cw-mette"))), staff
        ),
        checking._engine_arguments(replace(asked, given={**given, "source": "health"}), staff),
        checking._engine_arguments(
            replace(asked, request=replace(first, person=other_person)), staff
        ),
        checking._engine_arguments(asked, replace(staff, known=frozenset())),
        checking._engine_arguments(asked, replace(staff, elsewhere=frozenset({"cw-mette"}))),
        checking._engine_arguments(asked, replace(staff, checked=False)),
        checking._engine_arguments(asked, replace(staff, meant={"cw-mette": "cw-mette (Mette)"})),
    ]
    assert None not in variants
    assert len(set(variants)) == len(variants)
    # The person's name and CPR number are no argument of the engine's: the same key.
    renamed = replace(first, person=replace(first.person, name="Anden Ung", cpr="0101104999"))
    assert checking._engine_arguments(replace(asked, request=renamed), staff) == variants[0]


def test_the_cases_are_opened_as_of_the_check_with_its_decisions_each_as_if_alone(
    runtime: Runtime, clock: Clock, counted: list[date | None]
) -> None:
    create_staff(runtime, ["mette"])
    mettes = [r for r in many()[:60] if r.inputs["caseworker"] == "cw-mette"]
    checks = runtime.service.referral_checks()
    answers = runtime.service.check_many(mettes, checks)
    assert len(counted) == 5  # five birth dates with one caseworker (two refused by age)
    accepted = [r for r, answer in zip(mettes, answers, strict=True) if answer is None]
    counted.clear()
    clock.advance(minutes=5)  # the file's chunks are written later
    results = runtime.service.refer_many(accepted, checks)
    assert counted == []  # the check's decisions, none made again
    opened = [r.reference for r in results if isinstance(r, StepResult)]
    assert len(opened) == len(accepted) > 3
    with runtime.sessions() as session:
        opened_at = set(session.scalars(select(Case.opened_at)))
        written = set(
            session.scalars(select(AuditEntry.at).where(AuditEntry.object_id.in_(opened)))
        )
    assert opened_at == {checks.now}
    assert written == {clock.now}  # the audit entries: when the cases were written
    # Each case as one opened alone at the check's moment, by a twin referral of another
    # young person with the same arguments for the engine.
    clock.now = checks.now
    for request, reference in zip(accepted, opened, strict=True):
        number = int(str(request.idempotency_key)[1:]) + 100
        twin = referral(number, request.person.birth_date, request.inputs["caseworker"])
        (alone,) = runtime.service.refer_many([twin])
        assert isinstance(alone, StepResult)
        assert _stored_step(runtime, reference) == _stored_step(runtime, alone.reference)


def test_a_birthday_between_the_check_and_the_opening_does_not_split_the_file(
    runtime: Runtime, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked a minute before midnight, opened after it: the young person who turns 30
    at midnight is opened as the check found (29), not refused with half the file open."""
    create_staff(runtime, ["mette"])
    path = tmp_path / "henvisninger.csv"
    turning = referral(1, date(1996, 3, 3), "cw-mette")  # 30 on 2026-03-03
    write_file(path, [referral(0, BIRTHS[0], "cw-mette"), turning])
    clock.now = clock.now.replace(hour=22, minute=59)  # 23:59 in Copenhagen (CET)
    checked = intake.check_rows

    def check_then_midnight(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        refused = checked(*args, **kwargs)
        clock.advance(minutes=2)
        return refused

    monkeypatch.setattr(intake, "check_rows", check_then_midnight)
    assert intake.intake_rows(path) == {"opened": 2}
    # Alone, after midnight, the same young person is refused: the target group is 14-29.
    later = referral(2, date(1996, 3, 3), "cw-mette")
    assert described(runtime.service.check_many([later])[0]) == ("guard_false", [])
