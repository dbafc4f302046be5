"""The SMS channel against a real HTTP receiver on 127.0.0.1, and its file fallback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from workflow.delivery.channels import (
    CPR_MASK,
    SMS_ELLIPSIS,
    SMS_MAX_LENGTH,
    SmsChannel,
    TransientDeliveryError,
    file_name,
)
from workflow.delivery.message import Address, OutgoingMessage, UndeliverableError
from workflow.delivery.outbox import default_channels
from workflow.settings import Settings

SECRET = "a-shared-secret"


@dataclass
class Request:
    """One request the gateway received."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Gateway:
    """A small SMS gateway: records every request and answers with ``status``."""

    server: ThreadingHTTPServer
    requests: list[Request] = field(default_factory=list)
    status: int = 202

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/sms"

    def channel(self, **options: Any) -> SmsChannel:
        return SmsChannel(self.url, SECRET, **options)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    gateway: Gateway

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            gateway.requests.append(Request(self.path, dict(self.headers.items()), body))
            self.send_response(gateway.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    # Port 0: the system picks a free port.
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    gateway = Gateway(server)
    # A short poll: shutting down waits for one.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def message(
    subject: str = "Husk mødet i morgen",
    text: str = "Mødet er tirsdag kl. 10 på skolen.\n\nVenlig hilsen\nSorø Kommune",
    dedupe_key: str = "SOR-2026-0001:3:1:role:young_person",
) -> OutgoingMessage:
    return OutgoingMessage(
        dedupe_key=dedupe_key,
        reference="SOR-2026-0001",
        subject=subject,
        text=text,
        html="<p>Mødet</p>",
        recipient={"kind": "role", "id": "young_person"},
        addresses=(),
        ics=None,
    )


def sms(number: str = "+4520123456") -> Address:
    return Address("sms", number)


def test_the_gateway_receives_a_signed_body_with_the_dedupe_key(gateway: Gateway) -> None:
    sent = message()
    gateway.channel(sender="Soroe").send(sent, sms())
    [request] = gateway.requests
    assert request.path == "/sms"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == sent.dedupe_key
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Workflow-Signature"], expected)
    assert request.json() == {
        "to": "+4520123456",
        "from": "Soroe",
        "text": "Husk mødet i morgen\nMødet er tirsdag kl. 10 på skolen.",
        "reference": "SOR-2026-0001",
        "dedupe_key": sent.dedupe_key,
    }


def test_the_sender_defaults_to_ungeindsats(gateway: Gateway) -> None:
    gateway.channel().send(message(), sms())
    assert gateway.requests[0].json()["from"] == "Ungeindsats"


@pytest.mark.parametrize(
    "number", ["20123456", "20 12 34 56", "+45 20 12 34 56", "004520123456", " 0045 2012 3456 "]
)
def test_a_danish_number_is_sent_in_e164(gateway: Gateway, number: str) -> None:
    gateway.channel().send(message(), sms(number))
    assert gateway.requests[-1].json()["to"] == "+4520123456"


@pytest.mark.parametrize(
    "number",
    ["", "2012345", "201234567", "+4620123456", "12345678", "2012-3456", "skole@sorø.dk", "+45"],
)
def test_what_is_not_a_danish_number_is_undeliverable_and_not_sent(
    gateway: Gateway, number: str
) -> None:
    with pytest.raises(UndeliverableError, match="not a phone number"):
        gateway.channel().send(message(), sms(number))
    assert gateway.requests == []


def test_a_cpr_number_never_reaches_the_gateway(gateway: Gateway) -> None:
    sent = message(
        subject="Sag om 010203-1234",
        text="CPR 0102031234 og 311299 4321 er nævnt; 1234567890 er ikke et CPR-nummer.",
    )
    gateway.channel().send(sent, sms())
    body = gateway.requests[0].body.decode("utf-8")
    for digits in ("010203", "0102031234", "311299", "4321"):
        assert digits not in body
    text = gateway.requests[0].json()["text"]
    assert text == (
        f"Sag om {CPR_MASK}\nCPR {CPR_MASK} og {CPR_MASK} er nævnt; "
        "1234567890 er ikke et CPR-nummer."
    )


def test_a_long_text_is_cut_on_a_word_boundary(gateway: Gateway) -> None:
    words = " ".join(f"ord{n}" for n in range(200))
    gateway.channel().send(message(subject="Et trin venter på dig", text=words), sms())
    text = gateway.requests[0].json()["text"]
    assert len(text) <= SMS_MAX_LENGTH
    assert text.endswith(SMS_ELLIPSIS)
    kept = text.removeprefix("Et trin venter på dig\n").removesuffix(SMS_ELLIPSIS)
    assert words.startswith(kept + " ")  # whole words only


def test_the_staff_link_is_left_out(gateway: Gateway) -> None:
    sent = message(text="Se sagen: https://sager.kommune.example/cases/SOR-2026-0001\nHilsen")
    gateway.channel().send(sent, sms())
    assert gateway.requests[0].json()["text"] == "Husk mødet i morgen\nSe sagen:"


@pytest.mark.parametrize("status", [500, 503, 429, 408])
def test_a_busy_gateway_is_a_transient_failure(gateway: Gateway, status: int) -> None:
    gateway.status = status
    with pytest.raises(TransientDeliveryError, match=str(status)):
        gateway.channel().send(message(), sms())
    assert len(gateway.requests) == 1


@pytest.mark.parametrize("status", [400, 404, 422])
def test_a_refusing_gateway_is_undeliverable(gateway: Gateway, status: int) -> None:
    gateway.status = status
    with pytest.raises(UndeliverableError, match=str(status)):
        gateway.channel().send(message(), sms())


def test_an_unreachable_gateway_is_a_transient_failure(gateway: Gateway) -> None:
    url = gateway.url
    gateway.server.shutdown()
    gateway.server.server_close()
    with pytest.raises(TransientDeliveryError):
        SmsChannel(url, SECRET, timeout=2).send(message(), sms())


def test_without_a_gateway_each_sms_is_one_json_file_named_by_its_dedupe_key(
    tmp_path: Path,
) -> None:
    channel = SmsChannel(None, SECRET, root=tmp_path / "sms")
    first = message(text="Første udgave 010203-1234")
    channel.send(first, sms("20 12 34 56"))
    channel.send(message(text="Anden udgave"), sms("20 12 34 56"))  # same dedupe key
    [written] = (tmp_path / "sms").iterdir()
    assert written.name == file_name(first.dedupe_key, ".json")
    assert json.loads(written.read_bytes()) == {
        "to": "+4520123456",
        "from": "Ungeindsats",
        "text": "Husk mødet i morgen\nAnden udgave",
        "reference": "SOR-2026-0001",
        "dedupe_key": first.dedupe_key,
    }
    channel.send(message(dedupe_key="another"), sms())
    assert len(list((tmp_path / "sms").iterdir())) == 2


def test_without_a_gateway_an_invalid_number_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(UndeliverableError):
        SmsChannel(None, SECRET, root=tmp_path).send(message(), sms("112"))
    assert list(tmp_path.iterdir()) == []


def test_a_channel_needs_a_gateway_or_a_folder() -> None:
    with pytest.raises(ValueError, match="gateway url or a folder"):
        SmsChannel(None, SECRET)


def test_the_default_channels_write_sms_under_home_without_a_gateway(tmp_path: Path) -> None:
    channel = default_channels(Settings(home=tmp_path))["sms"]
    channel.send(message(), sms())
    assert len(list((tmp_path / "sms").glob("*.json"))) == 1


def test_the_default_channels_post_to_a_configured_gateway(gateway: Gateway) -> None:
    settings = Settings(sms_webhook_url=gateway.url, webhook_secret=SECRET, sms_sender="Soroe")
    default_channels(settings)["sms"].send(message(), sms())
    [request] = gateway.requests
    assert request.json()["from"] == "Soroe"
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Workflow-Signature"] == expected


@pytest.mark.parametrize("sender", ["", "Ungeindsats1", "Sorø", "Unge indsats"])
def test_a_sender_id_is_at_most_eleven_letters_or_digits(sender: str) -> None:
    with pytest.raises(ValueError, match="sms_sender"):
        Settings(sms_sender=sender)
