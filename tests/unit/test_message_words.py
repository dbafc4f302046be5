"""What a notification says of the step's shared values: choices and themes by their
labels in the reader's language, never by their codes; times as they are."""

from __future__ import annotations

from workflow.definitions.models import Definition
from workflow.delivery.message import OutgoingMessage, compose


def _message(
    definition: Definition,
    template: str,
    shared: dict[str, object],
    lang: str,
    recipient: dict[str, object] | None = None,
    names: tuple[str, ...] = (),
) -> OutgoingMessage:
    return compose(
        definition,
        reference="SOR-2026-0001",
        dedupe_key="SOR-2026-0001:1:0:x",
        template_id=template,
        recipient=recipient or {"kind": "role", "id": "caseworker", "person": "cw-mette"},
        payload={"shared": shared, "event": "refer", "stage": "referred"},
        base_url="https://kui.example",
        locale=lang,
        names=names,
    )


def _mail(definition: Definition, template: str, shared: dict[str, object], lang: str) -> str:
    return _message(definition, template, shared, lang).text


def test_the_referral_mail_names_who_referred_in_words(soroe: Definition) -> None:
    assert "Henvist af: Skole." in _mail(soroe, "referral_received", {"source": "school"}, "da")
    english = _mail(soroe, "referral_received", {"source": "school"}, "en")
    assert "Referred by: School." in english


def test_the_young_persons_themes_are_named_and_times_kept(soroe: Definition) -> None:
    shared = {"my_topics": ["uddannelse", "bolig"]}
    said = _mail(soroe, "young_person_prepared", shared, "da")
    assert "Uddannelse, Bolig." in said
    assert "uddannelse" not in said
    moved = _mail(soroe, "coordinator_chosen", {"first_meeting_at": "2026-03-17T09:00"}, "da")
    assert "17. marts 2026" in moved


def test_the_young_persons_letter_names_the_coordinator_as_the_municipality_does(
    soroe: Definition,
) -> None:
    letter = compose(
        soroe,
        reference="SOR-2026-0001",
        dedupe_key="SOR-2026-0001:2:3:young_person",
        template_id="my_first_meeting",
        recipient={"kind": "role", "id": "young_person", "person": None},
        payload={"shared": {"first_meeting_at": "2026-03-17T09:00"}, "event": "hold_pre_meeting"},
        base_url="https://kui.example",
        locale="da",
        own=(),
        names=("Emma",),
    ).text
    assert "dit team og din tovholder" in letter  # Sorø's word, not "koordinator"
    assert "koordinator" not in letter


def test_a_reminder_and_a_deadline_say_their_time_in_danish_time(soroe: Definition) -> None:
    """The store keeps times in UTC: a reminder said a task was due at 17.39 when it was
    due at 18.39 in Denmark (winter), and a deadline's time likewise."""

    def said(template: str, payload: dict[str, object]) -> str:
        return compose(
            soroe,
            reference="SOR-2026-0001",
            dedupe_key="SOR-2026-0001:1:0:x",
            template_id=template,
            recipient={"kind": "role", "id": "caseworker", "person": "cw-mette"},
            payload={"shared": {}, "stage": "referred"} | payload,
            base_url="https://kui.example",
            locale="da",
        ).text

    task = {"title": "Ring", "due": "2026-01-05T17:39:00+00:00", "details": ""}
    assert "mandag den 5. januar 2026 kl. 18.39" in said("task_reminder", {"task": task})
    summer = {"timer": "referral_decision_due", "timer_due": "2026-06-05T07:00:00+00:00"}
    assert "fredag den 5. juni 2026 kl. 09.00" in said("referral_overdue", summer)


def test_a_time_given_in_utc_is_kept_in_the_municipalitys_time(soroe: Definition) -> None:
    """An API client booked "2026-03-17T08:00:00Z" (09:00 in Denmark): stored with its
    UTC offset, every mail said "kl. 08.00"."""
    from workflow.definitions.parts import Input
    from workflow.engine.inputs import validate_inputs

    item = Input.model_validate({"name": "first_meeting_at", "type": "datetime", "label": "x"})
    values, errors = validate_inputs(soroe, [item], {"first_meeting_at": "2026-03-17T08:00:00Z"})
    assert errors == []
    assert values["first_meeting_at"] == "2026-03-17T09:00+01:00"
    said = _mail(
        soroe, "coordinator_chosen", {"first_meeting_at": values["first_meeting_at"]}, "da"
    )
    assert "kl. 09.00" in said


def test_the_chosen_coordinator_is_told_the_role_by_its_name_and_greeted_in_their_language(
    soroe: Definition,
) -> None:
    """Greeted by first name, the coordinator read "Du er valgt som lise" (the template
    used the greeting's name for the role); in English its body was still Danish."""

    def chosen(lang: str) -> tuple[str, str]:
        coordinator = {"kind": "role", "id": "coordinator", "person": "tovholder-lise"}
        shared: dict[str, object] = {"first_meeting_at": "2026-03-17T09:00"}
        mail = _message(soroe, "coordinator_chosen", shared, lang, coordinator, ("Lise",))
        return mail.subject, mail.text

    subject, body = chosen("da")
    assert subject == "Du er valgt som tovholder: sag SOR-2026-0001"
    assert "Den unge har valgt dig som sin tovholder." in body
    subject, body = chosen("en")
    assert subject == "You were chosen as coordinator: case SOR-2026-0001"
    assert body.startswith("The young person chose you as their ")
    assert "Tuesday 17 March 2026" in body


def test_a_template_not_written_in_the_readers_language_is_read_whole_in_danish(
    soroe: Definition,
) -> None:
    """Subject and body in one language: a template with only Danish words goes in Danish
    to a reader of English (its subject was English, its body Danish)."""
    template = soroe.templates_by_id["case_closed"]
    danish_only = type(template.body)(da=template.body.da)  # type: ignore[union-attr]
    soroe.templates_by_id["case_closed"] = template.model_copy(update={"body": danish_only})
    try:
        mail = _message(soroe, "case_closed", {}, "en")
    finally:
        soroe.templates_by_id["case_closed"] = template
    assert mail.subject == "Forløbet er afsluttet: sag SOR-2026-0001"
    assert mail.text.startswith("Forløbet er afsluttet.")
