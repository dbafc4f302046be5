"""Idempotency keys: a repeated request gets the first result, a reused key an error.

A caller (a double click, a retried API call, a re-run intake file) sends a key with a
step or referral; the step's transaction stores its result under the key, and the same
request again returns that result instead of taking the step twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from workflow.cases.model import StepResult
from workflow.errors import IdempotencyKeyReusedError
from workflow.store.loading import connection_of
from workflow.store.statements import IDEMPOTENT_RESULT
from workflow.store.tables import IdempotencyKey

#: Keys looked up in one statement (a chunk of a bulk intake is 1,000 rows).
_KEYS_AT_ONCE = 1000


def stored_result(connection: Connection, key: str) -> dict[str, Any] | None:
    """The result stored under ``key``, if any."""
    found = IDEMPOTENT_RESULT.rows(connection, {"b_key": key})
    return found[0][0] if found and found[0][0] else None


def stored_results(connection: Connection, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The results stored under any of ``keys`` (a chunk's keys: one query per 1,000)."""
    wanted = sorted(set(keys))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), _KEYS_AT_ONCE):
        rows = connection.execute(
            select(IdempotencyKey.key, IdempotencyKey.result).where(
                IdempotencyKey.key.in_(wanted[start : start + _KEYS_AT_ONCE])
            )
        )
        found.update((key, result) for key, result in rows if result)
    return found


def first_result(
    session: Session, key: str | None, reference: str | None, event: str
) -> StepResult | None:
    """The first result of a key — if the key was given for this same request."""
    if not key:
        return None
    result = stored_result(connection_of(session, flush=False), key)
    return repeated_result(result, key, reference, event) if result else None


def repeated_result(
    result: dict[str, Any], key: str, reference: str | None, event: str
) -> StepResult:
    """A key's stored first result, if the key was given for this same request."""
    if result.get("event") != event or (reference and result.get("reference") != reference):
        raise IdempotencyKeyReusedError(
            f"the idempotency key '{key}' was already used for {result.get('event')} on "
            f"{result.get('reference')}; use a new key for a new request"
        )
    return StepResult(**result, repeated=True)
