"""One settings tree for the whole application: ``WORKFLOW_*`` environment variables.

Every field is described and bounded. Defaults give the embedded set-up: a SQLite file
and everything else under ``var/`` in the project, in the ``development`` environment.
In ``production`` the settings refuse the development secrets (see :func:`weak_secrets`).

Secrets are ``SecretStr``: their repr, ``str`` and JSON dump are ``**********``, and a
refused value is never echoed (``hide_input_in_errors``).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The development default of every secret: refused in production.
DEVELOPMENT_SECRET = "dev-secret-change-me"  # noqa: S105 (the known value that is refused)
#: The shortest secret of our own choosing that production accepts.
MIN_SECRET_LENGTH = 32
#: How to make one (told when one is refused).
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'  # noqa: S105


class SettingsError(SystemExit):
    """The settings are refused: the process stops with these lines, never a traceback.

    A ``SystemExit``, so the CLI and ``python -m`` print the lines and exit 1; the lines
    name the variables and never quote a value.
    """


class Settings(BaseSettings):
    """Runtime settings, read from ``WORKFLOW_*`` environment variables."""

    # Errors never quote the value: it may be a secret (or a CPR key).
    model_config = SettingsConfigDict(
        env_prefix="WORKFLOW_", extra="ignore", hide_input_in_errors=True
    )

    environment: Literal["development", "production"] = Field(
        default="development",
        description="'production' refuses to start with a development or short secret; "
        "'development' (the default: `make run`, the demo, the tests) accepts them.",
    )

    home: Path = Field(default=Path("var"), description="Folder for local state (SQLite, mail).")
    database_url: str | None = Field(
        default=None,
        repr=False,  # may hold the database password
        description="SQLAlchemy URL of the case store; default: SQLite file in `home`. "
        "PostgreSQL: postgresql+psycopg://user:pw@host/db",
    )
    definitions_dir: Path = Field(default=Path("definitions"), description="Definition files.")
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where caseworkers open a case (links)."
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; none: file channel.")
    smtp_port: int = Field(
        default=25, ge=1, le=65535, description="SMTP port (587 for STARTTLS, 465 for TLS)."
    )
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        default="none",
        description="How the SMTP connection is encrypted: 'starttls' (upgraded after "
        "connecting, usually port 587), 'tls' (from the start, usually port 465) or 'none'. "
        "The server's certificate is verified against the system's CAs (or `smtp_ca_file`).",
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="A PEM file of CA certificates to verify the SMTP server by (a private "
        "relay's own CA); none: the system's CAs.",
    )
    smtp_username: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Login at the SMTP server (needs `smtp_security` starttls or tls); "
        "none: no login.",
    )
    smtp_password: SecretStr | None = Field(
        default=None, max_length=500, description="The SMTP login's password."
    )
    smtp_sender: str = Field(
        default="ungeindsats@kommune.example", description="From address of notifications."
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        min_length=8,
        description="HMAC key for webhooks and the SMS gateway; in production at least 32 "
        "characters.",
    )
    sms_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="SMS gateway webhook (signed with `webhook_secret`); none: SMS written to "
        "files in var/sms (`home`/sms).",
    )
    operator_alert_url: SecretStr | None = Field(
        default=None,
        description="Where the operators are told of a notification given up: a Prefect "
        "automation POSTs each dead delivery's codes here (created by `workflow up` and "
        "`workflow deploy`); none: no automation, only the red run and the event.",
    )
    sms_sender: str = Field(
        default="Ungeindsats",
        min_length=1,
        max_length=11,
        pattern=r"^[A-Za-z0-9]+$",
        description="The SMS sender id: at most 11 letters or digits (an alphanumeric sender).",
    )
    delivery_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds to wait for an SMTP server or a webhook receiver to answer.",
    )
    delivery_attempts: int = Field(
        default=5, ge=1, le=50, description="Attempts before a delivery is marked dead."
    )
    sweep_batch: int = Field(
        default=500, ge=1, le=100_000, description="Outbox rows or timers claimed per batch."
    )
    sweep_runs_max: int = Field(
        default=100,
        ge=0,
        le=10_000,
        description="Steps a sweep carries out as runs of their own (timer-fired steps, then "
        "steps with notifications left over), each findable by its case reference; the "
        "rest are delivered in batches.",
    )
    handoff_grace: float = Field(
        default=300.0,
        ge=0,
        le=3600,
        description="Seconds the sweep leaves a step's untried notifications to the worker "
        "it was handed to, when workers are listening (under a backlog a worker may take "
        "minutes to reach a step; handing it off again would only add to the backlog).",
    )
    handoff_stalled_after: float = Field(
        default=1800.0,
        ge=0,
        le=86400,
        description="Seconds after which a step's run that a worker started and never "
        "ended (the worker was killed) is marked Crashed by the sweep; its notifications "
        "are still in the outbox and are delivered once their lease ends.",
    )
    national_figures_ttl: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="Seconds the national comparison's counts are kept before they are "
        "counted again (counting every municipality's year takes about a second on a "
        "national store); 0 counts on every request. A municipality's own page is always "
        "counted afresh.",
    )

    web_port: int = Field(default=8000, ge=1, le=65535, description="Port of the web app.")
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        min_length=8,
        description="Key that signs CSRF tokens under single sign-on and the citizens' login "
        "state; in production a random value of at least 32 characters.",
    )
    identity: Literal["local", "header"] = Field(
        default="local",
        description="How people log in: 'local' accounts, or 'header' from a SAML/OIDC proxy.",
    )
    identity_header: str = Field(
        default="X-Remote-User", description="The header a SAML/OIDC proxy names the user in."
    )
    trusted_proxies: list[str] = Field(
        default=["127.0.0.1"],
        description="Addresses (the TCP peer) whose identity header and X-Forwarded-For are "
        "trusted.",
    )
    citizen_oidc_issuer: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        pattern=r"^https?://",
        description="OIDC issuer for the young person's and guardian's login (NemLog-in); "
        "none: citizens cannot log in.",
    )
    citizen_oidc_client_id: str = Field(
        default="kui-borger",
        min_length=1,
        max_length=200,
        description="Our client ID at the citizens' OIDC provider.",
    )
    citizen_oidc_client_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET),
        min_length=8,
        max_length=500,
        description="Our client secret at the citizens' OIDC provider; set the registered one.",
    )
    citizen_cpr_claim: str = Field(
        default="https://data.gov.dk/model/core/eid/cprNumber",
        min_length=1,
        max_length=200,
        description="The ID token claim holding the CPR number (NemLog-in's name by default).",
    )
    # NoDecode: the raw variable reaches the validator, so a plain comma-separated list works.
    cpr_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        repr=False,  # secrets stay out of logged settings
        description="Keys that encrypt CPR numbers (Fernet); the first encrypts, all decrypt; "
        "rotate with `workflow cpr rotate`. Empty: a key file `cpr.keys` in `home`.",
    )

    @field_validator("database_url")
    @classmethod
    def _a_store_we_can_use(cls, value: str | None) -> str | None:
        """A SQLite or PostgreSQL address SQLAlchemy can read; the error never quotes it
        (it may hold the database password)."""
        if value is None:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        example = (
            "write sqlite:///path/to/workflow.db or "
            "postgresql+psycopg://user:password@host:5432/database"
        )
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database address: {example}") from None
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError(
                f"the store is SQLite or PostgreSQL, not {url.get_backend_name()}: {example}"
            )
        if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
            raise ValueError(
                f"PostgreSQL is reached through psycopg (3), which is installed, not "
                f"{url.get_driver_name()}: {example}"
            )
        return value

    @field_validator("cpr_keys", mode="before")
    @classmethod
    def _split_cpr_keys(cls, value: object) -> object:
        """Accept a JSON list or a comma-separated string; blanks are dropped.

        Never raises: the keys are checked by :mod:`workflow.privacy.cpr`, whose error names the
        setting and never echoes a key (pydantic's errors would print the secret).
        """
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else text.split(",")
            except json.JSONDecodeError:
                value = text.strip("[]").split(",")
        if isinstance(value, list | tuple):
            return [key for key in (str(item).strip().strip('"') for item in value) if key]
        return value

    audit_retention_days: int = Field(
        default=1826,
        ge=180,
        le=36_500,
        description="Days the audit log is kept before `workflow audit prune` may remove it.",
    )

    web_threads: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Requests the web app works on at once (its worker threads); more wait "
        "their turn. A page is mostly Python time, and Python runs one thread at a time, "
        "so a few threads answer many users sooner than many threads do (docs/benchmarks.md).",
    )

    web_max_body: int = Field(
        default=1_048_576,
        ge=1024,
        le=1_073_741_824,
        description="The largest request body the web app and API accept, in bytes; a "
        "larger one is refused with 413 before it is read.",
    )

    @model_validator(mode="after")
    def _secrets_fit_the_environment(self) -> Settings:
        """Production refuses development or short secrets; a login needs an encrypted link."""
        problems = weak_secrets(self) if self.environment == "production" else []
        if self.smtp_username and self.smtp_password is None:
            problems.append("WORKFLOW_SMTP_USERNAME is set: set WORKFLOW_SMTP_PASSWORD too")
        if self.smtp_username and self.smtp_security == "none":
            problems.append(
                "WORKFLOW_SMTP_USERNAME is set: set WORKFLOW_SMTP_SECURITY to starttls or tls "
                "(the password would cross the network in clear)"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def store_url(self) -> str:
        """The case store's URL (the SQLite default lives in ``home``)."""
        return self.database_url or f"sqlite:///{self.home / 'workflow.db'}"

    @property
    def mail_dir(self) -> Path:
        """Where the file channel writes notifications."""
        return self.home / "mail"


def weak_secrets(settings: Settings) -> list[str]:
    """What production refuses: each line names a variable, never its value.

    The secrets we choose ourselves (``secret_key``, ``webhook_secret``) must be at least
    32 characters and not the development default; secrets another party issues (the
    citizens' OIDC client secret) must not be the default where they are used.
    """
    problems = []
    own = {"secret_key": settings.secret_key, "webhook_secret": settings.webhook_secret}
    for name, secret in own.items():
        value = secret.get_secret_value()
        if value == DEVELOPMENT_SECRET or len(value) < MIN_SECRET_LENGTH:
            problems.append(
                f"WORKFLOW_{name.upper()} must be a random secret of at least "
                f"{MIN_SECRET_LENGTH} characters in production (not the development default); "
                f"make one with: {MAKE_A_SECRET}"
            )
    if os.environ.get("WORKFLOW_TEST_FAST_PASSWORD_HASHES") == "1":
        problems.append(
            "WORKFLOW_TEST_FAST_PASSWORD_HASHES is for the test suite only (cheap password "
            "hashes): unset it"
        )
    client_secret = settings.citizen_oidc_client_secret.get_secret_value()
    if settings.citizen_oidc_issuer and client_secret == DEVELOPMENT_SECRET:
        problems.append(
            "WORKFLOW_CITIZEN_OIDC_CLIENT_SECRET is the development default: set the client "
            "secret registered at the citizens' OIDC provider"
        )
    return problems


def refusal_lines(error: ValidationError) -> list[str]:
    """A refused settings tree as lines naming each variable (never a value)."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        where = "_".join(str(part) for part in problem["loc"]).upper()
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"WORKFLOW_{where}: {message}" if where else message)
    return lines


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once); refused settings stop the process with
    :class:`SettingsError` (one line each, no traceback)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError("\n".join(refusal_lines(error))) from None
