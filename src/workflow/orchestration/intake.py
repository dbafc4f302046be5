"""Bulk intake: a CSV of referrals opened as cases, in chunks (never a flow run per case).

Every row is checked first (by the service's own rules); if any is refused, no case of
the file is opened and each refused row is reported by number and code. A file is
taken in as of one moment, when its check began: its rows are checked as of it and its
cases opened as of it (their deadlines counted from it; each case's audit entry says when
it was written), so a row the check accepted is not refused later for a birthday passed
meanwhile. Prefect gets only the staged file's batch id, never a file name or a row.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import acreate_table_artifact

from workflow.cases.intake_file import INTAKE_COLUMNS, read_rows
from workflow.cases.model import Referral, RejectedError, YoungPersonDetails
from workflow.cases.referral_checks import ReferralChecks
from workflow.engine.model import Actor
from workflow.errors import IdempotencyKeyReusedError, WorkflowError
from workflow.runtime import get_runtime
from workflow.store.catalog import UnknownDefinitionError

INTAKE_CHUNK = 1000

#: Callbacks told how many rows each intake chunk handled (the CLI's progress bar).
PROGRESS: list[Callable[[int], object]] = []
#: Callbacks given the refused rows of an intake (the CLI lists them, row by row).
REFUSED: list[Callable[[list[dict[str, Any]]], object]] = []
#: How a refusal's field is named in an intake report: the file's column.
_COLUMNS = {"young_person.name": "name", "young_person.cpr": "cpr"}
_COLUMNS["young_person.birth_date"] = "birth_date"


@task(task_run_name="intake-check-{first}")
def check_chunk(rows: list[dict[str, str]], first: int, source: str) -> list[dict[str, Any]]:
    """Check a chunk of CSV rows without opening a case (a task per chunk)."""
    return check_rows(rows, first, source)


@task(task_run_name="intake-rows-{first}")
def intake_chunk(rows: list[dict[str, str]], first: int, source: str) -> list[dict[str, Any]]:
    """Refer a chunk of CSV rows (a task: one per chunk, never one per case)."""
    return refer_rows(rows, first, source)


def _referrals(
    rows: list[dict[str, str]], first: int, source: str
) -> tuple[list[dict[str, Any]], list[tuple[int, Referral]]]:
    """Each row's outcome so far (a malformed row is refused here), and the referrals of
    the well-formed rows by their index."""
    outcomes: list[dict[str, Any]] = []
    requests: list[tuple[int, Referral]] = []
    for offset, row in enumerate(rows):
        number = first + offset
        outcomes.append({"row": number, "case": "", "status": "", "problems": []})
        missing = [c for c in INTAKE_COLUMNS if not (row.get(c) or "").strip()]
        if missing:
            outcomes[offset].update(
                status="refused", problems=[_problem(c, "required") for c in missing]
            )
            continue
        try:
            born = date.fromisoformat(row["birth_date"].strip())
        except ValueError:
            outcomes[offset].update(status="refused", problems=[_problem("birth_date", "not_date")])
            continue
        caseworker = (row.get("caseworker") or "").strip() or None
        inputs = {"source": (row.get("source") or "").strip() or "caseworker"}
        if caseworker:
            inputs["caseworker"] = caseworker
        person = YoungPersonDetails(row["name"].strip(), row["cpr"].strip(), born)
        key = f"intake:{(row.get('key') or '').strip() or f'{source}:{number}'}"
        referral = Referral(
            row["definition"].strip(),
            person,
            Actor("caseworker", caseworker),
            inputs,
            idempotency_key=key,
            purpose="bulk intake",
        )
        requests.append((offset, referral))
    return outcomes, requests


def _problem(field: str, code: str, **params: Any) -> dict[str, Any]:
    return {"field": field, "code": code, "params": params}


def _words(message: Mapping[str, str] | None) -> dict[str, Any]:
    """The definition's own words for a refusal (a guard's message: "outside the target
    group..."), by language, to be shown instead of the code's; none: nothing."""
    return {"words": dict(message)} if message else {}


def _refusal(error: WorkflowError, row: dict[str, str]) -> list[dict[str, Any]]:
    """A refused row's problems as codes (the CLI words them; no personal data in them)."""
    if isinstance(error, RejectedError):
        rejection = error.rejection
        found = [
            _problem(_COLUMNS.get(e.name, e.name), e.code, **dict(e.params))
            | _words(e.custom_message)
            for e in rejection.field_errors
        ]
        reason = rejection.reason.value
        whole = _problem("", reason, **dict(rejection.params)) | _words(rejection.custom_message)
        return found or [whole]
    if isinstance(error, UnknownDefinitionError):
        return [_problem("definition", "intake_unknown_definition", value=row["definition"][:40])]
    if isinstance(error, IdempotencyKeyReusedError):
        return [_problem("key", "intake_key_reused")]
    return [_problem("", "intake_not_opened", error=type(error).__name__)]


def check_rows(rows: list[dict[str, str]], first: int, source: str = "csv") -> list[dict[str, Any]]:
    """The refused rows of a chunk, with why (nothing is written): within
    :func:`checking` the file's, as of when its check began."""
    outcomes, requests = _referrals(rows, first, source)
    checks = _CHECKS.get(source)
    checked = get_runtime().service.check_many([request for _, request in requests], checks)
    for (offset, _), error in zip(requests, checked, strict=True):
        if error is not None:
            outcomes[offset].update(status="refused", problems=_refusal(error, rows[offset]))
    return [o for o in outcomes if o["status"] == "refused"]


def refer_rows(rows: list[dict[str, str]], first: int, source: str = "csv") -> list[dict[str, Any]]:
    """Refer CSV rows in one transaction; per-row outcomes carry row numbers, not people.

    A row's idempotency key is its `key` column, else the file name and row number, so
    running the same file again opens no case twice.
    """
    outcomes, requests = _referrals(rows, first, source)
    checks = _CHECKS.get(source)  # within checking(): opened as of the file's check
    results = get_runtime().service.refer_many([request for _, request in requests], checks)
    for (offset, _), result in zip(requests, results, strict=True):
        if isinstance(result, WorkflowError):
            outcomes[offset].update(status="refused", problems=_refusal(result, rows[offset]))
        else:
            status = "already opened" if result.repeated else "opened"
            outcomes[offset].update(case=result.reference, status=status)
    for report in PROGRESS:
        report(len(rows))
    return outcomes


#: The check of each intake being checked, by batch (see :func:`checking`).
_CHECKS: dict[str, ReferralChecks] = {}


@contextmanager
def checking(batch: str) -> Iterator[None]:
    """The rows of ``batch`` checked and opened within are checked and opened as of one
    moment, its start, and referrals alike in all the engine is given are decided once
    (a file of many young people has far fewer birth dates: cases.referral_checks.ReferralChecks);
    the cases' audit entries say when each was written."""
    _CHECKS[batch] = get_runtime().service.referral_checks()
    try:
        yield
    finally:
        _CHECKS.pop(batch, None)


def _refused_file(rows: list[dict[str, str]], refused: list[dict[str, Any]]) -> dict[str, int]:
    """The summary of a file some of whose rows are refused: no case is opened of it."""
    for report in REFUSED:
        report(refused)
    return {"refused": len(refused), "not opened": len(rows) - len(refused)}


def intake_rows(source: Path) -> dict[str, int]:
    """Intake without Prefect (no server configured): the same work, chunk by chunk.

    Every row is checked first; if any is refused, no case is opened (the refused rows go
    to :data:`REFUSED`). Rows are keyed by the file's content, like the flow's: the same
    file twice opens nothing twice, and another file with the same name is another file.
    """
    batch = stage_intake_file(source)
    rows = _read_csv(str(get_runtime().settings.home / "intake" / f"{batch}.csv"))
    refused: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    with checking(batch):
        for start in range(0, len(rows), INTAKE_CHUNK):
            refused += check_rows(rows[start : start + INTAKE_CHUNK], start + 2, batch)
        if refused:
            _forget(batch)
            return _refused_file(rows, refused)
        for start in range(0, len(rows), INTAKE_CHUNK):
            outcomes += refer_rows(rows[start : start + INTAKE_CHUNK], start + 2, batch)
    _forget(batch)
    return dict(Counter(o["status"] for o in outcomes))


def _read_csv(csv_path: str) -> list[dict[str, str]]:
    return read_rows(Path(csv_path))


def stage_intake_file(source: Path) -> str:
    """Copy a referral file into the store's intake folder; returns its batch id.

    Prefect gets only the batch id: a file's name or path could say anything (even
    whom it is about), and flow parameters carry codes only.
    """
    content = source.read_bytes()
    batch = hashlib.sha256(content).hexdigest()[:16]
    folder = get_runtime().settings.home / "intake"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The file holds names and CPR numbers: readable by this user only, and removed when
    # the intake is done (see _forget); a copy left by an intake that failed midway is
    # read again by its retry.
    handle = os.open(folder / f"{batch}.csv", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "wb") as staged:
        staged.write(content)
    return batch


def _forget(batch: str) -> None:
    """Remove a staged file once its intake is done (opened, or refused whole)."""
    (get_runtime().settings.home / "intake" / f"{batch}.csv").unlink(missing_ok=True)


@flow(name="intake", flow_run_name="intake-{batch}")
async def intake(batch: str) -> dict[str, int]:
    """Open cases from a staged CSV of referrals, in chunks (never one flow run per case).

    Every row is checked first (a task per chunk); if any is refused, no case of the file
    is opened, and the artifact lists the refused rows by number and code.
    """
    if not re.fullmatch(r"[0-9a-f]{16}", batch):
        raise ValueError("batch must be the id stage_intake_file() returned")
    rows = _read_csv(str(get_runtime().settings.home / "intake" / f"{batch}.csv"))
    refused: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    with checking(batch):
        for start in range(0, len(rows), INTAKE_CHUNK):
            refused += check_chunk(rows[start : start + INTAKE_CHUNK], start + 2, batch)
        if refused:
            summary = Counter(_refused_file(rows, refused))
            problems = refused[:200]
        else:
            for start in range(0, len(rows), INTAKE_CHUNK):
                chunk = rows[start : start + INTAKE_CHUNK]
                outcomes += intake_chunk(chunk, start + 2, batch)  # +2: the header line
            summary = Counter(o["status"] for o in outcomes)
            problems = [o for o in outcomes if o["status"] != "opened"][:200]
    _forget(batch)
    codes = (
        ", ".join(f"{p['field']}: {p['code']}" for p in o.get("problems", [])) for o in problems
    )
    await acreate_table_artifact(
        key="intake",
        table=[{"status": s, "rows": n} for s, n in sorted(summary.items())]
        + [
            {"status": f"row {p['row']}: {p['status']} ({why})", "rows": 1}
            for p, why in zip(problems, codes, strict=True)
        ],
        description=f"Intake of batch {batch}: outcome per status",
    )
    return dict(summary)
