"""The same rules on every way in (issue 17): the web form, the API, `workflow case refer`
and `workflow intake` open a case only for a young person the service accepts, and name
only staff the account store knows for the case's municipality.

Before: `workflow intake` opened cases with CPR 9999999999, a CPR that does not match the
birth date and an empty name; `0101101234` passed for a birth date in 2010 (its 7th digit
says 1910); a Ballerup caseworker could be put on a Sorø case, and `nobody-yet-9` was
accepted as a team member; a review of goal 7 of a three-goal plan was accepted.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.integration.conftest import Clock
from tests.support.case_api import (
    ACCEPT,
    CASEWORKER,
    COORDINATOR,
    FIRST_MEETING,
    FOLLOW_UP,
    PRE_MEETING,
    REFERRAL_INPUTS,
)
from workflow.cases.model import GuardianDetails, RejectedError, YoungPersonDetails
from workflow.cli.main import app as cli
from workflow.engine.model import Actor
from workflow.errors import CaseNotFoundError
from workflow.privacy.consents import ConsentRequest
from workflow.runtime import Runtime
from workflow.store.tables import Case, YoungPerson
from workflow.web.app import create_app

PASSWORD = "correct horse battery"
CW = Actor("caseworker", "cw-mette")
INPUTS = {"source": "school", "caseworker": "cw-mette"}
FREJA = YoungPersonDetails("Freja Testesen", "0101104321", date(2010, 1, 1))
#: (CPR, birth date, the refusal's code): each refused on every way in.
BAD_PEOPLE = [
    ("9999999999", date(2010, 1, 1), "cpr_no_such_date"),
    ("0101101234", date(2010, 1, 1), "cpr_century"),  # 7th digit 1: born in 1910
    ("0101104321", date(2010, 1, 2), "cpr_not_birth_date"),
    ("010110432", date(2010, 1, 1), "cpr_format"),
]


@pytest.fixture
def staffed(sqlite_runtime: Runtime) -> Runtime:
    """Sorø's staff, and a Ballerup caseworker."""
    for username, person, roles, municipality in (
        ("mette", "cw-mette", ["caseworker"], "340"),
        ("lise", "tovholder-lise", ["coordinator"], "340"),
        ("anna", "laerer-anna", ["team_member"], "340"),
        ("bo", "cw-bo-ballerup", ["caseworker", "coordinator"], "151"),
    ):
        sqlite_runtime.accounts.create(
            username,
            PASSWORD,
            display_name=username.title(),
            person_id=person,
            roles=roles,
            municipality_code=municipality,
        )
    return sqlite_runtime


@pytest.fixture
def client(staffed: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(staffed), base_url="https://testserver") as test_client:
        yield test_client


def _cases(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


def _codes(error: RejectedError) -> dict[str, str]:
    return {e.name: e.code for e in error.rejection.field_errors}


# --- the service: the one validation ----------------------------------------------


@pytest.mark.parametrize(("cpr", "born", "code"), BAD_PEOPLE)
def test_the_service_refuses_a_cpr_that_is_not_one_or_not_the_birth_date(
    staffed: Runtime, cpr: str, born: date, code: str
) -> None:
    person = YoungPersonDetails("Freja Testesen", cpr, born)
    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", person, CW, INPUTS)
    assert _codes(refused.value) == {"young_person.cpr": code}
    assert _cases(staffed) == 0


def test_the_check_digit_is_not_required_since_2007(staffed: Runtime) -> None:
    # 0101104321 fails the old modulus-11 check; numbers like it are issued since 2007.
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    assert sum(w * int(d) for w, d in zip(weights, FREJA.cpr, strict=True)) % 11 != 0
    assert staffed.service.refer("soroe", FREJA, CW, INPUTS).to_stage == "referred"


@pytest.mark.parametrize(
    ("name", "code"), [("", "required"), ("   ", "required"), ("Fr\x00eja", "bad_character")]
)
def test_the_service_refuses_an_empty_or_garbled_name(
    staffed: Runtime, name: str, code: str
) -> None:
    person = YoungPersonDetails(name, FREJA.cpr, FREJA.birth_date)
    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", person, CW, INPUTS)
    assert _codes(refused.value) == {"young_person.name": code}


def test_a_guardian_is_checked_too_and_every_error_is_told_at_once(staffed: Runtime) -> None:
    person = YoungPersonDetails(
        "",
        "9999999999",
        date(2030, 1, 1),
        guardians=(GuardianDetails("Mor\u202eTestesen", "3202801234"),),
    )
    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", person, CW, INPUTS)
    assert _codes(refused.value) == {
        "young_person.name": "required",
        "young_person.cpr": "cpr_no_such_date",
        "young_person.birth_date": "birth_date_not_past",
        "young_person.guardians.1.name": "bad_character",
        "young_person.guardians.1.cpr": "cpr_no_such_date",
    }
    assert refused.value.rejection.field_errors[1].text("da") == (
        "er ikke et gyldigt CPR-nummer: de første 6 cifre er ikke en dato, der findes"
    )


def test_an_age_beyond_the_referrals_bounds_is_told_of_the_birth_date(staffed: Runtime) -> None:
    """The form never shows the `age` input (it follows from the birth date): a young
    person of 46 was told "age: må højst være 40", of a field the user never saw."""
    person = YoungPersonDetails("Per Hansen", "0101801234", date(1980, 1, 1))
    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", person, CW, INPUTS)
    assert _codes(refused.value) == {"young_person.birth_date": "age_outside_inputs"}
    age = date.today().year - 1980  # born on 1 January
    assert refused.value.rejection.field_errors[0].text("da") == (
        f"giver alderen {age} år, og henvisningen tager imod unge fra 0 til 40 år"
    )


# --- the web form and the API ---------------------------------------------------------


def _log_in(client: TestClient, username: str = "mette") -> str:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token[1], "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    form = client.get("/refer?definition=soroe").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf
    return csrf[1]


def _refer_form(csrf: str, cpr: str, born: str, name: str = "Freja Testesen") -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "definition": "soroe",
        "person_name": name,
        "person_cpr": cpr,
        "person_birth_date": born,
        "source": "school",
        "caseworker": "cw-mette",
    }


def test_the_web_form_refuses_the_century_and_an_unknown_caseworker(
    client: TestClient, staffed: Runtime
) -> None:
    csrf = _log_in(client)
    # The caseworker who refers is filled in as the caseworker of record (changeable).
    blank = client.get("/refer?definition=soroe").text
    field = re.search(r'<[^>]*name="caseworker"[^>]*>', blank)
    assert field is not None
    assert 'value="cw-mette"' in field[0]
    answer = client.post("/refer", data=_refer_form(csrf, "010110-1234", "2010-01-01"))
    assert answer.status_code == 422
    assert "7. ciffer angiver et andet århundrede end fødselsdatoen" in answer.text
    answer = client.post("/refer", data=_refer_form(csrf, "9999999999", "2010-01-01"))
    assert answer.status_code == 422
    assert "er ikke et gyldigt CPR-nummer" in answer.text
    unknown = _refer_form(csrf, "010110-4321", "2010-01-01") | {"caseworker": "nobody-yet-9"}
    answer = client.post("/refer", data=unknown, follow_redirects=False)
    assert answer.status_code == 422
    assert "&#39;nobody-yet-9&#39; er ikke en medarbejder i kommunen" in answer.text
    assert _cases(staffed) == 0
    # The list above the form says whose field each error is: the young person's or the
    # guardian's (both have a mail address, a phone and a CPR number).
    both = _refer_form(csrf, "010110-4321", "2010-01-01") | {
        "person_email": "ikke-en-adresse",
        "guardian_name": "Mor Hansen",
        "guardian_cpr": "abc",
        "guardian_phone": "12",
    }
    answer = client.post("/refer", data=both, follow_redirects=False)
    assert answer.status_code == 422
    summary = html.unescape(answer.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0])
    assert "Henvisningen er ikke gemt. Ret dette:" in summary  # a referral, not a step
    assert '<a href="#person_email">Egen e-mail (til invitationer og planen): ' in summary
    assert '<a href="#guardian_cpr">Forælder/værge – CPR-nummer: ' in summary
    assert '<a href="#guardian_phone">Forælder/værge – Mobilnummer (SMS): ' in summary
    fine = client.post(
        "/refer", data=_refer_form(csrf, "010110-4321", "2010-01-01"), follow_redirects=False
    )
    assert fine.status_code == 303, fine.text


def test_the_referral_form_tells_every_field_at_once_and_a_referral_for_another_lands(
    client: TestClient, staffed: Runtime
) -> None:
    """An empty referral told the young person's fields, then "Hvem henviser?" in a
    second round; a referral for another caseworker saved the case and then showed the
    referrer "Der er ingen sag ..., som du har adgang til" (a helper's report)."""
    csrf = _log_in(client)
    empty = {"csrf_token": csrf, "definition": "soroe", "caseworker": ""}
    answer = client.post("/refer", data=empty, follow_redirects=False)
    assert answer.status_code == 422
    summary = html.unescape(answer.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0])
    for field in ("person_name", "person_cpr", "person_birth_date", "source", "caseworker"):
        assert f'<a href="#{field}">' in summary, field
    staffed.accounts.create(
        "kim", PASSWORD, display_name="Kim Sagsbehandler", person_id="cw-kim",
        roles=["caseworker"], municipality_code="340",
    )  # fmt: skip
    other = _refer_form(csrf, "010110-4321", "2010-01-01") | {"caseworker": "cw-kim"}
    saved = client.post("/refer", data=other, follow_redirects=False)
    assert saved.status_code == 303
    reference = staffed.service.view(saved.headers["location"][len("/?referred=") :], CW_KIM)
    assert saved.headers["location"] == f"/?referred={reference.reference}"
    landed = client.get(saved.headers["location"]).text
    assert f"Henvisningen er gemt som sag {reference.reference}" in landed
    assert "Der er ingen sag" not in landed


CW_KIM = Actor("caseworker", "cw-kim")


def _api_token(client: TestClient) -> dict[str, str]:
    answer = client.post("/api/v1/tokens", json={"username": "mette", "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.mark.parametrize(("cpr", "born", "code"), BAD_PEOPLE[:3])
def test_the_api_refuses_the_same_people_beside_the_field(
    client: TestClient, cpr: str, born: date, code: str
) -> None:
    body = {
        "definition": "soroe",
        "young_person": {"name": "Freja", "cpr": cpr, "birth_date": born.isoformat()},
        "inputs": INPUTS,
    }
    answer = client.post("/api/v1/cases", json=body, headers=_api_token(client))
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == ["young_person.cpr"]


def test_the_api_refuses_another_municipalitys_caseworker(client: TestClient) -> None:
    body = {
        "definition": "soroe",
        "young_person": {"name": "Freja", "cpr": "0101104321", "birth_date": "2010-01-01"},
        "inputs": {"source": "school", "caseworker": "cw-bo-ballerup"},
    }
    answer = client.post("/api/v1/cases", json=body, headers=_api_token(client))
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["fields"]
    assert field["field"] == "inputs.caseworker"
    assert (
        "staff of another municipality" in field["message"] or "anden kommune" in (field["message"])
    )


# --- the command line: `workflow case refer` and `workflow intake` ---------------------


def test_a_phone_number_no_message_can_go_to_is_refused_where_given(staffed: Runtime) -> None:
    """ "+4512345678" was taken by the referral form and the API, and every message to
    the young person was then given up ("not a phone number"): a Danish mobile starts
    with 2-9. The service refuses it on every way in, beside the field."""
    person = YoungPersonDetails(
        FREJA.name,
        FREJA.cpr,
        FREJA.birth_date,
        email="freja@",
        phone="+45 12 34 56 78",
        guardians=(GuardianDetails("Mor Testesen", "0101804321", phone="0045 1234567"),),
    )
    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", person, CW, INPUTS)
    assert _codes(refused.value) == {
        "young_person.email": "email_format",
        "young_person.phone": "phone_format",
        "young_person.guardians.1.phone": "phone_format",
    }
    assert _cases(staffed) == 0
    # Spaces around an address pass the check and are not stored (every mail to
    # " freja@example.dk " failed).
    fine = YoungPersonDetails(
        FREJA.name, FREJA.cpr, FREJA.birth_date, " freja@example.dk ", "+45 22 34 56 78"
    )
    assert staffed.service.refer("soroe", fine, CW, INPUTS).reference
    with staffed.sessions() as session:
        stored = session.execute(select(YoungPerson.email, YoungPerson.phone)).one()
    assert tuple(stored) == ("freja@example.dk", "+45 22 34 56 78")


def test_workflow_case_refer_refuses_the_century(staffed: Runtime) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "case",
            "refer",
            "soroe",
            "--name",
            "Test Person",
            "--cpr",
            "0101101234",
            "--birth-date",
            "2010-01-01",
            "--actor",
            "caseworker:cw-mette",
            "--input",
            "source=school",
            "--input",
            "caseworker=cw-mette",
        ],
    )
    assert result.exit_code == 1
    assert "young_person.cpr: 7. ciffer angiver et andet århundrede" in result.output
    assert _cases(staffed) == 0


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


GOOD_ROW = {
    "definition": "soroe",
    "name": "Ung Nummer",
    "cpr": "0101104321",
    "birth_date": "2010-01-01",
    "source": "school",
    "caseworker": "cw-mette",
}


def test_intake_refuses_a_file_with_bad_rows_row_by_row_and_opens_none(
    staffed: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    rows = [
        GOOD_ROW,
        GOOD_ROW | {"cpr": "9999999999"},  # row 3
        GOOD_ROW | {"cpr": "0101101234"},  # row 4: 1910
        GOOD_ROW | {"name": ""},  # row 5
        GOOD_ROW | {"caseworker": "nobody-yet-9"},  # row 6
        GOOD_ROW | {"caseworker": "cw-bo-ballerup"},  # row 7
        GOOD_ROW | {"birth_date": "2010-13-01"},  # row 8
        GOOD_ROW | {"definition": "atlantis"},  # row 9
        GOOD_ROW | {"cpr": "0101904321", "birth_date": "1990-01-01"},  # row 10: 36 years old
    ]
    path = _write(tmp_path / "henvisninger.csv", rows)
    result = CliRunner().invoke(cli, ["intake", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (
        "Filen er afvist: 8 række(r) kan ikke oprettes, og derfor er ingen af filens forløb "
        "oprettet. Ret rækkerne herunder, og kør filen igen:"
    ) in lines
    for expected in (
        "  række 3, cpr: er ikke et gyldigt CPR-nummer: de første 6 cifre er ikke en dato, der "
        "findes",
        "  række 4, cpr: 7. ciffer angiver et andet århundrede end fødselsdatoen (fx er "
        "010110-1234 født i 1910, 010110-4321 i 2010)",
        "  række 5, name: skal udfyldes",
        "  række 6, caseworker: 'nobody-yet-9' er ikke en medarbejder i kommunen (ingen aktiv "
        "konto med det id)",
        "  række 7, caseworker: 'cw-bo-ballerup' er medarbejder i en anden kommune og kan ikke "
        "sættes på sagen",
        "  række 8, birth_date: skal være en dato (ÅÅÅÅ-MM-DD)",
        "  række 9, definition: 'atlantis' er ikke et forløb her (se kolonnen definition)",
        # The definition's own words for its guard (Sorø's target group), not a code's.
        "  række 10: Den unge er uden for målgruppen: forløbet er for unge mellem 14 og 29 år.",
    ):
        assert expected in lines, "\n".join(lines)
    assert "invalid_input" not in result.output  # words, not codes
    assert _cases(staffed) == 0  # the whole file is refused: nothing half done

    english = CliRunner().invoke(cli, ["intake", str(path), "--lang", "en"])
    assert "  row 4, cpr: the 7th digit gives another century than the birth date" in (
        english.output
    )
    assert "  row 10: The young person is outside the target group: the process is for " in (
        english.output
    )

    fixed = _write(tmp_path / "rettet.csv", [GOOD_ROW, GOOD_ROW | {"cpr": "0101104322"}])
    opened = CliRunner().invoke(cli, ["intake", str(fixed)])
    assert opened.exit_code == 0, opened.output
    assert opened.output.splitlines()[-1] == "oprettet: 2"
    assert opened.output.startswith("Henvisninger")  # the progress bar's label
    again = CliRunner().invoke(cli, ["intake", str(fixed)])
    assert again.output.splitlines()[-1] == "allerede oprettet: 2"
    in_english = CliRunner().invoke(cli, ["intake", str(fixed), "--lang", "en"])
    assert in_english.output.splitlines()[-1] == "already opened: 2"
    assert _cases(staffed) == 2
    # No copy of a file (names, CPR numbers) is left behind, refused or opened: each was
    # kept readable by this user only while its intake ran, then removed.
    assert list((staffed.settings.home / "intake").iterdir()) == []

    # A file saved by Excel as "CSV" (Windows-1252, not UTF-8): one line, no traceback.
    latin = tmp_path / "excel.csv"
    latin.write_bytes(fixed.read_bytes().replace(b"rettet", b"x") + "Søren".encode("cp1252"))
    answer = CliRunner().invoke(cli, ["intake", str(latin)])
    assert answer.exit_code == 1
    assert answer.output.strip().endswith(
        'gem den i Excel som "CSV UTF-8 (kommasepareret)", og kør den igen. Intet er oprettet.'
    )
    assert "Traceback" not in answer.output


def test_intake_reads_a_file_as_danish_excel_saves_it_and_tells_a_missing_column_once(
    staffed: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel's "CSV UTF-8" begins with a byte order mark, and a Danish Excel separates
    with semicolons and leaves blank rows at the end: every row was refused, "definition:
    skal udfyldes" (the mark) or all four columns missing (the separator)."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    columns = list(GOOD_ROW)
    lines = [";".join(columns), ";".join(GOOD_ROW.values())]
    lines += [";".join((GOOD_ROW | {"cpr": "0101104322"}).values()), ";;;;;", ";;;;;"]
    excel = tmp_path / "henvisninger.csv"
    excel.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    opened = CliRunner().invoke(cli, ["intake", str(excel)])
    assert opened.exit_code == 0, opened.output
    assert opened.output.splitlines()[-1] == "oprettet: 2"
    assert _cases(staffed) == 2

    short = tmp_path / "kort.csv"
    short.write_text("definition,navn,cpr\nsoroe,Ung Nummer,0101104321\nsoroe,Ung,0101104322\n")
    refused = CliRunner().invoke(cli, ["intake", str(short)])
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        f"Fejl: {short} mangler kolonne(r): name, birth_date (filens første linje har: "
        "definition, navn, cpr). Første linje skal navngive kolonnerne, fx "
        "definition,name,cpr,birth_date,caseworker; gem filen fra Excel som CSV med komma "
        "eller semikolon. Intet er oprettet."
    )  # once for the file, not every row's missing fields
    assert _cases(staffed) == 2


# --- staff ids against the account store ----------------------------------------------


def _to_pre_meeting(runtime: Runtime) -> str:
    reference = runtime.service.refer("soroe", FREJA, CW, INPUTS).reference
    accept = {"young_person_agrees": True, "consent": True}
    runtime.service.trigger(reference, "accept_referral", accept, CW)
    return reference


def _pre_meeting(team: list[dict[str, str]], coordinator: str = "tovholder-lise") -> dict[str, Any]:
    return {
        "team": team,
        "coordinator": coordinator,
        "agenda": ["uddannelse"],
        "first_meeting_at": "2026-03-17T09:00",
        "meeting_room": "raadhuset_storskaerm",
    }


@pytest.mark.parametrize(
    ("team", "coordinator", "expected"),
    [
        (  # a Ballerup caseworker on a Sorø case's team
            [{"department": "skole", "person": "cw-bo-ballerup"}],
            "tovholder-lise",
            {"team": "staff_elsewhere"},
        ),
        (  # nobody's id
            [{"department": "skole", "person": "nobody-yet-9"}],
            "tovholder-lise",
            {"team": "not_staff"},
        ),
        (  # the coordinator from Ballerup
            [{"department": "skole", "person": "laerer-anna"}],
            "cw-bo-ballerup",
            {"coordinator": "staff_elsewhere"},
        ),
        (  # a mail address is no staff id: never a coordinator
            [{"department": "skole", "person": "laerer-anna"}],
            "cw-mette@soroe.dk",
            {"coordinator": "not_a_staff_id"},
        ),
    ],
)
def test_staff_ids_are_checked_against_the_municipalitys_accounts(
    staffed: Runtime, team: list[dict[str, str]], coordinator: str, expected: dict[str, str]
) -> None:
    reference = _to_pre_meeting(staffed)
    with pytest.raises(RejectedError) as refused:
        staffed.service.trigger(reference, "hold_pre_meeting", _pre_meeting(team, coordinator), CW)
    assert _codes(refused.value) == expected
    assert staffed.service.view(reference, CW).stage == "pre_meeting"


def test_a_staff_id_that_is_nobodys_is_told_whom_it_likely_meant(staffed: Runtime) -> None:
    reference = _to_pre_meeting(staffed)
    # A username, a first name and a slip of the keys; Ballerup's Bo is never suggested.
    team = [
        {"department": "skole", "person": "anna"},
        {"department": "uu", "person": "laerer-ana"},
        {"department": "uu", "person": "bo"},
    ]
    with pytest.raises(RejectedError) as refused:
        staffed.service.trigger(reference, "hold_pre_meeting", _pre_meeting(team, "Lise"), CW)
    errors = [(e.name, e.code, e.params) for e in refused.value.rejection.field_errors]
    assert errors == [
        ("team", "not_staff_meant", {"value": "anna", "meant": "laerer-anna (Anna)", "item": 1}),
        (
            "team",
            "not_staff_meant",
            {"value": "laerer-ana", "meant": "laerer-anna (Anna)", "item": 2},
        ),
        ("team", "not_staff", {"value": "bo", "item": 3}),
        ("coordinator", "not_staff_meant", {"value": "Lise", "meant": "tovholder-lise (Lise)"}),
    ]
    words = refused.value.rejection.field_errors[0].text()
    assert words == "række 1: 'anna' er ikke en medarbejders id; mente du laerer-anna (Anna)?"


def test_a_team_member_is_put_in_their_own_department_and_a_caseworker_is_one(
    staffed: Runtime,
) -> None:
    """A consent covers departments: a job centre adviser put on the team under "Skole"
    (which the consent covered) saw the case although the job centre had no consent; a
    teacher named responsible caseworker saw every case detail (a helper's report)."""
    staffed.accounts.create(
        "carl", PASSWORD, display_name="Carl", person_id="job-carl", roles=["team_member"],
        municipality_code="340", department="jobcenter",
    )  # fmt: skip
    reference = _to_pre_meeting(staffed)
    team = [
        {"department": "skole", "person": "laerer-anna"},  # her account has no department
        {"department": "skole", "person": "job-carl"},
    ]
    with pytest.raises(RejectedError) as refused:
        staffed.service.trigger(reference, "hold_pre_meeting", _pre_meeting(team), CW)
    (error,) = refused.value.rejection.field_errors
    assert (error.name, error.code) == ("team", "staff_other_department")
    assert error.text("da") == (
        "række 2: 'job-carl' hører til Jobcenter Sorø; vælg den afdeling "
        "(samtykket, der giver adgang til sagen, gælder afdelingen)"
    )
    assert "belongs to Sorø job centre; choose" in error.text("en")
    team[1]["department"] = "jobcenter"
    staffed.service.trigger(reference, "hold_pre_meeting", _pre_meeting(team), CW)

    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", FREJA, CW, {"source": "school", "caseworker": "laerer-anna"})
    assert _codes(refused.value) == {"caseworker": "staff_not_caseworker"}
    assert (
        refused.value.rejection.field_errors[0]
        .text("da")
        .startswith("'laerer-anna' er ikke sagsbehandler og kan ikke være ansvarlig sagsbehandler")
    )


def test_a_referral_naming_another_municipalitys_caseworker_is_refused(
    staffed: Runtime,
) -> None:
    for caseworker, code in (("cw-bo-ballerup", "staff_elsewhere"), ("nobody-yet-9", "not_staff")):
        with pytest.raises(RejectedError) as refused:
            staffed.service.refer(
                "soroe", FREJA, CW, {"source": "school", "caseworker": caseworker}
            )
        assert _codes(refused.value) == {"caseworker": code}
    with pytest.raises(RejectedError) as refused:
        staffed.service.refer("soroe", FREJA, CW, {"source": "school", "caseworker": "x@y.dk"})
    assert _codes(refused.value) == {"caseworker": "not_a_staff_id"}


def test_a_mail_address_on_the_team_is_an_outside_participant_without_access(
    staffed: Runtime,
) -> None:
    # An account whose id is a mail address: named on a team, it is mailed, never let in.
    staffed.accounts.create(
        "mentor",
        PASSWORD,
        display_name="Mentor",
        person_id="mentor@firma.dk",
        roles=["team_member"],
        municipality_code="340",
    )
    reference = _to_pre_meeting(staffed)
    team = [
        {"department": "skole", "person": "laerer-anna"},
        {"department": "uu", "person": "mentor@firma.dk"},
    ]
    staffed.service.trigger(reference, "hold_pre_meeting", _pre_meeting(team), CW)
    staffed.consents.give(
        reference, CW, ConsentRequest(["skole", "uu"], ["education"], guardian=True)
    )
    with pytest.raises(CaseNotFoundError):
        staffed.service.view(reference, Actor("team_member", "mentor@firma.dk"))
    with pytest.raises(CaseNotFoundError):
        staffed.service.reveal_cpr(reference, Actor("team_member", "mentor@firma.dk"), "tjek")
    assert staffed.service.roles_held(reference, "mentor@firma.dk") == ()


def test_an_embedded_store_without_accounts_takes_ids_as_given(sqlite_runtime: Runtime) -> None:
    # Driven from the CLI alone (no account at all): nothing to check staff ids against.
    opened = sqlite_runtime.service.refer("soroe", FREJA, CW, INPUTS)
    assert opened.to_stage == "referred"


# --- goal reviews against the plan ----------------------------------------------------


def _awaiting_first_meeting(staffed: Runtime, clock: Clock) -> str:
    """A Sorø case whose first meeting has begun (its team's Sara has an account)."""
    staffed.accounts.create(
        "sara", None, display_name="Sara", person_id="vejleder-sara", roles=["team_member"],
        municipality_code="340",
    )  # fmt: skip
    reference = staffed.service.refer("soroe", FREJA, CASEWORKER, REFERRAL_INPUTS).reference
    staffed.service.trigger(reference, "accept_referral", ACCEPT, CASEWORKER)
    staffed.service.trigger(reference, "hold_pre_meeting", PRE_MEETING, CASEWORKER)
    clock.advance(hours=2)
    return reference


def test_a_review_of_a_goal_the_plan_does_not_have_is_refused(
    staffed: Runtime, clock: Clock
) -> None:
    reference = _awaiting_first_meeting(staffed, clock)
    three_goals = [
        {"text": "Jeg skal møde op i skole 3 dage om ugen", "theme": "uddannelse"},
        {"text": "Jeg vil have et fritidsjob", "theme": "fritid"},
        {"text": "Jeg vil sove bedre", "theme": "fritid"},
    ]
    staffed.service.trigger(
        reference, "hold_first_meeting", FIRST_MEETING | {"plan": three_goals}, COORDINATOR
    )
    seventh = FOLLOW_UP | {"reviews": [{"goal": 1, "status": "met"}, {"goal": 7, "status": "met"}]}
    with pytest.raises(RejectedError) as refused:
        staffed.service.trigger(reference, "hold_follow_up", seventh, COORDINATOR)
    error, left_out = refused.value.rejection.field_errors
    assert (error.name, error.code, dict(error.params)) == (
        "reviews",
        "goal_not_in_plan",
        {"goal": 7, "goals": 3},
    )
    assert (left_out.code, left_out.params["goals"]) == ("goals_not_reviewed", "2, 3")
    assert error.text("da") == "planen har 3 mål; der findes intet mål 7"
    # Each goal of the plan is reviewed: a follow-up that leaves some out says which
    # (it was saved, the goals left "I gang", the figures "0 of 1 goals met" for two).
    third = FOLLOW_UP | {"reviews": [{"goal": 3, "status": "partly"}]}
    with pytest.raises(RejectedError) as refused:
        staffed.service.trigger(reference, "hold_follow_up", third, COORDINATOR)
    [error] = refused.value.rejection.field_errors
    assert error.text("da") == "planen har 3 mål, og hvert skal vurderes; mål 1, 2 mangler"
    every = [{"goal": goal, "status": "partly"} for goal in (1, 2, 3)]
    reviewed = FOLLOW_UP | {"reviews": every}
    assert staffed.service.trigger(reference, "hold_follow_up", reviewed, COORDINATOR).seq > 0


def test_a_sweep_at_a_time_that_is_not_one_is_told_how_to_write_it(staffed: Runtime) -> None:
    """`workflow sweep --no-prefect --now tomorrow` ended in a ValueError traceback."""
    result = CliRunner().invoke(cli, ["sweep", "--no-prefect", "--now", "tomorrow"])
    assert result.exit_code == 2
    assert "'tomorrow': write a time as YYYY-MM-DDTHH:MM" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_meeting_mode_tells_every_wrong_field_at_once(staffed: Runtime, clock: Clock) -> None:
    """Four tries to learn four errors: a goal not in first person, then its owner who is
    nobody, then a deadline passed, then a next meeting off the meeting days (a helper in
    meeting mode)."""
    reference = _awaiting_first_meeting(staffed, clock)
    wrong = FIRST_MEETING | {
        "plan": [
            {"text": "Freja skal møde op i skole", "theme": "uddannelse", "owner": "ghost"},
            {"text": "Jeg vil have et job", "theme": "fritid", "deadline": "2026-01-05"},
        ],
        "next_meeting_at": "2026-03-11T09:00:00",  # a Wednesday
    }
    with pytest.raises(RejectedError) as refused:
        staffed.service.trigger(reference, "hold_first_meeting", wrong, COORDINATOR)
    codes = {(e.name, e.code) for e in refused.value.rejection.field_errors}
    assert {
        ("plan", "goal_not_first_person"),
        ("plan", "not_staff"),
        ("next_meeting_at", "meeting_weekday"),
    } <= codes, codes


def test_the_api_refuses_a_phone_number_in_the_services_words(client: TestClient) -> None:
    """The API refused it with its own regular expression as the message; the service's
    rule and words now, beside the field."""
    body = {
        "definition": "soroe",
        "young_person": {
            "name": "Freja",
            "cpr": "0101104321",
            "birth_date": "2010-01-01",
            "phone": "12 34 56 78",
        },
        "inputs": INPUTS,
    }
    answer = client.post("/api/v1/cases", json=body, headers=_api_token(client))
    assert answer.status_code == 422, answer.text
    [field] = answer.json()["fields"]
    assert field["field"] == "young_person.phone"
    assert "det første 2-9" in answer.text or "the first 2-9" in answer.text
    assert "pattern" not in answer.text
