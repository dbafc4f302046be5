"""`workflow account create`: a typing slip in a role or a municipality is refused, said
once, before the password is asked for; nothing is created (a helper's report: an account
with role `wizard` for municipality 999 was created, and could do nothing)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from workflow.cli.main import app as cli
from workflow.privacy.accounts import AccountError
from workflow.runtime import Runtime

PASSWORD = "korrekt-hest-batteri-2026"


@pytest.mark.parametrize(
    ("options", "told"),
    [
        (["--role", "wizard", "--municipality", "340"], "--role: role 'wizard' is not an account"),
        (["--role", "caseworker", "--municipality", "999"], "--municipality 999: no installed"),
        (["--role", "caseworker"], "a caseworker's account belongs to a municipality"),
        (
            ["--role", "team_member", "--municipality", "340", "--department", "skolen"],
            "--department skolen: Sorø Kommune has no such department; use one of",
        ),
    ],
)
def test_an_unknown_role_or_municipality_creates_nothing(
    sqlite_runtime: Runtime, options: list[str], told: str
) -> None:
    result = CliRunner().invoke(
        cli,
        ["account", "create", "mette", "--name", "Mette", "--person-id", "cw-mette", *options],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 1
    assert told in result.output
    assert "Password" not in result.output  # told before the password is asked for
    assert any(known in result.output for known in ("340 (Sorø", "caseworker, coord", "skole"))
    assert sqlite_runtime.accounts.user("mette") is None


def test_a_national_analyst_needs_no_municipality(sqlite_runtime: Runtime) -> None:
    result = CliRunner().invoke(
        cli,
        ["account", "create", "kl", "--name", "KL", "--person-id", "kl-1", "--role", "analyst"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert sqlite_runtime.accounts.user("kl") is not None


def test_the_service_refuses_a_role_and_a_code_not_as_written(sqlite_runtime: Runtime) -> None:
    with pytest.raises(AccountError, match="use one of caseworker"):
        sqlite_runtime.accounts.create(
            "mette", PASSWORD, display_name="M", person_id="cw-m", roles=["sagsbehandler"]
        )
    with pytest.raises(AccountError, match="three-digit code"):
        sqlite_runtime.accounts.create(
            "mette", PASSWORD, display_name="M", person_id="cw-m", roles=["caseworker"],
            municipality_code="Sorø",
        )  # fmt: skip


def test_a_staff_id_too_long_for_the_log_is_refused(sqlite_runtime: Runtime) -> None:
    """A staff id goes into the audit log and the case history behind a role (a consent's
    system step: "consent:coordinator:<id>", in columns of 200 characters): one of 200
    characters was taken, and the first step it took failed."""
    with pytest.raises(AccountError, match="staff id: give 1-120 characters"):
        sqlite_runtime.accounts.create(
            "mette", PASSWORD, display_name="M", person_id="x" * 121, roles=["caseworker"]
        )
    created = sqlite_runtime.accounts.create(
        "mette", PASSWORD, display_name="M", person_id="x" * 120, roles=["caseworker"]
    )
    assert created.person_id == "x" * 120


def test_no_definitions_found_says_where_it_looked(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run outside the project's folder, no definition was found, and the error said "use
    one of " and nothing after it."""
    monkeypatch.setattr(sqlite_runtime.catalog, "current", {})
    result = CliRunner().invoke(
        cli,
        ["account", "create", "mette", "--name", "Mette", "--person-id", "cw-mette",
         "--role", "caseworker", "--municipality", "340"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 1
    folder = str(sqlite_runtime.settings.definitions_dir.resolve())
    assert f"no municipality's definition found in {folder}" in result.output
    assert "WORKFLOW_DEFINITIONS_DIR" in result.output
    assert sqlite_runtime.accounts.user("mette") is None
