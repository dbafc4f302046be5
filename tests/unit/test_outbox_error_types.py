"""The operator sees a delivery error's type, never its text (which may quote an address)."""

from __future__ import annotations

import pytest

from workflow.store.outbox_admin import error_type


@pytest.mark.parametrize(
    ("state", "stored", "shown"),
    [
        # The texts workflow.delivery.channels and .outbox record, one of each kind.
        ("dead", "SMTP 127.0.0.1:2525: (421, b'Service not available, try later')", "SMTP 421"),
        ("pending", "SMTP 450: b'mailbox busy for anna@skole.example'", "SMTP 450"),
        # A server not reached: which, and why (no recipient is in these texts).
        (
            "dead",
            "SMTP smtp.kommune.dk:465: [Errno 111] Connection refused",
            "SMTP smtp.kommune.dk:465 refused the connection",
        ),
        (
            "dead",
            "SMTP 127.0.0.1:2599: Connection unexpectedly closed: timed out",
            "SMTP 127.0.0.1:2599 did not answer (timed out)",
        ),
        ("dead", "SMTP smtp.kommune.dk:25: odd reply from anna@skole.example", "SMTP"),
        (
            "dead",
            "SMTP smtp.kommune.dk:587: the login as 'ungeindsats' was refused (535); check",
            "SMTP 535",
        ),
        ("dead", "webhook https://skole.example/hook: 503", "HTTP 503"),
        (
            "dead",
            "webhook https://skole.example/hook: ReadTimeout('timed out')",
            "TransientDeliveryError",
        ),
        ("dead", "MissingAddress: no address for anna@skole.example", "MissingAddress"),
        ("dead", "UndefinedError: 'young_person' is undefined", "UndefinedError"),
        ("withheld", "no consent covers department uu: withheld", "no_consent"),
        ("sent", None, None),
    ],
)
def test_an_error_is_named_by_its_type(state: str, stored: str | None, shown: str | None) -> None:
    assert error_type(state, stored) == shown


def test_a_relays_final_answer_is_named_by_its_reply_code() -> None:
    # smtplib raises SMTPDataError for a 550 after DATA: given up at once, named by code.
    last_error = "SMTPDataError: (550, b'5.1.1 <skole@soroe.example>: Recipient address rejected')"
    assert error_type("dead", last_error) == "SMTP 550"
