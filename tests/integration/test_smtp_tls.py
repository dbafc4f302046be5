"""Mail through a relay that requires encryption and a login (issue 17).

A real aiosmtpd relay on 127.0.0.1 with a certificate from a CA made here: STARTTLS (or
TLS from the start) and AUTH are required. The outbox delivers through it with the
settings' login; a wrong password is a clear, retried failure that never shows the
password; a relay whose certificate is not trusted gets nothing.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import SecretStr

from tests.integration.conftest import Clock
from tests.support.case_api import CASEWORKER, REFERRAL_INPUTS
from tests.support.faults import outbox
from tests.support.services import free_port
from workflow.cases.model import YoungPersonDetails
from workflow.runtime import Runtime, build_runtime, use_runtime
from workflow.settings import Settings

USERNAME = "kui-relay"
PASSWORD = "relay-password-4f9c2e7a"  # the test relay's


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    server: ssl.SSLContext


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: Path) -> Certificates:
    """A CA, and a certificate it signs for 127.0.0.1 (what a private relay has)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Test relay CA"))
        .issuer_name(_name("Test relay CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "relay-ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "relay.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file = folder / "relay.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(chain, key_file)
    return Certificates(ca_file, server)


@dataclass
class Relay:
    """An SMTP relay that takes mail only over TLS and after a login."""

    port: int = field(default_factory=free_port)
    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (username, accepted)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        assert session.authenticated, "the relay requires a login first"
        assert server.transport.get_extra_info("ssl_object"), "the relay requires TLS"
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        accepted = data.login.decode() == USERNAME and data.password.decode() == PASSWORD
        self.logins.append((data.login.decode(), accepted))
        return AuthResult(success=accepted, handled=False)  # refused: 535


@contextmanager
def running_relay(certificates: Certificates, *, implicit_tls: bool) -> Iterator[Relay]:
    relay = Relay()
    options: dict[str, Any] = {"auth_required": True, "authenticator": relay.authenticate}
    if implicit_tls:  # aiosmtpd's own TLS check knows only STARTTLS; handle_DATA checks
        options.update(ssl_context=certificates.server, auth_require_tls=False)
    else:
        options.update(tls_context=certificates.server, require_starttls=True)
    controller = Controller(relay, hostname="127.0.0.1", port=relay.port, **options)
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path)


@contextmanager
def runtime_mailing_through(
    relay: Relay, tmp_path: Path, clock: Clock, **smtp: Any
) -> Iterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'workflow.db'}",
        home=tmp_path / "var",
        base_url="https://kui.example",
        smtp_host="127.0.0.1",
        smtp_port=relay.port,
        smtp_username=USERNAME,
        delivery_timeout=5.0,
        **smtp,
    )
    runtime = build_runtime(settings, clock=clock)
    use_runtime(runtime)
    try:
        yield runtime
    finally:
        use_runtime(None)
        runtime.engine.dispose()


def refer(runtime: Runtime) -> None:
    """A referral: it mails the municipality's caseworkers (one e-mail row)."""
    person = YoungPersonDetails("Ung Posttest", "0101104321", dt.date(2010, 1, 1))
    runtime.service.refer("soroe", person, CASEWORKER, REFERRAL_INPUTS)


def deliver_mail(runtime: Runtime) -> list[str]:
    """Deliver every due row once; the states of the e-mail rows."""
    runtime.deliverer.deliver_many(runtime.deliverer.due_rows(100))
    return [row.state for row in outbox(runtime) if row.channel == "email"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # TLS from the start
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_through_an_encrypted_relay_with_the_login(
    certificates: Certificates, tmp_path: Path, clock: Clock, security: str
) -> None:
    with (
        running_relay(certificates, implicit_tls=security == "tls") as relay,
        runtime_mailing_through(
            relay,
            tmp_path,
            clock,
            smtp_security=security,
            smtp_password=PASSWORD,
            smtp_ca_file=certificates.ca_file,
        ) as runtime,
    ):
        refer(runtime)
        states = deliver_mail(runtime)
        assert states, "the case sent no mail"
        assert set(states) == {"sent"}
        assert len(relay.received) == len(states)
        assert relay.logins == [(USERNAME, True)] * len(states)
        assert b"Subject:" in relay.received[0][1]


def test_a_wrong_password_is_a_clear_retried_failure_without_the_password(
    certificates: Certificates, tmp_path: Path, clock: Clock
) -> None:
    wrong = "wrong-password-8d1b3c"
    with (
        running_relay(certificates, implicit_tls=False) as relay,
        runtime_mailing_through(
            relay,
            tmp_path,
            clock,
            smtp_security="starttls",
            smtp_password=wrong,
            smtp_ca_file=certificates.ca_file,
            delivery_attempts=2,
        ) as runtime,
    ):
        refer(runtime)
        assert set(deliver_mail(runtime)) == {"pending"}  # retried
        assert relay.received == []
        assert relay.logins
        assert not any(accepted for _, accepted in relay.logins)
        errors = {row.last_error for row in outbox(runtime) if row.channel == "email"}
        [error] = errors
        assert error is not None
        assert f"SMTP 127.0.0.1:{relay.port}" in error
        assert f"login as '{USERNAME}' was refused (535)" in error
        assert "WORKFLOW_SMTP_PASSWORD" in error
        assert wrong not in error
        clock.advance(seconds=3)
        assert set(deliver_mail(runtime)) == {"dead"}  # the last attempt: dead
        assert relay.received == []


def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(
    certificates: Certificates, tmp_path: Path, clock: Clock
) -> None:
    """Without the relay's CA (the system's CAs only) the certificate check fails: the
    login and the mail are never sent over a connection that could be intercepted."""
    with (
        running_relay(certificates, implicit_tls=False) as relay,
        runtime_mailing_through(
            relay, tmp_path, clock, smtp_security="starttls", smtp_password=PASSWORD
        ) as runtime,
    ):
        refer(runtime)
        assert set(deliver_mail(runtime)) == {"pending"}
        assert relay.logins == []
        assert relay.received == []
        errors = {row.last_error for row in outbox(runtime) if row.channel == "email"}
        assert all("certificate verify failed" in str(error) for error in errors)


def test_a_login_needs_a_password_and_encryption() -> None:
    with pytest.raises(ValueError, match="WORKFLOW_SMTP_PASSWORD"):
        Settings(smtp_host="relay.example", smtp_username=USERNAME, smtp_security="starttls")
    with pytest.raises(ValueError, match="WORKFLOW_SMTP_SECURITY to starttls or tls"):
        Settings(smtp_host="relay.example", smtp_username=USERNAME, smtp_password=PASSWORD)
    settings = Settings(smtp_username=USERNAME, smtp_password=PASSWORD, smtp_security="starttls")
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in settings.model_dump_json()
    assert isinstance(settings.smtp_password, SecretStr)
