"""Staff passwords are hashed at argon2's full cost unless the test suite's switch is on."""

from __future__ import annotations

import subprocess
import sys

from workflow.privacy import passwords

_PROBE = (
    "from argon2 import extract_parameters; from workflow.privacy import passwords; "
    "print(extract_parameters(passwords.hashed('a long enough pass phrase')).memory_cost)"
)


def _memory_cost(env: dict[str, str]) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def test_a_process_without_the_switch_hashes_at_full_cost() -> None:
    # The environment of a deployment: the suite's switch is not there.
    assert _memory_cost({"PATH": "/usr/bin:/bin"}) >= 19 * 1024  # argon2-cffi's default: 64 MiB


def test_the_suite_switch_makes_cheap_hashes_and_no_rehash_at_login() -> None:
    assert _memory_cost({"PATH": "/usr/bin:/bin", passwords.FAST_HASHES_FOR_TESTS: "1"}) <= 64
    # This process runs under the suite's switch (tests/conftest.py): a stored cheap hash is
    # not hashed again at the next login.
    assert not passwords.needs_rehash(passwords.hashed("a long enough pass phrase"))
