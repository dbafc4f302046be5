"""Secrets in the settings (issue 17): never shown, and never the development ones in
production — the process refuses to start with one clear line per secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from workflow.settings import DEVELOPMENT_SECRET, MAKE_A_SECRET, Settings, refusal_lines

STRONG = "k8Hq2vXo1Zr9Lw3Jb5Nd7Fs0Gt4Ym6Pc"  # 32 characters
OTHER = "Qa1Ws2Ed3Rf4Tg5Yh6Uj7Ik8Ol9Pz0Xm"


@pytest.fixture(autouse=True)
def _as_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment's environment: without the test suite's cheap password hashes."""
    monkeypatch.delenv("WORKFLOW_TEST_FAST_PASSWORD_HASHES", raising=False)


def refused(**settings: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        Settings(**settings)  # type: ignore[arg-type]
    return refusal_lines(caught.value)


def test_development_takes_the_development_secrets() -> None:
    settings = Settings()
    assert settings.environment == "development"
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET


def test_production_refuses_the_development_secrets_naming_each_variable() -> None:
    [line] = refused(environment="production")
    problems = line.splitlines()
    assert [p.split()[0] for p in problems] == ["WORKFLOW_SECRET_KEY", "WORKFLOW_WEBHOOK_SECRET"]
    assert all(MAKE_A_SECRET in p for p in problems)
    assert DEVELOPMENT_SECRET not in line


def test_production_refuses_a_short_secret_and_never_echoes_it() -> None:
    short = STRONG[:31]
    [line] = refused(environment="production", secret_key=short, webhook_secret=OTHER)
    assert line.startswith("WORKFLOW_SECRET_KEY must be a random secret of at least 32")
    assert short not in line
    settings = Settings(environment="production", secret_key=STRONG, webhook_secret=OTHER)
    assert settings.secret_key.get_secret_value() == STRONG


def test_a_too_short_secret_is_refused_without_its_value_in_any_environment() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(secret_key="abc1234")
    assert "abc1234" not in str(caught.value)


def test_production_refuses_the_default_client_secret_where_citizens_log_in() -> None:
    [line] = refused(
        environment="production",
        secret_key=STRONG,
        webhook_secret=OTHER,
        citizen_oidc_issuer="https://nemlog-in.example",
    )
    assert line.startswith("WORKFLOW_CITIZEN_OIDC_CLIENT_SECRET is the development default")


def test_secrets_stay_out_of_repr_str_and_dumps() -> None:
    settings = Settings(
        secret_key=STRONG,
        webhook_secret=OTHER,
        citizen_oidc_client_secret="client-secret-1234",
        smtp_username="relay",
        smtp_password="relay-password-1234",
        smtp_security="starttls",
        database_url="postgresql+psycopg://kui:db-password-1234@db/kui",
    )
    shown = [repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())]
    for secret in (STRONG, OTHER, "client-secret-1234", "relay-password-1234"):
        assert not any(secret in text for text in shown), secret
    assert "db-password" not in repr(settings)  # the URL may hold a password
    assert isinstance(settings.webhook_secret, SecretStr)


def test_the_cli_refuses_to_start_in_production_with_one_line_per_secret(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env.update(
        WORKFLOW_ENVIRONMENT="production",
        WORKFLOW_HOME=str(tmp_path),
        WORKFLOW_WEBHOOK_SECRET=OTHER,
        WORKFLOW_SECRET_KEY="too-short-secret",
    )
    workflow = str(Path(sys.executable).with_name("workflow"))
    result = subprocess.run(
        [workflow, "validate", "definitions/base.yaml"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "WORKFLOW_SECRET_KEY must be a random secret of at least 32 characters in production "
        f"(not the development default); make one with: {MAKE_A_SECRET}"
    ]
    assert "too-short-secret" not in result.stderr + result.stdout


def test_production_refuses_the_test_suites_cheap_password_hashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WORKFLOW_TEST_FAST_PASSWORD_HASHES", "1")
    [line] = refused(environment="production", secret_key=STRONG, webhook_secret=OTHER)
    assert line.startswith("WORKFLOW_TEST_FAST_PASSWORD_HASHES is for the test suite only")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("notaurl", "not a database address"),
        ("mysql://kui:pw-9f3@db.example/kui", "the store is SQLite or PostgreSQL, not mysql"),
        ("postgresql+psycopg2://kui:pw-9f3@db/kui", "through psycopg (3), which is installed"),
    ],
    ids=["not-a-url", "another-database", "another-driver"],
)
def test_a_store_address_we_cannot_use_is_refused_by_name_without_its_password(
    url: str, says: str
) -> None:
    (line,) = refused(database_url=url)
    assert line.startswith("WORKFLOW_DATABASE_URL: ")
    assert says in line
    assert "postgresql+psycopg://user:password@host:5432/database" in line  # what to write
    assert "pw-9f3" not in line


@pytest.mark.parametrize(
    "url",
    ["sqlite:///var/workflow.db", "postgresql+psycopg://kui:pw@db:5432/kui", "postgresql://db/k"],
)
def test_sqlite_and_postgresql_through_psycopg_are_taken(url: str) -> None:
    assert Settings(database_url=url).store_url == url
