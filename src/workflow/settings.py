"""One settings tree for the whole application: ``WORKFLOW_*`` environment variables.

Every field is described and bounded. Defaults give the embedded set-up: a SQLite file
and everything else under ``var/`` in the project.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings, read from ``WORKFLOW_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="WORKFLOW_", extra="ignore")

    home: Path = Field(default=Path("var"), description="Folder for local state (SQLite, mail).")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the case store; default: SQLite file in `home`. "
        "PostgreSQL: postgresql+psycopg://user:pw@host/db",
    )
    definitions_dir: Path = Field(default=Path("definitions"), description="Definition files.")
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where caseworkers open a case (links)."
    )
    smtp_host: str | None = Field(default=None, description="SMTP server; none: file channel.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_sender: str = Field(
        default="ungeindsats@kommune.example", description="From address of notifications."
    )
    webhook_secret: str = Field(
        default="dev-secret-change-me", min_length=8, description="HMAC key for webhooks."
    )
    sms_webhook_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+$",
        description="SMS gateway webhook (signed with `webhook_secret`); none: SMS written to "
        "files in var/sms (`home`/sms).",
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

    web_port: int = Field(default=8000, ge=1, le=65535, description="Port of the web app.")
    secret_key: str = Field(
        default="dev-secret-change-me",
        min_length=8,
        description="Secret for CSRF tokens under single sign-on; set a long random value.",
    )
    identity: Literal["local", "header"] = Field(
        default="local",
        description="How people log in: 'local' accounts, or 'header' from a SAML/OIDC proxy.",
    )
    identity_header: str = Field(
        default="X-Remote-User", description="The header a SAML/OIDC proxy names the user in."
    )
    trusted_proxies: list[str] = Field(
        default=["127.0.0.1"], description="Addresses whose identity header is trusted."
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
    citizen_oidc_client_secret: str = Field(
        default="dev-secret-change-me",
        min_length=8,
        max_length=500,
        repr=False,  # secrets stay out of logged settings
        description="Our client secret at the citizens' OIDC provider; set the registered one.",
    )
    citizen_cpr_claim: str = Field(
        default="https://data.gov.dk/model/core/eid/cprNumber",
        min_length=1,
        max_length=200,
        description="The ID token claim holding the CPR number (NemLog-in's name by default).",
    )
    # NoDecode: the raw variable reaches the validator, so a plain comma-separated list works.
    cpr_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        repr=False,  # secrets stay out of logged settings
        description="Keys that encrypt CPR numbers (Fernet); the first encrypts, all decrypt; "
        "rotate with `workflow cpr rotate`. Empty: a key file `cpr.keys` in `home`.",
    )

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

    @property
    def store_url(self) -> str:
        """The case store's URL (the SQLite default lives in ``home``)."""
        return self.database_url or f"sqlite:///{self.home / 'workflow.db'}"

    @property
    def mail_dir(self) -> Path:
        """Where the file channel writes notifications."""
        return self.home / "mail"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once)."""
    return Settings()
