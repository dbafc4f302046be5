"""Failed logins slow down: growing delays per client address and per account.

This replaces "five wrong passwords lock the account for 15 minutes", which let anyone
lock anyone out (a denial of service) and answered faster for existing accounts (an
oracle). Failures are counted in memory with the `limits` library, keyed by the
username *as typed* (never by whether the account exists) and by the client address:

- one address guessing one username: 5 a minute, 10 in 15 minutes, 20 an hour — so each
  further guess waits longer (``PAIR``);
- one address across all usernames (password spraying): 20 a minute, 60 in 15 minutes,
  200 a day (``ADDRESS``);
- one username from every address (a spread-out attack): 20 in 15 minutes, 50 a day —
  but not for an address from which that account logged in during the last 30 days, so
  the real user keeps working while an attacker is slowed down (``ACCOUNT``).

A throttled attempt is refused before its password is checked (so it tells nothing about
the password) and costs no hashing. After ``ALERT`` failures in 15 minutes for one
username or one address the operators are alerted once per window.

The counts live in each web process's memory: a restart forgets them, and several
processes each count their own (the delays then grow a little slower).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

PAIR = (parse("5/minute"), parse("10/15 minutes"), parse("20/hour"))
ADDRESS = (parse("20/minute"), parse("60/15 minutes"), parse("200/day"))
ACCOUNT = (parse("20/15 minutes"), parse("50/day"))
#: Failures in a (fixed) 15-minute window that alert the operators, once per window.
ALERT = parse("20/15 minutes")
#: An address the account logged in from is "known" to it for 30 days.
KNOWN = parse("1/30 days")


def username_key(username: str) -> str:
    """How a typed username is counted: trimmed, case-folded, bounded."""
    return username.strip().casefold()[:100] or "-"


@dataclass(frozen=True)
class Alert:
    """Many failures: ``kind`` is ``account`` (one username) or ``address`` (one client)."""

    kind: str
    count: int


class LoginThrottle:
    """Counts failed logins and tells how long an attempt must wait."""

    def __init__(self) -> None:
        storage = MemoryStorage()
        self.moving = MovingWindowRateLimiter(storage)
        self.fixed = FixedWindowRateLimiter(storage)

    def wait(self, username: str, address: str) -> int:
        """Seconds this attempt must wait (0: it may go ahead)."""
        user = username_key(username)
        limited: list[tuple[RateLimitItem, tuple[str, ...]]] = [
            (item, ("pair", user, address)) for item in PAIR
        ]
        limited += [(item, ("address", address)) for item in ADDRESS]
        if not self.known(user, address):
            limited += [(item, ("account", user)) for item in ACCOUNT]
        now = time.time()
        waits = [
            self.moving.get_window_stats(item, *keys).reset_time - now
            for item, keys in limited
            if not self.moving.test(item, *keys)
        ]
        return max(1, math.ceil(max(waits))) if waits else 0

    def failed(self, username: str, address: str) -> list[Alert]:
        """Count a wrong password (or an unknown username); the alerts it raises."""
        user = username_key(username)
        for item in PAIR:
            self.moving.hit(item, "pair", user, address)
        for item in ADDRESS:
            self.moving.hit(item, "address", address)
        for item in ACCOUNT:
            self.moving.hit(item, "account", user)
        alerts = []
        for kind, keys in (("account", (user,)), ("address", (address,))):
            # The hit that uses up the window's last place alerts; later ones are refused.
            if self.fixed.hit(ALERT, "alert", kind, *keys) and self._spent(ALERT, kind, keys):
                alerts.append(Alert(kind, ALERT.amount))
        return alerts

    def _spent(self, item: RateLimitItem, kind: str, keys: tuple[str, ...]) -> bool:
        return self.fixed.get_window_stats(item, "alert", kind, *keys).remaining == 0

    def succeeded(self, username: str, address: str) -> None:
        """A right password: this address's own count starts over, and it is known."""
        user = username_key(username)
        for item in PAIR:
            self.moving.clear(item, "pair", user, address)
        self.moving.clear(KNOWN, "known", user, address)
        self.moving.hit(KNOWN, "known", user, address)

    def known(self, user: str, address: str) -> bool:
        """Whether the account logged in from this address lately (its entry is there)."""
        return not self.moving.test(KNOWN, "known", user, address)
