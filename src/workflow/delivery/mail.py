"""Writing a mail: the message as MIME bytes, its Message-ID, the invitation's part.

:func:`mail_bytes` writes the bytes directly (one pass, no ``email`` objects: a
notification costs well under a millisecond); :func:`build_email` builds the same mail
with the standard library, which the tests read back part by part to check the bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate
from functools import lru_cache

from workflow.delivery.message import OutgoingMessage


def message_id(dedupe_key: str) -> str:
    """A stable Message-ID for a dedupe key."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@workflow.invalid>"


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
    # Both parts say charset="utf-8" whatever they hold; the transfer encoding is the
    # library's choice: 7bit for ASCII, 8bit for Danish letters on short lines (the
    # policy's cte_type), quoted-printable or base64 for long lines.
    mail.set_content(message.text, charset="utf-8")
    mail.add_alternative(message.html, subtype="html", charset="utf-8")
    if message.ics:
        method = _calendar_method(message.ics)
        mail.add_attachment(
            message.ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="cancel.ics" if method == "CANCEL" else "invitation.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return mail


def mail_bytes(message: OutgoingMessage, sender: str, to: str) -> bytes:
    """The mail :func:`build_email` makes, written straight as bytes (``\\n`` line ends).

    Building it through ``email.message`` cost about half of delivering a notification;
    this writes the same parts with the same headers (the tests parse both back and
    compare them): From and To folded as the library folds them (once per address), the
    subject as RFC 2047 encoded words when it is not short printable ASCII, each text part
    7bit when it is short-lined ASCII, else quoted-printable (7-bit clean: no server needs
    8BITMIME), and the calendar in base64 with its iTIP method in the Content-Type.
    """
    text = _text_part("plain", message.text)
    html = _text_part("html", message.html)
    boundary = _boundary(text, html)
    body = (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n'
        f"\n--{boundary}\n{text}\n--{boundary}\n{html}\n--{boundary}--\n"
    )
    if message.ics:
        method = _calendar_method(message.ics)
        name = "cancel.ics" if method == "CANCEL" else "invitation.ics"
        calendar = (
            f'Content-Type: text/calendar; method="{method}"; charset="utf-8"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            "Content-Transfer-Encoding: base64\n\n"
            + base64.encodebytes(message.ics.encode("utf-8")).decode("ascii")
        )
        outer = _boundary(body, calendar)
        body = (
            f'Content-Type: multipart/mixed; boundary="{outer}"\n'
            f"\n--{outer}\n{body}\n--{outer}\n{calendar}\n--{outer}--\n"
        )
    head = (
        _address_header("From", sender)
        + _address_header("To", to)
        + _unstructured("Subject", message.subject)
        + f"Date: {formatdate(localtime=False)}\n"
        + f"Message-ID: {message_id(message.dedupe_key)}\n"
        + _unstructured("X-Workflow-Case", message.reference)
        + "MIME-Version: 1.0\n"
    )
    return (head + body).encode("ascii")


#: Longest line a 7bit text part keeps (the library's max_line_length); longer: encoded.
_MAX_LINE = 78
#: Printable ASCII (and space): a header value made only of these, short, is written as is.
_PLAIN_HEADER = re.compile(r"[ -~]*")


def _text_part(subtype: str, content: str) -> str:
    """A text part with its headers: lines normalised to ``\\n`` and ended with one, as
    ``set_content`` does; 7bit if short-lined ASCII, else quoted-printable."""
    data = b"\n".join(content.encode("utf-8").splitlines()) + b"\n"
    if data.isascii() and max(map(len, data.split(b"\n"))) <= _MAX_LINE:
        encoding, wire = "7bit", data.decode("ascii")
    else:
        encoding = "quoted-printable"
        wire = binascii.b2a_qp(data, istext=True).decode("ascii")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\n'
        f"Content-Transfer-Encoding: {encoding}\n\n{wire}"
    )


def _boundary(*parts: str) -> str:
    """A boundary found in none of the parts (random; drawn again in the unlikely case)."""
    while True:
        boundary = "=_kui_" + os.urandom(12).hex()
        if not any(boundary in part for part in parts):
            return boundary


@lru_cache(maxsize=4096)
def _address_header(name: str, value: str) -> str:
    """An address header folded by the mail policy, as build_email writes it (once per
    address: parsing an address is what made building a mail slow)."""
    return str(MAIL_POLICY.fold(name, MAIL_POLICY.header_store_parse(name, value)[1]))


@lru_cache(maxsize=1024)
def _unstructured(name: str, value: str) -> str:
    """A header of plain text, as the library writes one: words of printable ASCII as
    they are, runs of other words as RFC 2047 encoded words (base64, whole characters per
    word), folded between words so that each line keeps within 78 characters."""
    if "\r" in value or "\n" in value:
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    if (
        len(name) + 2 + len(value) <= _MAX_LINE
        and _PLAIN_HEADER.fullmatch(value)
        and "=?" not in value
        and value == value.strip()
    ):
        return f"{name}: {value}\n"
    tokens = value.split(" ")
    atoms: list[str] = []
    if "" in tokens:  # leading, trailing or repeated spaces: all of it encoded, kept exactly
        atoms = _encoded_words(value)
    else:
        run: list[str] = []
        for token in [*tokens, None]:
            if token is not None and not _plain_token(token):
                run.append(token)
                continue
            if run:  # whitespace between encoded words is dropped: a run is encoded whole
                atoms += _encoded_words(" ".join(run))
                run = []
            if token is not None:
                atoms.append(token)
    lines: list[str] = []
    line = f"{name}:"
    for atom in atoms:
        if len(line) + 1 + len(atom) > _MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line += " " + atom
    lines.append(line)
    return "\n".join(lines) + "\n"


#: A word written as it is: printable ASCII, no encoded-word opener, short enough to fold.
_PLAIN_TOKEN = re.compile(r"[!-~]{1,60}")


def _plain_token(token: str) -> bool:
    return _PLAIN_TOKEN.fullmatch(token) is not None and "=?" not in token


#: Bytes of text per encoded word: "=?utf-8?b?" + 48 base64 characters + "?=" (60), so a
#: word fits on a line after any header name of ours.
_WORD_BYTES = 36


def _encoded_words(text: str) -> list[str]:
    words: list[str] = []
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(_encoded_word(chunk))
            chunk = b""
        chunk += encoded
    if chunk or not words:
        words.append(_encoded_word(chunk))
    return words


def _encoded_word(chunk: bytes) -> str:
    return "=?utf-8?b?" + base64.b64encode(chunk).decode("ascii") + "?="


def _calendar_method(ics: str) -> str:
    """The iTIP method a calendar object carries: CANCEL if it has that line, else REQUEST.

    The part's Content-Type repeats it (RFC 6047), for mail clients that read only that.
    A whole line is matched, so a description that quotes the words changes nothing.
    """
    return "CANCEL" if "METHOD:CANCEL" in ics.upper().splitlines() else "REQUEST"
