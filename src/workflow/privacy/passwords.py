"""Staff passwords: the rules a new one must meet, and its argon2 hash.

A password has at least 12 characters that are not spaces, more than a few different
ones, and is not among the most common (also with digits or a year after it). Only the
argon2 hash is stored. An unknown username is checked against a dummy hash, so it costs
the same time as a wrong password.
"""

from __future__ import annotations

import functools
import os

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 12
#: For the test suite only: "1" makes hashes with argon2's cheapest parameters (well under
#: a millisecond instead of 0.2-0.5 s here; the suite makes and checks hundreds). Never set
#: it where real accounts live: their hashes would be cheap to guess.
FAST_HASHES_FOR_TESTS = "WORKFLOW_TEST_FAST_PASSWORD_HASHES"
_HASHER = (
    PasswordHasher.from_parameters(profiles.CHEAPEST)
    if os.environ.get(FAST_HASHES_FOR_TESTS) == "1"
    else PasswordHasher()
)
#: Passwords of 12 characters or more that are tried first (lower-cased; a digit run or
#: a year at the end does not make them safe).
_COMMON = frozenset(
    {
        "password", "passwordpassword", "qwertyuiopasdf", "qwertyuiop", "123456789012",
        "abcdefghijkl", "iloveyouiloveyou", "adgangskode", "kodeordkodeord", "sommerfugl",
        "velkommen", "hemmeligt", "danmark", "kobenhavn", "københavn", "letmein", "welcome",
        "changeme", "administrator", "sommer", "vinter", "efterår", "forår", "trustno1",
    }
)  # fmt: skip


def _guessable(password: str) -> bool:
    """Whether a password is a common one, perhaps with digits or a year after it."""
    core = password.lower().rstrip("0123456789!.?# ").strip()
    return core in _COMMON or len(set(core)) <= 2 or core.isdigit()


def problem(password: str) -> str | None:
    """What is wrong with a new password (and how to mend it), or None."""
    if len(password) < MIN_PASSWORD:
        return f"password: use at least {MIN_PASSWORD} characters"
    if len(password.strip()) < MIN_PASSWORD or len(set(password)) < 4:
        return (
            "password: use at least 12 characters that are not spaces, and more than "
            "a few different ones"
        )
    if _guessable(password):
        return "password: it is among the most common passwords; choose another"
    return None


def hashed(password: str) -> str:
    """The argon2 hash to store (the password already checked with :func:`problem`)."""
    return _HASHER.hash(password)


def verify(stored: str, password: str) -> bool:
    """Whether the password is the one behind the stored hash."""
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def dummy_hash() -> str:
    """Verified when the username is unknown, so a wrong username takes as long as a wrong
    password. Made at the first such login, not on import: hashing takes 0.2-0.7 s here,
    which every CLI command paid at start-up."""
    return _HASHER.hash("no such account, no such password")


def needs_rehash(stored: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored)
