"""What an SMS says: the number in E.164, no CPR number, at most two segments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.delivery.channels import (
    CPR_MASK,
    SMS_ELLIPSIS,
    SMS_MAX_LENGTH,
    mask_cpr,
    phone_number,
    sms_text,
)
from workflow.delivery.message import OutgoingMessage, UndeliverableError


def message(subject: str, text: str) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key="k",
        reference="SOR-2026-0001",
        subject=subject,
        text=text,
        html="",
        recipient={"kind": "role", "id": "young_person"},
        addresses=(),
    )


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("20123456", "+4520123456"),
        ("20 12 34 56", "+4520123456"),
        ("+45 20 12 34 56", "+4520123456"),
        ("0045 20123456", "+4520123456"),
        ("\t99 99 99 99\n", "+4599999999"),
    ],
)
def test_danish_numbers_in_e164(raw: str, e164: str) -> None:
    assert phone_number(raw) == e164


@pytest.mark.parametrize(
    "raw", ["", "112", "2012345", "201234567", "+4620123456", "0020123456", "12345678", "+45"]
)
def test_not_a_phone_number(raw: str) -> None:
    with pytest.raises(UndeliverableError, match="not a phone number"):
        phone_number(raw)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("010203-1234", CPR_MASK),
        ("0102031234", CPR_MASK),
        ("cpr 311299 9999.", f"cpr {CPR_MASK}."),
        ("(2802104321)", f"({CPR_MASK})"),
        ("1234567890", "1234567890"),  # month 45: not a date
        ("01020312345", "01020312345"),  # eleven digits: not a CPR number
        ("tlf. 20123456", "tlf. 20123456"),
    ],
)
def test_cpr_numbers_are_masked(text: str, masked: str) -> None:
    assert mask_cpr(text) == masked


@given(
    day=st.integers(1, 31),
    month=st.integers(1, 12),
    year=st.integers(0, 99),
    serial=st.integers(0, 9999),
    dash=st.sampled_from(["", "-", " "]),
    before=st.text(st.characters(blacklist_categories=["Nd"]), max_size=20),
    after=st.text(st.characters(blacklist_categories=["Nd"]), max_size=20),
)
def test_no_cpr_number_survives_in_an_sms(
    day: int, month: int, year: int, serial: int, dash: str, before: str, after: str
) -> None:
    cpr = f"{day:02}{month:02}{year:02}{dash}{serial:04}"
    text = sms_text(message(f"Sag {cpr}", f"{before}{cpr}{after}"))
    assert cpr not in text
    assert f"{day:02}{month:02}{year:02}" not in text.replace(" ", "")


def test_subject_and_first_line_only() -> None:
    text = sms_text(message("Et trin venter", "\n\n  Log ind   og svar.\nMere tekst\n"))
    assert text == "Et trin venter\nLog ind og svar."


def test_a_first_line_that_repeats_the_subject_is_not_repeated() -> None:
    assert sms_text(message("Husk mødet", "Husk mødet\nMere")) == "Husk mødet"


def test_a_text_that_fits_is_not_cut() -> None:
    subject = "x" * (SMS_MAX_LENGTH - 2)
    assert sms_text(message(subject, "y")) == f"{subject}\ny"


@given(st.lists(st.text("abcæøå", min_size=1, max_size=30), min_size=1, max_size=60))
def test_a_long_text_is_cut_to_two_segments_on_a_word_boundary(words: list[str]) -> None:
    body = " ".join(words)
    text = sms_text(message("Emne", body))
    assert len(text) <= SMS_MAX_LENGTH
    if text.endswith(SMS_ELLIPSIS):
        kept = text.removeprefix("Emne\n").removesuffix(SMS_ELLIPSIS)
        assert body.startswith(kept + " ")
    else:
        assert text == f"Emne\n{body}"


def test_one_endless_word_is_cut_inside() -> None:
    text = sms_text(message("z" * 1000, ""))
    assert text == "z" * (SMS_MAX_LENGTH - len(SMS_ELLIPSIS)) + SMS_ELLIPSIS


def test_the_greeting_is_skipped_for_the_line_that_says_something() -> None:
    body = (
        "Hej Emma\n\nFørste samarbejdsmøde er flyttet til torsdag den 19. marts 2026 kl. 10.00.\n"
        "Den opdaterede kalenderinvitation er vedhæftet; den erstatter den gamle.\n"
        "Se sagen: https://kui.example/ung/cases/SOR-2026-0001\n"
    )
    assert sms_text(
        message("Mødet er flyttet: Første samarbejdsmøde, sag SOR-2026-0001", body)
    ) == (
        "Mødet er flyttet: Første samarbejdsmøde, sag SOR-2026-0001\n"
        "Første samarbejdsmøde er flyttet til torsdag den 19. marts 2026 kl. 10.00."
    )


def test_a_line_that_goes_on_in_the_next_ends_with_a_full_stop() -> None:
    body = (
        "Hej Anne og Peter\n\nPlanen fra mødet er klar på din side. Næste møde er torsdag "
        "den 26. marts 2026 kl. 10.00;\nkalenderinvitationen er vedhæftet.\n"
    )
    assert sms_text(message("Din plan efter mødet", body)) == (
        "Din plan efter mødet\nPlanen fra mødet er klar på din side. Næste møde er torsdag "
        "den 26. marts 2026 kl. 10.00."
    )


def test_a_first_line_that_is_a_sentence_is_no_greeting() -> None:
    assert sms_text(message("Emne", "Hej, mødet er i morgen.\nMere")) == (
        "Emne\nHej, mødet er i morgen."
    )
