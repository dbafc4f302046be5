"""CPR numbers at rest: encryption, the key ring, rotation and masking."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from workflow.cli.main import app
from workflow.errors import WorkflowError
from workflow.privacy.cpr import CprCipher, CprKeyError, default_key_ring, key_ring, masked_cpr
from workflow.settings import Settings, get_settings

CPR = "010203-1234"
DIGITS = ("0102031234", "010203", "1234")
KEY_A = CprCipher.generate_key()
KEY_B = CprCipher.generate_key()


@pytest.fixture
def fresh_default_ring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The process's default settings and key ring, rebuilt for a throwaway home."""
    monkeypatch.setenv("WORKFLOW_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("WORKFLOW_CPR_KEYS", raising=False)
    get_settings.cache_clear()
    default_key_ring.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()
    default_key_ring.cache_clear()


def test_round_trip_and_the_token_holds_no_digits() -> None:
    cipher = CprCipher([KEY_A])
    token = cipher.encrypt(CPR)
    assert token != CPR
    assert not any(part in token for part in DIGITS)
    assert cipher.is_encrypted(token)
    assert cipher.decrypt(token) == CPR
    assert cipher.encrypt(CPR) != token  # a fresh IV each time: equal numbers look different
    assert len(token) <= 255  # fits young_persons.cpr


def test_mask_shows_only_the_birth_date() -> None:
    cipher = CprCipher([KEY_A])
    assert cipher.mask(cipher.encrypt(CPR)) == "010203-xxxx"
    assert cipher.mask(cipher.encrypt("0102031234")) == "010203-xxxx"
    # A value stored before encryption is masked too, until `workflow cpr rotate` runs.
    assert cipher.mask(CPR) == "010203-xxxx"
    assert masked_cpr("12") == "xxxxxx-xxxx"


def test_a_ring_with_the_old_key_after_the_new_one_reads_old_values_and_rotates_them() -> None:
    old = CprCipher([KEY_A]).encrypt(CPR)
    ring = CprCipher([KEY_B, KEY_A])
    assert ring.decrypt(old) == CPR
    assert not ring.is_current(old)
    rotated = ring.rotate(old)
    assert ring.is_current(rotated)
    assert CprCipher([KEY_B]).decrypt(rotated) == CPR
    with pytest.raises(CprKeyError):
        CprCipher([KEY_A]).decrypt(rotated)
    # The first key encrypts.
    assert CprCipher([KEY_B]).decrypt(ring.encrypt(CPR)) == CPR


def test_rotate_encrypts_a_plaintext_legacy_value() -> None:
    cipher = CprCipher([KEY_B, KEY_A])
    assert not cipher.is_encrypted(CPR)
    assert not cipher.is_encrypted("0102031234")
    token = cipher.rotate(CPR)
    assert cipher.is_encrypted(token)
    assert CprCipher([KEY_B]).decrypt(token) == CPR


def test_a_value_from_an_unknown_key_is_a_clear_error_without_the_number() -> None:
    token = CprCipher([KEY_A]).encrypt(CPR)
    with pytest.raises(CprKeyError) as caught:
        CprCipher([KEY_B]).decrypt(token)
    message = str(caught.value)
    assert isinstance(caught.value, WorkflowError)
    assert "does not contain the key" in message
    assert "WORKFLOW_CPR_KEYS=NEW_KEY,OLD_KEY" in message
    assert not any(part in message for part in DIGITS)
    assert token not in message
    with pytest.raises(CprKeyError, match="does not contain the key"):
        CprCipher([KEY_B]).rotate(token)
    with pytest.raises(CprKeyError, match="does not contain the key"):
        CprCipher([KEY_B]).mask(token)


def test_decrypting_a_plaintext_value_says_to_run_rotate() -> None:
    with pytest.raises(CprKeyError, match=r"not encrypted yet.*workflow cpr rotate") as caught:
        CprCipher([KEY_A]).decrypt(CPR)
    assert not any(part in str(caught.value) for part in DIGITS)


def test_the_setting_takes_a_json_list_or_comma_separated_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKFLOW_CPR_KEYS", f" {KEY_B} , {KEY_A},")
    assert key_ring(Settings(home=tmp_path)) == [KEY_B, KEY_A]
    monkeypatch.setenv("WORKFLOW_CPR_KEYS", f'["{KEY_B}", "{KEY_A}"]')
    settings = Settings(home=tmp_path)
    assert [key.get_secret_value() for key in settings.cpr_keys] == [KEY_B, KEY_A]
    assert key_ring(settings) == [KEY_B, KEY_A]
    assert KEY_A not in repr(settings)  # keys stay out of logged settings
    assert not (tmp_path / "cpr.keys").exists()  # the setting wins over the key file


@pytest.mark.parametrize(
    "value",
    ["not-a-key", f"{KEY_A},short", '["not a key"'],
    ids=["not-a-key", "a-key-then-a-short-one", "unclosed-list"],  # no random key in a name
)
def test_a_bad_key_in_the_setting_is_named_and_never_echoed(
    value: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKFLOW_CPR_KEYS", value)
    with pytest.raises(CprKeyError) as caught:
        key_ring(Settings(home=tmp_path))
    message = str(caught.value)
    assert message.startswith("WORKFLOW_CPR_KEYS: key ")
    assert "not a Fernet key" in message
    assert "workflow cpr new-key" in message
    for secret in ("not-a-key", "short", KEY_A):
        assert secret not in message


def test_a_bad_key_given_directly_is_a_clear_error() -> None:
    with pytest.raises(CprKeyError, match="CPR key 2 of 2: not a Fernet key"):
        CprCipher([KEY_A, "nope"])
    with pytest.raises(CprKeyError, match="the CPR key ring is empty"):
        CprCipher([])


def test_without_the_setting_a_private_key_file_is_made_once(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "var")
    first = key_ring(settings)
    path = tmp_path / "var" / "cpr.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 1
    Fernet(first[0])  # a valid key
    assert key_ring(settings) == first
    assert [p.name for p in path.parent.iterdir()] == ["cpr.keys"]  # no temporary left


def test_the_key_file_takes_one_key_per_line_and_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "cpr.keys"
    path.write_text(f"# newest first\n{KEY_B}\n\n{KEY_A}\n", encoding="utf-8")
    assert key_ring(Settings(home=tmp_path)) == [KEY_B, KEY_A]
    path.write_text(f"{KEY_B}\noops\n", encoding="utf-8")
    with pytest.raises(CprKeyError, match=r"cpr\.keys:2: not a Fernet key") as caught:
        key_ring(Settings(home=tmp_path))
    assert "oops" not in str(caught.value)
    path.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(CprKeyError, match="holds no key"):
        key_ring(Settings(home=tmp_path))


def test_ciphers_built_without_keys_share_the_process_key_ring(
    fresh_default_ring: Path,
) -> None:
    token = CprCipher().encrypt(CPR)
    assert CprCipher().decrypt(token) == CPR
    assert (fresh_default_ring / "cpr.keys").exists()
    assert CprCipher(list(default_key_ring())).decrypt(token) == CPR


def test_new_key_prints_a_usable_key_and_what_to_do_with_it() -> None:
    result = CliRunner().invoke(app, ["cpr", "new-key"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert CprCipher([key]).decrypt(CprCipher([key]).encrypt(CPR)) == CPR
    assert "first in WORKFLOW_CPR_KEYS" in result.stderr
    assert "workflow cpr rotate" in result.stderr
