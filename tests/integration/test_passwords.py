"""Passwords: length is not the only rule (issue 17). Twelve spaces were accepted."""

from __future__ import annotations

import pytest

from workflow.privacy.accounts import AccountError
from workflow.runtime import Runtime


@pytest.mark.parametrize(
    "password",
    [
        " " * 12,
        "  kort kode  ",
        "aaaaaaaaaaaaaaaa",
        "abababababababab",
        "123456789012",
        "password2026!",
        "Sommer2026!!",
        "adgangskode123",
    ],
)
def test_a_blank_repetitive_or_common_password_is_refused(
    sqlite_runtime: Runtime, password: str
) -> None:
    with pytest.raises(AccountError, match="password"):
        sqlite_runtime.accounts.create(
            "mette", password, display_name="Mette", person_id="cw-mette", roles=["caseworker"]
        )


def test_a_long_unusual_password_is_taken_and_changes_are_checked_alike(
    sqlite_runtime: Runtime,
) -> None:
    accounts = sqlite_runtime.accounts
    accounts.create(
        "mette",
        "korrekt-hest-batteri",
        display_name="Mette",
        person_id="cw-mette",
        roles=["caseworker"],
    )
    with pytest.raises(AccountError, match="common"):
        accounts.set_password("mette", "velkommen12345")
    accounts.set_password("mette", "blaa-cykel-over-broen")
