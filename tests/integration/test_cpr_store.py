"""CPR numbers in the real store: encrypted on referral, re-encrypted by `workflow cpr rotate`."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import SecretStr
from sqlalchemy import select, text
from typer.testing import CliRunner

from tests.integration.scripted import PERSON
from workflow.cases.model import YoungPersonDetails
from workflow.cli.main import app
from workflow.engine.model import Actor
from workflow.privacy.cpr import CprCipher, key_ring
from workflow.runtime import Runtime, build_runtime, use_runtime

CW = Actor("caseworker", "cw-mette")
INPUTS = {"source": "school", "caseworker": "cw"}
SECOND = YoungPersonDetails("Anton Prøvesen", "0202094239", date(2009, 2, 2))
LEGACY_CPR = "030303-4321"  # stored in plaintext before encryption


def stored_cprs(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as connection:
        return list(connection.execute(text("SELECT cpr FROM young_persons ORDER BY id")).scalars())


def test_a_referral_stores_the_cpr_number_encrypted(runtime: Runtime) -> None:
    runtime.service.refer("soroe", PERSON, CW, INPUTS)
    [stored] = stored_cprs(runtime)
    assert PERSON.cpr not in stored
    assert PERSON.cpr[:6] not in stored
    assert PERSON.cpr[6:] not in stored
    assert runtime.uow.cpr.decrypt(stored) == PERSON.cpr
    assert runtime.uow.cpr.mask(stored) == "010110-xxxx"
    # The runtime's key ring is its own settings' (here: the key file in its home).
    assert CprCipher(key_ring(runtime.settings)).decrypt(stored) == PERSON.cpr
    assert (runtime.settings.home / "cpr.keys").exists()


def test_rotate_re_encrypts_every_row_under_the_new_first_key(runtime: Runtime) -> None:
    runtime.service.refer("soroe", PERSON, CW, INPUTS)
    runtime.service.refer("soroe", SECOND, CW, INPUTS)
    with runtime.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO young_persons (name, cpr, birth_date) VALUES (:n, :c, :b)"),
            {"n": "Gammel Sag", "c": LEGACY_CPR, "b": date(2003, 3, 3)},
        )
    old_keys = key_ring(runtime.settings)
    new_key = CprCipher.generate_key()
    rotated = build_runtime(
        runtime.settings.model_copy(
            update={"cpr_keys": [SecretStr(key) for key in (new_key, *old_keys)]}
        ),
        clock=runtime.uow.clock,
    )
    use_runtime(rotated)  # what `workflow cpr rotate` runs with after the restart
    try:
        result = CliRunner().invoke(app, ["cpr", "rotate", "--batch", "2"])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == (
            "rotated 2, encrypted 1 plaintext (0 already under the first key)"
        )
        assert not any(c in result.output for c in (PERSON.cpr, SECOND.cpr, LEGACY_CPR))

        only_new = CprCipher([new_key])
        assert [only_new.decrypt(value) for value in stored_cprs(runtime)] == [
            PERSON.cpr,
            SECOND.cpr,
            LEGACY_CPR,
        ]
        # A second run has nothing left to do.
        again = CliRunner().invoke(app, ["cpr", "rotate"])
        assert again.stdout.strip() == (
            "rotated 0, encrypted 0 plaintext (3 already under the first key)"
        )
        # New referrals are encrypted under the new key too.
        rotated.service.refer("soroe", PERSON, CW, {**INPUTS, "caseworker": "cw2"})
        assert only_new.decrypt(stored_cprs(runtime)[-1]) == PERSON.cpr
    finally:
        use_runtime(None)
        rotated.engine.dispose()


def test_rotate_without_the_old_key_stops_with_a_clear_error(runtime: Runtime) -> None:
    runtime.service.refer("soroe", PERSON, CW, INPUTS)
    before = stored_cprs(runtime)
    lost = build_runtime(
        runtime.settings.model_copy(update={"cpr_keys": [SecretStr(CprCipher.generate_key())]}),
        clock=runtime.uow.clock,
    )
    use_runtime(lost)
    try:
        result = CliRunner().invoke(app, ["cpr", "rotate"])
    finally:
        use_runtime(None)
        lost.engine.dispose()
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: young_persons row 1: the CPR key ring does not")
    assert "WORKFLOW_CPR_KEYS=NEW_KEY,OLD_KEY" in result.stderr
    assert "Traceback" not in result.output
    assert PERSON.cpr not in result.output
    assert PERSON.cpr[:6] not in result.output
    assert stored_cprs(runtime) == before


def test_a_reveal_needs_a_purpose_of_three_characters_on_every_way_in(runtime: Runtime) -> None:
    """The API asked for 3-200 characters, the web page for one (issue 17): the rule is
    the service's now, so a two-letter purpose is refused alike — and not audited."""
    from workflow.errors import PurposeRequiredError
    from workflow.store.tables import AuditEntry

    inputs = INPUTS | {"caseworker": "cw-mette"}  # the caseworker of record reveals
    reference = runtime.service.refer("soroe", PERSON, CW, inputs).reference
    for purpose in ("ok", "  x  ", ""):
        with pytest.raises(PurposeRequiredError):
            runtime.service.reveal_cpr(reference, CW, purpose)
    with runtime.sessions() as session:
        reveals = session.scalars(select(AuditEntry).where(AuditEntry.object_type == "cpr")).all()
    assert reveals == []
    assert runtime.service.reveal_cpr(reference, CW, "kontrol") == PERSON.cpr
