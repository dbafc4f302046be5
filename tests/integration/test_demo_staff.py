"""The demo's staff after the README's own `account create mette`: the demo made no
account at all once 'mette' existed, and its scripts (which name the coordinator and the
team) were then refused, with a traceback, because Sorø had an account."""

from __future__ import annotations

from workflow.cli.operations import DEMO_ACCOUNTS, _demo_staff
from workflow.runtime import Runtime


def test_the_demo_makes_each_of_its_staff_missing_and_keeps_one_made_by_hand(
    sqlite_runtime: Runtime,
) -> None:
    sqlite_runtime.accounts.create(
        "mette",
        "mettes-egen-kode-2026",
        display_name="Mette Sagsbehandler",
        person_id="cw-mette",
        roles=["caseworker"],
        municipality_code="340",
    )
    assert _demo_staff() is True
    for username, _name, person_id, _roles, _department in DEMO_ACCOUNTS:
        user = sqlite_runtime.accounts.user(username)
        assert user is not None, username
        assert user.person_id == person_id
    # The account made by hand keeps its own password; the demo's is not set on it.
    assert sqlite_runtime.accounts.login("mette", "mettes-egen-kode-2026") is not None
    assert _demo_staff() is False  # all there: nothing made twice
