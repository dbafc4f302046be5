"""Channels that carry a message out: SMTP mail, signed webhooks, SMS, and files for development.

Each channel is idempotent towards its receiver by the message's dedupe key: it is the
mail's Message-ID, the webhook's and the SMS gateway's Idempotency-Key header, and the
file's name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import getaddresses
from pathlib import Path
from typing import Literal

import httpx
from pydantic import SecretStr

from workflow.delivery.mail import build_email, mail_bytes
from workflow.delivery.message import Address, OutgoingMessage, UndeliverableError

#: The header a webhook or SMS gateway finds the body's HMAC-SHA256 signature in.
SIGNATURE_HEADER = "X-Workflow-Signature"


class TransientDeliveryError(Exception):
    """The receiver could not be reached now; delivery is retried with backoff."""


def file_name(dedupe_key: str, suffix: str = ".eml") -> str:
    """The file a message is written to: named by its dedupe key (a rewrite overwrites)."""
    return hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:24] + suffix


def signature(secret: bytes, body: bytes) -> str:
    """The signature header value for a body: its HMAC-SHA256 under the shared secret."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def post_signed(
    what: str, url: str, body: bytes, dedupe_key: str, secret: bytes, timeout: float
) -> httpx.Response:
    """POST a signed JSON body; timeouts, connection errors, 5xx and 429 are transient.

    Other answers are returned: what a 4xx means is the caller's to say.
    """
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, body),
        "Idempotency-Key": dedupe_key,
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(f"{what} {url}: {exc}") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientDeliveryError(f"{what} {url}: {response.status_code}")
    return response


#: How an SMTP connection is encrypted: not, upgraded after connecting, or from the start.
SmtpSecurity = Literal["none", "starttls", "tls"]


class SmtpChannel:
    """Mail through an SMTP server: optionally encrypted (STARTTLS or TLS) and logged in.

    The server's certificate is verified (the system's CAs, or ``ca_file`` for a private
    relay's own CA). Errors name the server and the login, never the password.
    """

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        timeout: float = 10.0,
        *,
        security: SmtpSecurity = "none",
        username: str | None = None,
        password: SecretStr | None = None,
        ca_file: Path | None = None,
    ) -> None:
        if username is not None and (password is None or security == "none"):
            raise ValueError("an SMTP login needs a password and an encrypted connection")
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.security, self.username, self.password = security, username, password
        self.ca_file = ca_file

    def _connect(self) -> smtplib.SMTP:
        """A connection, encrypted and logged in as the settings say."""
        context = None
        if self.security != "none":
            context = ssl.create_default_context(cafile=self.ca_file)
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Send one mail on a connection of its own; network trouble, a refused login and a
        server without the encryption or login asked for are transient (retried, then dead)."""
        with self.session() as session:
            session.send(message, address)

    @contextmanager
    def session(self) -> Iterator[SmtpSession]:
        """One connection for many mails (a batch): opened at the first send, logged in
        once, closed (QUIT) at the end. Not to be shared between threads."""
        session = SmtpSession(self)
        try:
            yield session
        finally:
            session.close()


class SmtpSession:
    """Mails sent one after another on one SMTP connection of an :class:`SmtpChannel`.

    A refused sender, recipient or message is answered with RSET and the connection kept;
    after any other failure it is dropped and the next mail opens a new one. A connection
    the server closed while idle (found at MAIL, before anything of the mail was sent) is
    opened again and the mail sent on the new one; a connection lost later is the mail's
    transient failure (the server may have taken it: the receiver drops a repeat by its
    Message-ID).
    """

    def __init__(self, channel: SmtpChannel) -> None:
        self.channel = channel
        self.smtp: smtplib.SMTP | None = None
        #: Connections opened (the tests count them).
        self.connections = 0
        self._sender = getaddresses([channel.sender])[0][1]

    def close(self) -> None:
        """QUIT and close the connection, if one is open (errors on the way out ignored)."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def _drop(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            smtp.close()

    def _open(self) -> smtplib.SMTP:
        channel = self.channel
        smtp = channel._connect()
        try:
            smtp.ehlo_or_helo_if_needed()
            if channel.username is not None and channel.password is not None:
                smtp.login(channel.username, channel.password.get_secret_value())
        except BaseException:
            smtp.close()
            raise
        self.connections += 1
        self.smtp = smtp
        return smtp

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Send one mail; errors as :meth:`SmtpChannel.send` says."""
        channel = self.channel
        where = f"SMTP {channel.host}:{channel.port}"
        try:
            self._send(message, address.address)
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise TransientDeliveryError(
                f"{where}: the login as {channel.username!r} was refused ({exc.smtp_code}); "
                "check WORKFLOW_SMTP_USERNAME and WORKFLOW_SMTP_PASSWORD"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._drop()
            raise TransientDeliveryError(
                f"{where}: the server does not offer what WORKFLOW_SMTP_SECURITY or the login "
                f"asks for ({exc})"
            ) from None
        except smtplib.SMTPConnectError as exc:
            self._drop()
            raise TransientDeliveryError(f"{where}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            # Before OSError, which every smtplib error is: a 5xx reply is final.
            if 400 <= exc.smtp_code < 500:
                raise TransientDeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise TransientDeliveryError(
                    f"SMTP {codes[0]}: the recipient is refused for now"
                ) from None
            raise
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._drop()
            raise TransientDeliveryError(f"{where}: {exc}") from exc

    def _send(self, message: OutgoingMessage, to: str) -> None:
        recipient = getaddresses([to])[0][1] if "<" in to or "(" in to else to
        if not (self._sender + recipient).isascii():
            # An internationalised address (SMTPUTF8): the library's way, on its own connection.
            self._drop()
            try:
                self._open().send_message(build_email(message, self.channel.sender, to))
            finally:
                self._drop()
            return
        data = mail_bytes(message, self.channel.sender, to).replace(b"\n", b"\r\n")
        held = self.smtp
        if held is not None:
            try:
                code, reply = _command(held, "mail", "FROM", self._sender)
            except (OSError, smtplib.SMTPServerDisconnected):
                self._drop()  # closed while idle: nothing of this mail was sent
            else:
                self._finish(held, code, reply, recipient, data)
                return
        smtp = self._open()
        code, reply = _command(smtp, "mail", "FROM", self._sender)
        self._finish(smtp, code, reply, recipient, data)

    def _finish(self, smtp: smtplib.SMTP, code: int, reply: bytes, to: str, data: bytes) -> None:
        """RCPT and DATA after MAIL's answer; a refusal is answered with RSET (the
        connection is kept) or, for 421, the connection is dropped."""
        if code != 250:
            self._refused(code)
            raise smtplib.SMTPSenderRefused(code, reply, self._sender)
        code, reply = _command(smtp, "rcpt", "TO", to)
        if code not in (250, 251):
            self._refused(code)
            raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        code, reply = smtp.data(data)
        if code != 250:
            self._refused(code)
            raise smtplib.SMTPDataError(code, reply)

    def _refused(self, code: int) -> None:
        if code == 421 or self.smtp is None:
            self._drop()
            return
        try:
            self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()


#: An address put in MAIL FROM or RCPT TO as it is: no quoting, brackets or line ends.
_BARE_ADDRESS = re.compile(r"[^\s<>()\"\\,;:]+@[^\s<>()\"\\,;:@]+")


def _command(smtp: smtplib.SMTP, verb: str, word: str, address: str) -> tuple[int, bytes]:
    """MAIL FROM or RCPT TO: a bare address sent as ``<address>`` at once (smtplib parses
    the address again for every command, a tenth of sending a mail), else smtplib's way."""
    if _BARE_ADDRESS.fullmatch(address):
        return smtp.docmd(verb, f"{word}:<{address}>")
    return smtp.mail(address) if verb == "mail" else smtp.rcpt(address)


class WebhookChannel:
    """An HTTP POST of the message as JSON, signed with HMAC-SHA256."""

    def __init__(self, secret: str, timeout: float = 10.0) -> None:
        self.secret, self.timeout = secret.encode("utf-8"), timeout

    def signature(self, body: bytes) -> str:
        """The signature header value for a body."""
        return signature(self.secret, body)

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """POST; timeouts, connection errors, 5xx and 429 answers are transient."""
        body = json.dumps(message.webhook_body(), ensure_ascii=False).encode("utf-8")
        post_signed(
            "webhook", address.address, body, message.dedupe_key, self.secret, self.timeout
        ).raise_for_status()


class FileChannel:
    """Writes each message as an .eml file named by its dedupe key (for development)."""

    def __init__(self, sender: str, root: Path | None = None) -> None:
        self.sender, self.root = sender, root

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Write (or overwrite: idempotent) the message's file — inside ``root`` only: an
        address that would lead out of it (``../``, an absolute path) is undeliverable."""
        with self.session() as session:
            session.send(message, address)

    @contextmanager
    def session(self) -> Iterator[FileSession]:
        """Many messages written in a batch: each folder checked and made once."""
        yield FileSession(self)

    def folder(self, address: str) -> Path:
        """The folder an address's files go to (made if missing); UndeliverableError if
        it would lie outside ``root``."""
        folder = Path(address)
        if self.root is not None:
            root = self.root.resolve()
            folder = (root / folder).resolve()
            if folder != root and root not in folder.parents:
                raise UndeliverableError("the file channel's address leads outside its folder")
        folder.mkdir(parents=True, exist_ok=True)
        return folder


class FileSession:
    """A batch of a :class:`FileChannel`'s messages: folders resolved and made once."""

    def __init__(self, channel: FileChannel) -> None:
        self.channel = channel
        self._folders: dict[str, Path] = {}

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """Write (or overwrite) the message's file, as :meth:`FileChannel.send`."""
        folder = self._folders.get(address.address)
        if folder is None:
            folder = self._folders[address.address] = self.channel.folder(address.address)
        mail = mail_bytes(message, self.channel.sender, str(address.address))
        (folder / file_name(message.dedupe_key)).write_bytes(mail)


#: Two concatenated GSM-7 segments (153 characters each).
SMS_MAX_LENGTH = 306
#: What a cut text ends with.
SMS_ELLIPSIS = "..."  # in the GSM 7-bit alphabet: 306 characters stay 2 segments
#: What stands in an SMS where a CPR number was.
CPR_MASK = "[skjult]"
#: A Danish number: 8 digits (the first 2-9), optionally after +45 or 0045.
_DANISH_NUMBER = re.compile(r"(?:\+45|0045)?([2-9]\d{7})")
#: A 10-digit run shaped like a CPR number: DDMMYY, an optional dash or space, NNNN.
_CPR = re.compile(r"(?<!\d)(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}[- ]?\d{4}(?!\d)")
_URL = re.compile(r"https?://\S+")
#: A letter's greeting line ("Hej Emma", "Kære Skole", "Hello Anne and Peter").
_GREETING = re.compile(r"(hej|hi|hello|dear|kære)\b[^.!?]*$", re.IGNORECASE)


def phone_number(raw: str) -> str:
    """A Danish phone number in E.164 (+45 and 8 digits); raises UndeliverableError if not one.

    The error does not echo the number: it is stored with the outbox row.
    """
    match = _DANISH_NUMBER.fullmatch("".join(raw.split()))
    if match is None:
        raise UndeliverableError("not a phone number")
    return "+45" + match.group(1)


def mask_cpr(text: str) -> str:
    """The text with every run shaped like a CPR number replaced by :data:`CPR_MASK`."""
    return _CPR.sub(CPR_MASK, text)


def sms_text(message: OutgoingMessage) -> str:
    """What an SMS says: the subject and the text's first line, CPR-masked, at most 306 chars.

    The first line is the first one that says something: a greeting ("Hej Emma") is
    skipped, or every SMS to a young person said only "Hej Emma" under its subject (the
    new time of a moved meeting, the date of the next one, were on the line after it). A
    line that goes on in the next ("Næste møde er torsdag ...;") ends there, with a full
    stop. Links are left out (an SMS with a link is how phishing looks; the letter by
    e-mail or Digital Post carries it).
    """
    lines = [" ".join(_URL.sub("", line).split()) for line in message.text.splitlines()]
    said = [line for line in lines if line]
    if len(said) > 1 and _GREETING.match(said[0]):
        said = said[1:]
    first = said[0] if said else ""
    if first.endswith((";", ",")) and len(said) > 1:
        first = first[:-1].rstrip() + "."
    subject = " ".join(_URL.sub("", message.subject).split())
    parts = [subject] if first in ("", subject) else [subject, first]
    return _shortened(mask_cpr("\n".join(part for part in parts if part)))


def _shortened(text: str, limit: int = SMS_MAX_LENGTH) -> str:
    """The text itself if it fits, else cut on a word boundary and ended with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(SMS_ELLIPSIS) + 1]
    cut = max(head.rfind(" "), head.rfind("\n"))
    # One word longer than the whole message: cut inside it.
    kept = head[:cut] if cut > 0 else head[:-1]
    return kept.rstrip(" \n,;:.-–") + SMS_ELLIPSIS


class SmsChannel:
    """A short message to a phone through a municipality's SMS gateway (a signed webhook).

    Without a gateway ``url`` each SMS is written as a JSON file under ``root``, named by
    its dedupe key, so development works without one.
    """

    def __init__(
        self,
        url: str | None,
        secret: str,
        sender: str = "Ungeindsats",
        timeout: float = 10.0,
        root: Path | None = None,
    ) -> None:
        if url is None and root is None:
            raise ValueError("an SMS channel needs a gateway url or a folder (root) to write to")
        self.url, self.secret, self.sender = url, secret.encode("utf-8"), sender
        self.timeout, self.root = timeout, root

    def body(self, message: OutgoingMessage, address: Address) -> dict[str, str]:
        """What the gateway receives; raises UndeliverableError for an invalid number."""
        return {
            "to": phone_number(address.address),
            "from": self.sender,
            "text": sms_text(message),
            "reference": message.reference,
            "dedupe_key": message.dedupe_key,
        }

    def send(self, message: OutgoingMessage, address: Address) -> None:
        """POST to the gateway, or write the file without one.

        Timeouts, connection errors, 408, 429 and 5xx are transient; other 4xx answers (and
        an invalid number) are undeliverable.
        """
        body = json.dumps(self.body(message, address), ensure_ascii=False).encode("utf-8")
        if self.url is None:
            assert self.root is not None  # the constructor demands one of the two
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / file_name(message.dedupe_key, ".json")).write_bytes(body)
            return
        response = post_signed(
            "SMS gateway", self.url, body, message.dedupe_key, self.secret, self.timeout
        )
        status = response.status_code
        if status == 408:
            raise TransientDeliveryError(f"SMS gateway {self.url}: {status}")
        if 400 <= status < 500:
            # The gateway's answer is not quoted: it may repeat the number or the text.
            raise UndeliverableError(f"SMS gateway {self.url}: refused with {status}")
        response.raise_for_status()
