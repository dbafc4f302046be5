"""The mail channel reads the relay's answer: 4xx is "later" (retried), 5xx is final.

Every smtplib error is an ``OSError``: a 550 once fell into the clause for network
trouble and was retried until the attempts ran out, as if the relay might change its mind.
"""

from __future__ import annotations

import smtplib

import pytest

from tests.support.services import SmtpSink
from workflow.delivery.channels import SmtpChannel, TransientDeliveryError
from workflow.delivery.message import Address, OutgoingMessage

REFUSED = "skole@soroe.example"


def _message(to: str) -> tuple[OutgoingMessage, Address]:
    address = Address("email", to)
    message = OutgoingMessage(
        "key-1",
        "SOR-2026-0001",
        "Emne",
        "Tekst",
        "<p>Tekst</p>",
        {"kind": "department"},
        (address,),
    )
    return message, address


def test_a_refused_recipient_is_final_and_a_busy_relay_is_retried(smtp: SmtpSink) -> None:
    channel = SmtpChannel("127.0.0.1", smtp.port, "ungeindsats@kommune.example")
    smtp.refusing.add(REFUSED)
    with pytest.raises(smtplib.SMTPResponseException) as final:
        channel.send(*_message(REFUSED))
    assert final.value.smtp_code == 550

    smtp.down = True  # 421: up, but not taking mail for now
    with pytest.raises(TransientDeliveryError, match="421"):
        channel.send(*_message("uu@soroe.example"))

    smtp.down = False
    channel.send(*_message("uu@soroe.example"))
    assert [to for to, _ in smtp.received] == [["uu@soroe.example"]]
