"""Channels that carry a message out: SMTP mail, signed webhooks, and files for development.

Each channel is idempotent towards its receiver by the message's dedupe key: it is the
mail's Message-ID, the webhook's Idempotency-Key header, and the file's name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import httpx

from workflow.delivery.message import Address, OutgoingMessage


class TransientDeliveryError(Exception):
    """The receiver could not be reached now; delivery is retried with backoff."""


def message_id(dedupe_key: str) -> str:
    """A stable Message-ID for a dedupe key."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@workflow.invalid>"


def file_name(dedupe_key: str) -> str:
    """The file a message is written to: named by its dedupe key (a rewrite overwrites)."""
    return hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:24] + ".eml"


class _CachedHeaders(HeaderRegistry):
    """The standard header registry, building each header's class once.

    The standard registry builds a new class for every header it parses (16 per mail);
    that was a tenth of delivering one (bench/runtime_bench.py's sweep).
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


#: The standard policy (email.policy.default) with the cached registry.
MAIL_POLICY = policy.default.clone(header_factory=_CachedHeaders())


def build_email(message: OutgoingMessage, sender: str, to: str) -> EmailMessage:
    """A multipart mail: text, HTML and, for meetings, an iCalendar invitation."""
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id(message.dedupe_key)
    mail["X-Workflow-Case"] = message.reference
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    if message.ics:
        mail.add_attachment(
            message.ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="invitation.ics",
            params={"method": "REQUEST"},
        )
    return mail


class SmtpChannel:
    """Mail through an SMTP server."""

    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Send one mail; network trouble is transient."""
        mail = build_email(message, self.sender, address.address)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            raise TransientDeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise


class WebhookChannel:
    """An HTTP POST of the message as JSON, signed with HMAC-SHA256."""

    def __init__(self, secret: str, timeout: float = 10.0) -> None:
        self.secret, self.timeout = secret.encode("utf-8"), timeout

    def signature(self, body: bytes) -> str:
        """The signature header value for a body."""
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """POST; timeouts, connection errors and 5xx answers are transient."""
        body = json.dumps(message.webhook_body(), ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "X-Workflow-Signature": self.signature(body),
            "Idempotency-Key": message.dedupe_key,
        }
        try:
            response = httpx.post(
                address.address, content=body, headers=headers, timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"webhook {address.address}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientDeliveryError(f"webhook {address.address}: {response.status_code}")
        response.raise_for_status()


class FileChannel:
    """Writes each message as an .eml file named by its dedupe key (for development)."""

    def __init__(self, sender: str, root: Path | None = None) -> None:
        self.sender, self.root = sender, root

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Write (or overwrite: idempotent) the message's file."""
        folder = Path(address.address)
        if self.root is not None and not folder.is_absolute():
            folder = self.root / folder
        folder.mkdir(parents=True, exist_ok=True)
        mail = build_email(message, self.sender, str(address.address))
        (folder / file_name(message.dedupe_key)).write_bytes(bytes(mail))
